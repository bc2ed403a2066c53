import { existsSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the agent puts things when the config does not say. Exported so that clients compute the
 * same default socket as the agent.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** What the defaults depend on, injectable so tests need neither root nor a real /run. */
export interface Platform {
  readonly hostname: string;
  readonly isRoot: boolean;
  readonly homedir: string;
  readonly tmpdir: string;
  readonly cwd: string;
  readonly runExists: boolean;
}

export function currentPlatform(): Platform {
  return {
    hostname: hostname(),
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    homedir: homedir(),
    tmpdir: tmpdir(),
    cwd: process.cwd(),
    runExists: existsSync('/run'),
  };
}

export const SOCKET_ENV = 'SWIMD_SOCKET';
export const SOCKET_FILE = 'swimd.sock';

/**
 * Default socket path, in order:
 *  1. root with /run present: /run/swimd/swimd.sock (the system agent);
 *  2. $RUNTIME_DIRECTORY/swimd.sock — systemd sets it from RuntimeDirectory=, so a service running
 *     as a system user lands in /run/swimd as well;
 *  3. $XDG_RUNTIME_DIR/swimd.sock (a per-user agent on a desktop);
 *  4. <os.tmpdir()>/swimd.sock.
 * SWIMD_SOCKET is consulted by the caller before this (see daemon/config/config.ts for the precedence).
 */
export function defaultSocketPath(env: Env, platform: Platform): string {
  if (platform.isRoot && platform.runExists) return '/run/swimd/' + SOCKET_FILE;
  const runtime = firstDir(env['RUNTIME_DIRECTORY']);
  if (runtime !== null) return join(runtime, SOCKET_FILE);
  const xdg = firstDir(env['XDG_RUNTIME_DIR']);
  if (xdg !== null) return join(xdg, SOCKET_FILE);
  return join(platform.tmpdir, SOCKET_FILE);
}

/**
 * Default data directory: /var/lib/swimd for root; $STATE_DIRECTORY (systemd StateDirectory=);
 * else $XDG_STATE_HOME/swimd or ~/.local/state/swimd, following the XDG base-directory spec.
 */
export function defaultDataDir(env: Env, platform: Platform): string {
  if (platform.isRoot) return '/var/lib/swimd';
  const state = firstDir(env['STATE_DIRECTORY']);
  if (state !== null) return state;
  const xdg = firstDir(env['XDG_STATE_HOME']);
  if (xdg !== null) return join(xdg, 'swimd');
  return join(platform.homedir, '.local', 'state', 'swimd');
}

/** systemd joins several directories with ':'; relative values are invalid per the XDG spec. */
function firstDir(value: string | undefined): string | null {
  if (value === undefined) return null;
  const first = value.split(':')[0] ?? '';
  return first.startsWith('/') ? first : null;
}
