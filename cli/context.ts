/**
 * What every command needs from its surroundings, passed in rather than taken from `process`, so that
 * the whole CLI can run in-process in tests with captured output.
 */
import { Client } from '../client/index.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Ctx {
  readonly io: Io;
  /** Set by a command whose outcome is not simply success (e.g. the agent's own exit status). */
  exitCode: number;
  /**
   * Set by `swimd agent`: end the process outright once the command returns, because a daemon that
   * has stopped is done even if some stray handle lingers. Client commands let output drain instead.
   */
  exitProcess: boolean;
  /** Where a client command connects; overridable so tests need not touch the real default path. */
  client(socketPath: string): Client;
}

/** A failed operation: exit status 1 and a one-line reason on stderr. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

export function processIo(): Io {
  // A reader that went away (`swimd watch --json | head -1`) ends the command, quietly, as for any
  // Unix filter; other write errors are not expected on stdout and stay loud.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  return {
    out: (t) => { process.stdout.write(t); },
    err: (t) => { process.stderr.write(t); },
  };
}

export function makeCtx(io: Io): Ctx {
  return { io, exitCode: 0, exitProcess: false, client: (socketPath) => new Client({ socketPath }) };
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}
