/**
 * Queries over a timeline that fault scenarios assert on and report: false deaths, detection times,
 * suspicion counts. Kept apart from the scenarios so the benchmark can compute the same figures.
 */
import type { StatusChange, Timeline } from './timeline.js';

export interface Window {
  readonly after: number;
  readonly before?: number;
}

/**
 * Every time an observer saw one of `healthy` become dead inside the window. `observers` defaults
 * to everyone, including the healthy members themselves (a node that declares its healthy peers dead
 * is as much a failure as the reverse).
 */
export function falseDeaths(tl: Timeline, healthy: readonly string[], w: Window, observers?: readonly string[]): StatusChange[] {
  return tl.changes({
    member: healthy, to: 'dead', after: w.after,
    ...(w.before === undefined ? {} : { before: w.before }),
    ...(observers === undefined ? {} : { observer: observers }),
  });
}

/** Transitions into suspect seen inside the window (each observer's view counted separately). */
export function suspicionsSeen(tl: Timeline, w: Window, member?: string | readonly string[]): StatusChange[] {
  return tl.changes({
    to: 'suspect', after: w.after,
    ...(w.before === undefined ? {} : { before: w.before }),
    ...(member === undefined ? {} : { member }),
  });
}

/**
 * For each observer, the time from `since` until it first saw `member` in `status` (undefined if it
 * never did).
 */
export function timesToStatus(tl: Timeline, observers: readonly string[], member: string, status: 'alive' | 'suspect' | 'dead', since: number): Map<string, number | undefined> {
  return new Map(observers.map((o) => {
    const t = tl.firstSeen(o, member, status, since);
    return [o, t === undefined ? undefined : t - since];
  }));
}

/** "h2 sees h3 dead at +12.345s" lines for an assertion message. */
export function describeChanges(changes: readonly StatusChange[], since: number): string {
  return changes.map((c) => `${c.observer} saw ${c.member} ${c.from} -> ${c.to} (inc ${c.incarnation}) at +${((c.t - since) / 1000).toFixed(3)}s`).join('; ');
}

/**
 * For each observer, the time from `since` until `member` reached `status` for good: the time of the
 * observer's last change for that member, provided it is in `status` now (undefined otherwise). Differs
 * from the first time when the status flapped, e.g. a crashed node briefly revived by its own last
 * refutation still circulating.
 */
export function timesToSettled(tl: Timeline, observers: readonly string[], member: string, status: 'alive' | 'suspect' | 'dead', since: number): Map<string, number | undefined> {
  return new Map(observers.map((o) => {
    const last = tl.changes({ observer: o, member, after: since }).at(-1);
    if (tl.statusOf(o, member) !== status) return [o, undefined];
    return [o, last === undefined ? 0 : last.t - since];
  }));
}

/** Changes that took `member` out of dead (back to alive or suspect) inside the window. */
export function revivals(tl: Timeline, member: string, w: Window, observers?: readonly string[]): StatusChange[] {
  return tl.changes({
    member, after: w.after,
    ...(w.before === undefined ? {} : { before: w.before }),
    ...(observers === undefined ? {} : { observer: observers }),
  }).filter((c) => c.from === 'dead' && (c.to === 'alive' || c.to === 'suspect'));
}
