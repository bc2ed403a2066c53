/** `swimd deregister|drain|undrain ID`: change a service instance of the local agent. */
import type { Command } from 'commander';
import type { Client, MutationResult, WaitOption } from '../../client/index.js';
import type { Ctx } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { reportMutation, WAIT_HELP, waitOf, waitOption } from '../wait.js';

interface OpFlags extends ClientFlags {
  readonly wait?: string | true;
}

interface Op {
  readonly name: 'deregister' | 'drain' | 'undrain';
  readonly done: string;
  readonly description: string;
  readonly about: string;
  readonly run: (client: Client, id: string, opts: WaitOption) => Promise<MutationResult>;
}

const OPS: readonly Op[] = [
  {
    name: 'deregister', done: 'deregistered',
    description: 'remove a service instance registered on the local agent',
    about: 'The instance disappears from every agent\'s catalog; its health check stops.',
    run: (c, id, o) => c.deregister(id, o),
  },
  {
    name: 'drain', done: 'drained',
    description: 'mark a service instance as draining: still listed, but proxies send it no new traffic',
    about: 'Drain before stopping an instance, so that in-flight requests finish and no new ones arrive.',
    run: (c, id, o) => c.drain(id, o),
  },
  {
    name: 'undrain', done: 'undrained',
    description: 'take a service instance out of draining, so that it gets traffic again',
    about: 'The reverse of `swimd drain`.',
    run: (c, id, o) => c.undrain(id, o),
  },
];

export function registerServiceOps(program: Command, ctx: Ctx): void {
  for (const op of OPS) {
    const cmd = program
      .command(op.name)
      .description(op.description)
      .argument('<ID>', 'instance id (as shown by `swimd services`; by default the service name)')
      .addOption(waitOption());
    addClientOptions(cmd)
      .addHelpText('after', `
${op.about}
${WAIT_HELP}

Examples:
  $ swimd ${op.name} web
  $ swimd ${op.name} web-2 --wait
  $ swimd ${op.name} web-2 --wait 5s --json`)
      .action(async (id: string, flags: OpFlags) => {
        await reportMutation(ctx, flags, `${op.done} ${id}`,
          () => op.run(ctx.client(flags.socket), id, waitOf(flags)));
      });
  }
}
