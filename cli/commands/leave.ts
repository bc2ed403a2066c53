/** `swimd leave`: graceful departure of the local agent. */
import type { Command } from 'commander';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';

export function registerLeave(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('leave')
    .description('make the local agent announce that it is leaving the cluster, then stop');
  addClientOptions(cmd)
    .addHelpText('after', `
The other members then list this agent as "left" rather than "dead": no
failure is reported.

Example:
  $ swimd leave`)
    .action(async (flags: ClientFlags) => {
      await ctx.client(flags.socket).leave();
      if (flags.json === true) printJson(ctx.io, { left: true });
      else ctx.io.out('left the cluster\n');
    });
}
