/** `swimd check pass|warn|fail ID`: a service reports its own health (TTL checks). */
import { Argument, type Command } from 'commander';
import { CHECK_STATUSES, type CheckStatus } from '../../client/index.js';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { mutationJson } from '../wait.js';
import { addClientOptions, type ClientFlags } from '../options.js';

interface CheckFlags extends ClientFlags {
  readonly note?: string;
}

export function registerCheck(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('check')
    .description('report the health of an instance registered with --check-ttl (pass, warn or fail)')
    .addArgument(new Argument('<status>', 'pass (passing), warn (warning) or fail (critical)').choices(CHECK_STATUSES))
    .argument('<ID>', 'id of the service instance the check belongs to')
    .option('--note <text>', 'a short explanation, logged by the agent when the health changes');
  addClientOptions(cmd)
    .addHelpText('after', `
Every report restarts the TTL; an instance that does not report again within
its TTL turns critical. A fail report also restarts it: the service is alive
and says it is unhealthy.

Examples:
  $ swimd check pass worker
  $ swimd check warn worker --note "queue backlog 10k"
  $ while sleep 10; do swimd check pass worker; done`)
    .action(async (status: CheckStatus, id: string, flags: CheckFlags) => {
      const result = await ctx.client(flags.socket).check(id, status, flags.note);
      // The same shape as every other mutation's --json; the status reported shows in service.health.
      if (flags.json === true) printJson(ctx.io, mutationJson(result.id, result.service, result.wait));
      else ctx.io.out(`${id}: reported ${status}; health ${result.service?.health ?? 'unknown'}\n`);
    });
}
