/**
 * Options and argument parsers shared by several commands. Parsers throw commander's
 * InvalidArgumentError so that a bad value is a usage error (exit 2) reported before anything runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_PORT, Invalid, parseSeed } from '../client/contract/address.js';
import { currentPlatform, defaultSocketPath, SOCKET_ENV } from '../client/contract/paths.js';
import { parseAdvertise, parseBind, parseHttpAddr } from '../daemon/index.js';

export { DEFAULT_PORT, SOCKET_ENV };

export interface ClientFlags {
  readonly socket: string;
  readonly json?: boolean;
}

export function socketOption(): Option {
  return new Option('--socket <path>', "the agent's local socket")
    .env(SOCKET_ENV)
    .default(defaultSocketPath(process.env, currentPlatform()));
}

/** --socket and --json, which every client command takes. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(socketOption())
    .option('--json', 'machine-readable JSON output instead of a table');
}

/**
 * Wraps one of the daemon's own field validators, so the CLI accepts exactly what the agent accepts
 * and a bad value is a usage error before anything starts.
 */
function viaDaemon<T>(parse: (v: unknown) => T, example: string): (value: string) => string {
  return (value) => {
    try {
      parse(value);
    } catch (e) {
      if (e instanceof Invalid) throw new InvalidArgumentError(`${e.message} (e.g. ${example})`);
      throw e;
    }
    return value;
  };
}

/** A member to contact: HOST:PORT, [IPv6]:PORT, or HOST alone for port ${DEFAULT_PORT}. */
export const seedArg = viaDaemon(parseSeed, `10.0.0.5:${DEFAULT_PORT}`);
export const bindArg = viaDaemon(parseBind, `0.0.0.0:${DEFAULT_PORT}`);
export const advertiseArg = viaDaemon(parseAdvertise, `10.0.0.5:${DEFAULT_PORT}`);

/** For repeatable options and variadic arguments: validates one more seed and appends it. */
export function collectSeeds(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), seedArg(value)];
}

export const httpAddrArg = viaDaemon(parseHttpAddr, '127.0.0.1:8500');
