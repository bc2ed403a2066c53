import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, realpath, unlink } from 'node:fs/promises';
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
 * link(2) fails with EEXIST while any lock file is there, so of two starting agents one wins. Only
 * replacing a stale lock needs more: probing it and removing it are two steps, and an agent must
 * not remove a lock another one placed in between. Replacements are serialised by a second lock,
 * an abstract-namespace socket named from the data directory's real path (atomic to bind, gone
 * with its process, leaves no file). Abstract names are per network namespace, so agents in
 * different namespaces replacing one stale lock at the same instant are not serialised; any other
 * start, in any namespace, still finds the lock file and its owner's answer.
 *
 * The pid-holding `lock` file of earlier versions is removed once the new lock is held: it no
 * longer means anything.
 */

const LOCK_SOCKET = 'agent.lock';
const LEGACY_LOCK_FILE = 'lock';
/** Replacing a stale lock takes milliseconds; waiting this long for another agent doing it is plenty. */
const TAKEOVER_WAIT_MS = 2_000;
const TAKEOVER_POLL_MS = 10;
/** Rounds of link, probe, remove; only agents starting at that very moment make it take more than two. */
const TAKE_ATTEMPTS = 8;

/** sun_path holds 108 bytes including the terminating NUL. */
const SOCKET_PATH_BYTES_MAX = 107;

export class DataDirLocked extends Error {
  override readonly name = 'DataDirLocked';
}

export class DataDirLock {
  private constructor(private readonly server: Server, private readonly path: string, private readonly ino: number) {}

  static async take(dir: string, log: Logger): Promise<DataDirLock> {
    const path = join(dir, LOCK_SOCKET);
    const privatePath = join(dir, `.agent.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
    if (Buffer.byteLength(privatePath) > SOCKET_PATH_BYTES_MAX) {
      throw new Error(`data directory path ${dir} is too long: its lock socket needs a path of at most ${SOCKET_PATH_BYTES_MAX} bytes`);
    }
    const server = await listen(privatePath);
    let ino = 0;
    try {
      ino = (await lstat(privatePath)).ino;
      await placeLock(dir, privatePath, path, log);
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
    return new DataDirLock(server, path, ino);
  }

  /**
   * Removes the lock file if it is still ours (someone may have deleted it by hand and another agent
   * placed its own), then stops listening. A crash skips this; the next start replaces the file.
   */
  async release(): Promise<void> {
    const st = await lstat(this.path).catch(() => null);
    if (st !== null && st.ino === this.ino) await unlink(this.path).catch(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function placeLock(dir: string, privatePath: string, path: string, log: Logger): Promise<void> {
  if (await linked(privatePath, path)) return;
  const mutex = await takeoverMutex(dir);
  try {
    // Inside the mutex nobody else removes the lock file, so the file probed is the file removed.
    for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
      if (await linked(privatePath, path)) return;
      const found = await lstat(path).catch(() => null);
      if (found === null) continue;
      if (found.isSocket() && (await isLive(path))) {
        throw new DataDirLocked(`data directory ${dir} is in use by another running agent (its lock ${path} answers)`);
      }
      try {
        await unlink(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot remove the stale lock ${path}: ${(e as Error).message}`);
      }
      log.warn('removed a stale lock left by an agent that is no longer running', { path });
    }
    throw new DataDirLocked(`cannot take the lock ${path}: other agents keep starting on the same data directory`);
  } finally {
    mutex.close();
  }
}

async function linked(privatePath: string, path: string): Promise<boolean> {
  try {
    await link(privatePath, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

async function takeoverMutex(dir: string): Promise<Server> {
  const digest = createHash('sha256').update(await realpath(dir)).digest('hex').slice(0, 40);
  const name = `\0swimd-data-dir-${digest}`;
  const deadline = Date.now() + TAKEOVER_WAIT_MS;
  for (;;) {
    try {
      return await listen(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
    if (Date.now() > deadline) {
      throw new DataDirLocked(`cannot take the lock in ${dir}: another agent has been replacing its stale lock for ${TAKEOVER_WAIT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, TAKEOVER_POLL_MS));
  }
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
