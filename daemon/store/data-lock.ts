import { randomBytes } from 'node:crypto';
import { link, lstat, rename, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';

/**
 * The data directory's lock: a Unix socket the agent listens on at <data_dir>/agent.lock. The kernel
 * closes the listener when the process dies however it dies, so a lock never outlives its owner:
 * a connect to a live lock is accepted, to a dead one refused (ECONNREFUSED), and nothing depends
 * on PIDs, which are reused after a crash or a power loss.
 *
 * A socket file bound by path rather than one in the abstract namespace: abstract names are per
 * network namespace, so two agents in different namespaces sharing one data directory would both
 * get an abstract lock, while a path socket is found through the file system from any of them.
 *
 * Taking it without a race: the socket is bound at a private name and hard-linked into place;
 * link(2) fails with EEXIST while any lock file is there, so of two starting agents one wins. A
 * stale lock (connect refused) is moved aside by rename, and put back if what was moved is not the
 * file found stale (another agent replaced it in between); then linking is tried again.
 *
 * The pid-holding `lock` file of earlier versions is removed once the new lock is held: it no
 * longer means anything.
 */

const LOCK_SOCKET = 'agent.lock';
const LEGACY_LOCK_FILE = 'lock';
const TAKE_ATTEMPTS = 4;

/** sun_path holds 108 bytes including the terminating NUL. */
const SOCKET_PATH_BYTES_MAX = 107;

export class DataDirLocked extends Error {
  override readonly name = 'DataDirLocked';
}

export class DataDirLock {
  private constructor(private readonly server: Server, private readonly path: string) {}

  static async take(dir: string, log: Logger): Promise<DataDirLock> {
    const path = join(dir, LOCK_SOCKET);
    const privatePath = join(dir, `.agent.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
    if (Buffer.byteLength(privatePath) > SOCKET_PATH_BYTES_MAX) {
      throw new Error(`data directory path ${dir} is too long: its lock socket needs a path of at most ${SOCKET_PATH_BYTES_MAX} bytes`);
    }
    const server = await listen(privatePath);
    try {
      await placeLock(privatePath, path, log);
    } catch (e) {
      server.close();
      throw e;
    } finally {
      await unlink(privatePath).catch(() => undefined);
    }
    await unlink(join(dir, LEGACY_LOCK_FILE)).then(
      () => log.info('removed the lock file of an earlier version; the lock is now the socket agent.lock', { dir }),
      () => undefined,
    );
    return new DataDirLock(server, path);
  }

  /** Removes the lock file, then stops listening (a crash skips this; the next start cleans up). */
  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function placeLock(privatePath: string, path: string, log: Logger): Promise<void> {
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    try {
      await link(privatePath, path);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const found = await lstat(path).catch(() => null);
    if (found === null) continue;
    if (found.isSocket() && (await isLive(path))) {
      throw new DataDirLocked(`data directory ${join(path, '..')} is in use by another running agent (its lock ${path} answers)`);
    }
    // Stale (or not a socket at all): move it aside, and only discard it if it is what we probed.
    const aside = `${privatePath}.stale`;
    try {
      await rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = await lstat(aside).catch(() => null);
    if (moved !== null && (moved.ino !== found.ino || moved.dev !== found.dev)) {
      await link(aside, path).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      continue;
    }
    await unlink(aside).catch(() => undefined);
    log.warn('removed a stale lock left by an agent that is no longer running', { path });
  }
  throw new DataDirLocked(`cannot take the lock ${path}: other agents are starting on the same data directory`);
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Connections are only probes: close them at once.
    const server = createServer((c) => c.destroy());
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      server.unref();
      resolve(server);
    });
  });
}

/** A listening owner accepts; a dead one's socket refuses. Any other answer counts as live. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      c.destroy();
      resolve(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT');
    });
  });
}
