import { constants } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isNewer, serialNext } from '../../protocol/serial.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { DataDirLock } from './data-lock.js';

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
 * A lock in data_dir (data-lock.ts) keeps two agents from sharing (and racing on) one state file.
 */

const STATE_FILE = 'state.json';
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
    private readonly lock: DataDirLock,
    /** The state found at start-up (null: first start, or the file was unusable). */
    readonly previous: PersistedState | null,
    /** Incarnation this run starts at; already on disk when open() returns. */
    readonly startIncarnation: number,
  ) {
    this.queued = startIncarnation;
  }

  /** Creates data_dir, takes the lock, loads the previous state and persists previous + 1. */
  static async open(dir: string, name: string, log: Logger): Promise<StateStore> {
    await makeDataDir(dir);
    const lock = await DataDirLock.take(dir, log);
    try {
      const previous = await load(join(dir, STATE_FILE), log);
      if (previous !== null && previous.name !== name) {
        log.warn('node name changed since the last run; keeping the incarnation counter', { previous: previous.name, name });
      }
      const start = serialNext(previous?.incarnation ?? 0);
      const store = new StateStore(dir, name, log, lock, previous, start);
      await store.write(start);
      return store;
    } catch (e) {
      await lock.release();
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
    await this.lock.release();
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
 * mkdir -p, one level at a time: Node 20's recursive mkdir spins forever on file systems that refuse
 * a directory with something other than EEXIST or ENOENT (/proc), and a parent that is a file
 * deserves a message naming it rather than a raw EEXIST.
 */
export async function makeDataDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const st = await stat(at).catch((e: NodeJS.ErrnoException) => e);
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) throw new Error(`data directory ${dir}: ${at} exists and is not a directory`);
      break;
    }
    if (st.code === 'ENOTDIR') throw new Error(`data directory ${dir}: a part of the path is a file, not a directory`);
    if (st.code !== 'ENOENT' || dirname(at) === at) throw new Error(`data directory ${dir}: cannot use ${at} (${st.code ?? st.message})`);
    missing.push(at);
    at = dirname(at);
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(path).then((s) => s.isDirectory(), () => false))) continue;
      // ENOENT for a directory whose parent exists: a file system that holds no new directories (/proc).
      const why = code === 'ENOENT' ? 'the file system there does not allow new directories' : code ?? (e as Error).message;
      throw new Error(`data directory ${dir}: cannot create ${path} (${why})`);
    }
  }
}
