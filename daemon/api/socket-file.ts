import { connect } from 'node:net';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Server } from 'node:net';

/**
 * The Unix socket file's life cycle. A crashed agent leaves its socket file behind; binding then
 * fails with EADDRINUSE. We probe it: nobody answering means stale, so it is removed; an answer
 * means another agent owns it and we refuse to start rather than steal its clients.
 */

/** Owner and group may connect; everyone else may not. */
export const SOCKET_MODE = 0o660;

export class SocketInUseError extends Error {
  override readonly name = 'SocketInUseError';
}

/** Identity of the socket file we created, so shutdown never removes a successor's socket. */
export interface SocketIdentity {
  readonly dev: number;
  readonly ino: number;
}

const PROBE_TIMEOUT_MS = 1_000;

/**
 * Makes `path` available for listen(): creates the directory, removes a stale socket. Returns
 * 'stale-removed' when it removed one, so the caller can log it.
 */
export async function claimSocketPath(path: string): Promise<'free' | 'stale-removed'> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const probe = await probeSocket(path);
  if (probe === 'alive') throw new SocketInUseError(`another agent is listening on ${path}`);
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  return 'stale-removed';
}

function probeSocket(path: string): Promise<'alive' | 'stale'> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    // A listener too busy to accept within the timeout is still a listener.
    const timer = setTimeout(() => {
      s.destroy();
      resolve('alive');
    }, PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('alive');
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve('stale');
      else reject(new Error(`cannot probe existing socket ${path}: ${e.code ?? e.message}`));
    });
  });
}

/**
 * listen() with the umask narrowed so the socket is never, even briefly, wider than SOCKET_MODE;
 * the chmod afterwards makes the mode exact whatever the umask allowed.
 */
export async function listenOnSocket(server: Server, path: string): Promise<SocketIdentity> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    let previous: number | null = null;
    try {
      previous = process.umask(0o777 & ~SOCKET_MODE);
    } catch {
      // Not allowed in worker threads; the chmod below still applies.
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
  await chmod(path, SOCKET_MODE);
  const st = await stat(path);
  return { dev: st.dev, ino: st.ino };
}

/** Removes the socket file if it is still the one we created. */
export async function removeSocketFile(path: string, identity: SocketIdentity): Promise<void> {
  try {
    const st = await lstat(path);
    if (st.dev === identity.dev && st.ino === identity.ino) await unlink(path);
  } catch {
    // Already gone.
  }
}
