/** `swimd keyring list|install|use|remove`: the local agent's gossip encryption keys. */
import { InvalidArgumentError, type Command } from 'commander';
import type { KeyringKey } from '../../client/index.js';
import { keyFingerprint, KeyringError, parseKey } from '../../client/contract/key.js';
import type { Ctx } from '../context.js';
import { printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatTable } from '../table.js';

/** A malformed key is a usage error, caught before the agent is asked. */
function keyArg(value: string): string {
  try {
    parseKey(value);
  } catch (e) {
    if (e instanceof KeyringError) throw new InvalidArgumentError(e.message);
    throw e;
  }
  return value.trim();
}

export function formatKeyring(keys: readonly KeyringKey[]): string {
  return formatTable(['FINGERPRINT', 'PRIMARY'], keys.map((k) => [k.fingerprint, k.primary ? 'yes' : 'no']));
}

const CHANGES = [
  { op: 'install', done: 'installed', what: 'add a key that decrypts gossip (not yet used to encrypt)' },
  { op: 'use', done: 'now using', what: 'make an installed key the primary key, which encrypts all gossip sent' },
  { op: 'remove', done: 'removed', what: 'remove a key that is not the primary' },
] as const;

export function registerKeyring(program: Command, ctx: Ctx): void {
  const keyring = program
    .command('keyring')
    .description("manage the local agent's gossip encryption keys (list, install, use, remove)")
    .addHelpText('after', `
Each command acts on the local agent only. To rotate the key of a running
cluster without downtime, run each step on every agent before the next step:
  1. swimd keyring install NEW    (every agent can now decrypt NEW)
  2. swimd keyring use NEW        (agents encrypt with NEW; OLD still decrypts)
  3. swimd keyring remove OLD
Changes are kept in the agent's data directory and survive restarts. Keys are
shown by fingerprint only (the first 8 bytes of the SHA-256 of the key, hex);
the fingerprint of a key: echo KEY | base64 -d | sha256sum | cut -c1-16`);

  addClientOptions(keyring.command('list').description('list the installed keys, primary first'))
    .action(async (flags: ClientFlags) => {
      const keys = await ctx.client(flags.socket).keyring();
      if (flags.json === true) printJson(ctx.io, keys);
      else ctx.io.out(formatKeyring(keys));
    });

  for (const c of CHANGES) {
    addClientOptions(keyring.command(c.op).description(c.what).argument('<KEY>', 'base64 key, as printed by `swimd keygen`', keyArg))
      .action(async (key: string, flags: ClientFlags) => {
        const keys = await ctx.client(flags.socket).keyringChange(c.op, key);
        if (flags.json === true) printJson(ctx.io, keys);
        else ctx.io.out(`${c.done} key ${keyFingerprint(parseKey(key))}; the agent holds ${keys.length} key${keys.length === 1 ? '' : 's'}\n`);
      });
  }
}
