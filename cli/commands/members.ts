/** `swimd members`: the cluster as the local agent sees it. */
import { Option, type Command } from 'commander';
import { MEMBER_STATUSES, type Member, type MemberStatus } from '../../client/index.js';
import { addressKey } from '../../protocol/address.js';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatTable } from '../table.js';

interface MembersFlags extends ClientFlags {
  readonly status?: MemberStatus;
}

export function formatMembers(members: readonly Member[]): string {
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return formatTable(
    ['NAME', 'ADDRESS', 'STATUS', { header: 'INCARNATION', align: 'right' }],
    sorted.map((m) => [m.name, addressKey({ host: m.address, port: m.port }), m.status, String(m.incarnation)]),
  );
}

export function registerMembers(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('members')
    .description('list the members of the cluster as the local agent sees them, itself included')
    .addOption(new Option('--status <status>', 'only members with this status').choices(MEMBER_STATUSES));
  addClientOptions(cmd)
    .addHelpText('after', `
Statuses: alive (answers probes), suspect (missed probes; may still refute),
dead (declared failed), left (announced a graceful leave).

Examples:
  $ swimd members
  $ swimd members --status dead
  $ swimd members --json --socket /run/swimd/swimd.sock`)
    .action(async (flags: MembersFlags) => {
      const members = await ctx.client(flags.socket).members(flags.status === undefined ? {} : { status: flags.status });
      if (flags.json === true) printJson(ctx.io, members);
      else ctx.io.out(formatMembers(members));
    });
}
