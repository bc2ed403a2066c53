/** `swimd services`: the service catalog as the local agent sees it. */
import type { Command } from 'commander';
import type { ServiceEntry } from '../../client/index.js';
import { addressKey } from '../../protocol/address.js';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatTable, renderValue } from '../table.js';

interface ServicesFlags extends ClientFlags {
  readonly passing?: boolean;
  readonly tag?: string;
}

export function formatServices(services: readonly ServiceEntry[]): string {
  return formatTable(
    ['NAME', 'ID', 'NODE', 'ADDRESS', 'HEALTH', 'DRAINING', 'VERSION', { header: 'WEIGHT', align: 'right' }, 'TAGS'],
    services.map((s) => [
      s.name, s.id, s.node, addressKey({ host: s.address, port: s.port }), s.health, s.draining ? 'yes' : 'no',
      s.version === '' ? '-' : s.version, String(s.weight), renderValue(s.tags),
    ]),
  );
}

export function registerServices(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('services')
    .description('list the service instances of the cluster as the local agent sees them')
    .argument('[NAME]', 'only instances of this service')
    .option('--passing', 'only instances whose health is passing')
    .option('--tag <tag>', 'only instances carrying this tag');
  addClientOptions(cmd)
    .addHelpText('after', `
Health is passing, warning or critical (an instance whose node is gone shows as
critical). A draining instance is still listed but should get no new traffic.

Examples:
  $ swimd services
  $ swimd services web --passing
  $ swimd services web --tag canary --json`)
    .action(async (name: string | undefined, flags: ServicesFlags) => {
      const services = await ctx.client(flags.socket).services({
        ...(name === undefined ? {} : { name }),
        ...(flags.passing === true ? { passing: true } : {}),
        ...(flags.tag === undefined ? {} : { tag: flags.tag }),
      });
      if (flags.json === true) printJson(ctx.io, services);
      else ctx.io.out(formatServices(services));
    });
}
