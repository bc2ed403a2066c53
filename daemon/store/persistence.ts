import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isNewer, serialNext } from '../../protocol/serial.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';

/**
 * The agent's memory across restarts: its name and the highest incarnation it ever used, in
 * <data_dir>/state.json. A restarted agent starts above that incarnation, so an "X is dead" still
 * circulating from before the restart is refuted by the first alive message, not after a round
 * trip. Incarnations are counters, not timestamps, so clock jumps cannot lower them; they are
 * 32-bit serial numbers (protocol/serial.ts), so the successor of 0xffffffff is 0, and newer.
 * A stored incarnation that is no such number (hand-edited, or written by an older version that
 * let it pass 2^32) is replaced by 0 with a warning: the agent starts anyway and refutes whatever
 * the cluster still holds about it.
 *
 * A lock file in data_dir keeps two agents from sharing (and racing on) one state file.
 */

const STATE_FILE = 'state.json';
const LOCK_FILE = 'lock';
const FORMAT = 1;

export interface PersistedState {
  readonly name: string;
  readonly incarnation: number;
}

export class StateStore {
  /** Highest incarnation written or queued for writing. */
  private queued: number;
  private writing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly log: Logger,
    /** The state found at start-up (null: first start, or the file was unusable). */
    readonly previous: PersistedState | null,
    /** Incarnation this run starts at; already on disk when open() returns. */
    readonly startIncarnation: number,
  ) {
    this.queued = startIncarnation;
  }

  /** Creates data_dir, takes the lock, loads the previous state and persists previous + 1. */
  static async open(dir: string, name: string, log: Logger): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await acquireLock(join(dir, LOCK_FILE), log);
    try {
      const previous = await load(join(dir, STATE_FILE), log);
      if (previous !== null && previous.name !== name) {
        log.warn('node name changed since the last run; keeping the incarnation counter', { previous: previous.name, name });
      }
      const start = serialNext(previous?.incarnation ?? 0);
      const store = new StateStore(dir, name, log, previous, start);
      await store.write(start);
      return store;
    } catch (e) {
      await unlink(join(dir, LOCK_FILE)).catch(() => undefined);
      throw e;
    }
  }

  /** Called after every input with the core's own incarnation; writes only when it rose. */
  noteIncarnation(incarnation: number): void {
    if (!isNewer(incarnation, this.queued) || this.closed) return;
    this.queued = incarnation;
    if (this.writing === null) this.writing = this.drain();
  }

  /** Waits for pending writes and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing !== null) await this.writing;
    await unlink(join(this.dir, LOCK_FILE)).catch(() => undefined);
  }

  /** One write at a time; bursts of rises collapse into a write of the latest value. */
  private async drain(): Promise<void> {
    let written: number | null = null;
    try {
      while (written !== this.queued) {
        const target: number = this.queued;
        try {
          await this.write(target);
        } catch (e) {
          this.log.error('cannot persist incarnation', { incarnation: target, err: e });
        }
        written = target;
      }
    } finally {
      this.writing = null;
    }
  }

  private async write(incarnation: number): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, name: this.name, incarnation }) + '\n';
    await writeAtomic(this.dir, STATE_FILE, body);
  }
}

/** temp file + fsync + rename + fsync(dir): after a crash the file is the old or the new version. */
export async function writeAtomic(dir: string, file: string, body: string): Promise<void> {
  const tmp = join(dir, `.${file}.tmp-${process.pid}`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, file));
  const dh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** An unreadable state only costs a refutation round, so it is moved aside rather than fatal. */
async function load(path: string, log: Logger): Promise<PersistedState | null> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.size > DAEMON_LIMITS.stateFileBytesMax) throw new Error(`state file is ${st.size} bytes`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return setAside(path, log, (e as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return setAside(path, log, 'invalid JSON');
  }
  const state = decodeState(parsed);
  if (state === null) return setAside(path, log, 'unexpected content');
  const { name, incarnation } = state;
  if (typeof incarnation === 'number' && Number.isInteger(incarnation) && incarnation >= 0 && incarnation <= INCARNATION_MAX) {
    return { name, incarnation };
  }
  log.warn('stored incarnation is not a 32-bit counter; starting from incarnation 1 and refuting any stale state', {
    path, incarnation: typeof incarnation === 'number' || typeof incarnation === 'string' ? incarnation : typeof incarnation,
  });
  return { name, incarnation: 0 };
}

const INCARNATION_MAX = 0xffff_ffff;

function decodeState(v: unknown): { name: string; incarnation: unknown } | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const { name, incarnation } = o;
  if (o['format'] !== FORMAT || typeof name !== 'string') return null;
  return { name, incarnation };
}

async function setAside(path: string, log: Logger, reason: string): Promise<null> {
  const aside = `${path}.bad-${Date.now()}`;
  await rename(path, aside).catch(() => undefined);
  log.error('state file unusable; starting from incarnation 1 and refuting any stale state', { path, aside, reason });
  return null;
}

/**
 * The lock holds the owner's pid. A lock left by a crashed agent is taken over; a lock held by a
 * live process other than us is an error.
 */
async function acquireLock(path: string, log: Logger): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && processExists(owner)) {
      throw new Error(`data directory ${path.slice(0, -LOCK_FILE.length - 1)} is in use by another agent (pid ${owner})`);
    }
    log.warn('removing stale lock left by a previous agent', { path, pid: Number.isNaN(owner) ? null : owner });
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`cannot take the lock ${path}`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
