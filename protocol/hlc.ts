/**
 * A hybrid logical clock (Kulkarni et al., 2014), for last-writer-wins registers that no node owns
 * (traffic splits). A stamp is (wall ms, counter): it follows the physical clock where the nodes'
 * clocks agree, and where they do not (a writer behind another's clock, or two writes in one ms)
 * the counter keeps every stamp above everything its writer has seen. Two writers can still mint
 * the same (ms, counter): the writer's name breaks that tie, so every node orders any two writes
 * the same way.
 *
 * Pure: the wall-clock time comes from the driver with each write (the core's own `now` is
 * monotonic, from an arbitrary epoch, and cannot serve here).
 */
import { LIMITS } from './limits.js';

export interface HlcStamp {
  /** Wall-clock ms since the Unix epoch (or the largest seen, when a writer's clock was behind). */
  readonly wallMs: number;
  /** Orders stamps within one wallMs. */
  readonly counter: number;
}

/** A stamp with the writer that made it: the total order of writes. */
export interface WriteStamp extends HlcStamp {
  readonly writer: string;
}

export const ZERO_STAMP: HlcStamp = { wallMs: 0, counter: 0 };

export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return 0;
}

/** The order of writes: stamp, then the writer's name (byte order of its UTF-16 units). */
export function compareWrites(a: WriteStamp, b: WriteStamp): number {
  const c = compareHlc(a, b);
  if (c !== 0) return c;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
}

export class HybridClock {
  private last: HlcStamp;

  constructor(start: HlcStamp = ZERO_STAMP) {
    this.last = start;
  }

  /** The largest stamp made or seen (persisted, so that a restart never goes back). */
  get latest(): HlcStamp {
    return this.last;
  }

  /** A stamp for a write at physical time `wallMs`: above every stamp made or seen. */
  next(wallMs: number): HlcStamp {
    const physical = Math.max(0, Math.min(LIMITS.hlcWallMsMax, Math.floor(wallMs)));
    if (physical > this.last.wallMs) this.last = { wallMs: physical, counter: 0 };
    else if (this.last.counter < LIMITS.hlcCounterMax) this.last = { wallMs: this.last.wallMs, counter: this.last.counter + 1 };
    // The counter is spent within one ms: move to the next ms rather than wrap.
    else this.last = { wallMs: Math.min(LIMITS.hlcWallMsMax, this.last.wallMs + 1), counter: 0 };
    return this.last;
  }

  /** A stamp from elsewhere: the next write goes above it. */
  observe(s: HlcStamp): void {
    if (compareHlc(s, this.last) > 0) this.last = { wallMs: s.wallMs, counter: s.counter };
  }
}
