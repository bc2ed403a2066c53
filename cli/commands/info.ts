/** `swimd info`: the local agent itself. */
import type { Command } from 'commander';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatRecord } from '../table.js';

export function registerInfo(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('info')
    .description("show the local agent: its name, address, and how many members it knows and sees alive");
  addClientOptions(cmd)
    .addHelpText('after', `
Examples:
  $ swimd info
  $ swimd info --json`)
    .action(async (flags: ClientFlags) => {
      const info = await ctx.client(flags.socket).info();
      if (flags.json === true) printJson(ctx.io, info);
      else ctx.io.out(formatRecord(info));
    });
}
