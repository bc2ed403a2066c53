/** `swimd join`: point a running agent at more seeds. */
import type { Command } from 'commander';
import type { JoinResult } from '../../client/index.js';
import type { Ctx } from '../context.js';
import { CliFailure, printJson } from '../context.js';
import { addClientOptions, collectSeeds, DEFAULT_PORT, type ClientFlags } from '../options.js';

function failures(r: JoinResult): string {
  return r.failed.map((f) => `${f.seed} (${f.reason})`).join('; ');
}

export function registerJoin(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('join')
    .description('ask the local agent to join the cluster through one or more existing members')
    .argument('<HOST:PORT...>', `gossip address of a member to contact (IPv6 as [addr]:port; port defaults to ${DEFAULT_PORT})`, collectSeeds);
  addClientOptions(cmd)
    .addHelpText('after', `
Succeeds when at least one of the addresses answered; the rest of the cluster
is then learned by gossip.

Examples:
  $ swimd join 10.0.0.5:7946
  $ swimd join 10.0.0.5:7946 10.0.0.6:7946 [fd00::7]:7946`)
    .action(async (addresses: string[], flags: ClientFlags) => {
      const result = await ctx.client(flags.socket).join(addresses);
      if (flags.json === true) printJson(ctx.io, result);
      if (result.joined === 0) {
        throw new CliFailure(`could not join through ${result.failed.length > 0 ? failures(result) : addresses.join(', ')}`);
      }
      if (flags.json === true) return;
      const n = addresses.length;
      ctx.io.out(`joined through ${result.joined} of ${n} address${n === 1 ? '' : 'es'}` +
        `${result.failed.length > 0 ? `; failed: ${failures(result)}` : ''}\n`);
    });
}
