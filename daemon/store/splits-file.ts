/**
 * <data_dir>/splits.json: every split this agent holds (cleared ones as tombstones) and its hybrid
 * clock, so that a restarted agent never goes back to an older split nor stamps a write below one
 * it made or saw before. A write made here is on disk before its answer is sent; splits learned
 * from others are saved as they arrive (a few a day), the latest state winning when saves overlap.
 * Records are kept in their wire form and checked by the wire decoder when read back.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CodecError } from '../../protocol/codec-scan.js';
import { decodeSplitFields, splitFields } from '../../protocol/codec-split.js';
import type { HlcStamp } from '../../protocol/hlc.js';
import { LIMITS } from '../../protocol/limits.js';
import type { SplitMsg } from '../../protocol/messages.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { writeAtomic } from './persistence.js';

const FILE = 'splits.json';
const FORMAT = 1;

export interface SavedSplits {
  readonly splits: readonly SplitMsg[];
  readonly clock: HlcStamp;
}

const EMPTY: SavedSplits = { splits: [], clock: { wallMs: 0, counter: 0 } };

export async function loadSplits(dir: string, log: Logger): Promise<SavedSplits> {
  let text: string;
  try {
    const fh = await open(join(dir, FILE), 'r');
    try {
      const st = await fh.stat();
      if (st.size > DAEMON_LIMITS.splitsFileBytesMax) throw new Error(`${st.size} bytes, more than ${DAEMON_LIMITS.splitsFileBytesMax}`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
    log.warn('cannot read the saved splits; starting without them', { file: join(dir, FILE), reason: (e as Error).message });
    return EMPTY;
  }
  return decodeSavedSplits(text, (reason) => log.warn('saved splits: part of the file ignored', { file: join(dir, FILE), reason }));
}

export function decodeSavedSplits(text: string, problem: (reason: string) => void): SavedSplits {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    problem('invalid JSON');
    return EMPTY;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || (v as Record<string, unknown>)['format'] !== FORMAT) {
    problem('not a splits file of a known format');
    return EMPTY;
  }
  const o = v as Record<string, unknown>;
  const c = o['clock'];
  let clock = EMPTY.clock;
  if (typeof c === 'object' && c !== null && !Array.isArray(c)) {
    const wall = (c as Record<string, unknown>)['wall_ms'];
    const counter = (c as Record<string, unknown>)['counter'];
    if (isIntIn(wall, LIMITS.hlcWallMsMax) && isIntIn(counter, LIMITS.hlcCounterMax)) clock = { wallMs: wall, counter };
    else problem('clock: not a valid stamp');
  } else {
    problem('clock: missing');
  }
  const raw = Array.isArray(o['splits']) ? (o['splits'] as unknown[]) : [];
  const splits: SplitMsg[] = [];
  for (const [i, r] of raw.slice(0, LIMITS.splitsMax).entries()) {
    try {
      if (!Array.isArray(r)) throw new CodecError('bad_field', 'not an array');
      splits.push(decodeSplitFields(r, `splits[${i}].`));
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      problem(`splits[${i}]: ${e.detail}`);
    }
  }
  return { splits, clock };
}

function isIntIn(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

export function savedSplitsBody(s: SavedSplits): string {
  return JSON.stringify({ format: FORMAT, clock: { wall_ms: s.clock.wallMs, counter: s.clock.counter }, splits: s.splits.map(splitFields) });
}

/** Saves in order; a save asked while one runs writes the state as it is then. */
export class SplitsFile {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, private readonly state: () => SavedSplits, private readonly log: Logger) {}

  /** Resolves once the state as of now (or later) is on disk; never rejects (a failure is logged). */
  save(): Promise<void> {
    this.chain = this.chain.then(async () => {
      try {
        await writeAtomic(this.dir, FILE, savedSplitsBody(this.state()));
      } catch (e) {
        this.log.error('cannot save the splits', { file: join(this.dir, FILE), reason: (e as Error).message });
      }
    });
    return this.chain;
  }
}
