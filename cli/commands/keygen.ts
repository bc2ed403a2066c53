/** `swimd keygen`: a new gossip encryption key. Needs no agent. */
import type { Command } from 'commander';
import { generateKey } from '../../client/contract/key.js';
import type { Ctx } from '../context.js';

export function registerKeygen(program: Command, ctx: Ctx): void {
  program
    .command('keygen')
    .description('print a new random gossip encryption key (base64 of 32 bytes)')
    .addHelpText('after', `
Put the key in a file owned by the agent's user (swimd under the systemd unit)
with mode 0600, and pass the file to every agent with --encrypt-key-file. Not
group-readable: the swimd group is for users of the local API socket. To add a
key to a running cluster, use \`swimd keyring install\` on every agent instead.

Example:
  $ (umask 077; swimd keygen > /etc/swimd/gossip.key) && chown swimd: /etc/swimd/gossip.key`)
    .action(() => {
      ctx.io.out(`${generateKey()}\n`);
    });
}
