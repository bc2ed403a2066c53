/**
 * What every agent said about every member, and when. The observer feeds it each agent's answer to
 * GET /v1/members; it keeps each observer's latest view and records a change whenever an observer's
 * status for a member differs from its previous answer. Faults the harness injects are recorded as
 * marks on the same clock, so "time from SIGKILL to dead at h3" is a subtraction.
 *
 * Times are milliseconds since the timeline was created (monotonic clock). A change is stamped when
 * the answer that showed it arrived, so it is late by at most one poll interval plus the request's
 * own latency; detection times are upper bounds with that resolution.
 */
import { performance } from 'node:perf_hooks';
import type { Member, MemberStatus } from '../../client/index.js';

export type ObservedStatus = MemberStatus | 'absent';

export interface StatusChange {
  readonly t: number;
  readonly observer: string;
  readonly member: string;
  readonly from: ObservedStatus;
  readonly to: ObservedStatus;
  readonly incarnation: number;
}

export interface Mark {
  readonly t: number;
  readonly label: string;
}

export interface ReachabilityChange {
  readonly t: number;
  readonly observer: string;
  readonly reachable: boolean;
  readonly reason: string;
}

export interface ChangeFilter {
  readonly observer?: string | readonly string[];
  readonly member?: string | readonly string[];
  readonly to?: ObservedStatus | readonly ObservedStatus[];
  /** Inclusive. */
  readonly after?: number;
  /** Exclusive. */
  readonly before?: number;
}

/** Bound on recorded entries: a flapping cluster must not grow the test's memory without limit. */
const ENTRIES_MAX = 200_000;

function matches<T extends string>(want: T | readonly T[] | undefined, v: T): boolean {
  if (want === undefined) return true;
  return typeof want === 'string' ? want === v : (want as readonly T[]).includes(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Timeline {
  private readonly origin = performance.now();
  private readonly changeLog: StatusChange[] = [];
  private readonly markLog: Mark[] = [];
  private readonly reachLog: ReachabilityChange[] = [];
  private readonly views = new Map<string, Map<string, Member>>();
  private readonly reachable = new Map<string, boolean>();
  private readonly lastAnswer = new Map<string, number>();
  /** Entries not recorded because the bound was hit; reported so a truncated log is never silent. */
  dropped = 0;

  now(): number {
    return performance.now() - this.origin;
  }

  /** Records a harness action (a fault, a signal) and returns its time. */
  mark(label: string): number {
    const t = this.now();
    this.push(this.markLog, { t, label });
    return t;
  }

  private push<T>(log: T[], entry: T): void {
    if (this.changeLog.length + this.markLog.length + this.reachLog.length >= ENTRIES_MAX) {
      this.dropped++;
      return;
    }
    log.push(entry);
  }

  /** One answer from `observer`: diffs it against the previous one and records what changed. */
  update(observer: string, members: readonly Member[], t = this.now()): void {
    this.setReachable(observer, true, 'answered', t);
    this.lastAnswer.set(observer, t);
    const prev = this.views.get(observer) ?? new Map<string, Member>();
    const next = new Map(members.map((m) => [m.name, m]));
    for (const [name, m] of next) {
      const before = prev.get(name);
      const from: ObservedStatus = before?.status ?? 'absent';
      if (from !== m.status) this.push(this.changeLog, { t, observer, member: name, from, to: m.status, incarnation: m.incarnation });
    }
    for (const [name, m] of prev) {
      if (!next.has(name)) this.push(this.changeLog, { t, observer, member: name, from: m.status, to: 'absent', incarnation: m.incarnation });
    }
    this.views.set(observer, next);
  }

  /** A failed poll: the observer is paused, dead, or not started yet. Its last view is kept. */
  setReachable(observer: string, reachable: boolean, reason: string, t = this.now()): void {
    if (this.reachable.get(observer) === reachable) return;
    this.reachable.set(observer, reachable);
    this.push(this.reachLog, { t, observer, reachable, reason });
  }

  isReachable(observer: string): boolean {
    return this.reachable.get(observer) === true;
  }

  /** Time of the observer's latest answer (undefined if it never answered). */
  lastAnswerAt(observer: string): number | undefined {
    return this.lastAnswer.get(observer);
  }

  /** The observer's latest view, by member name. */
  view(observer: string): ReadonlyMap<string, Member> {
    return this.views.get(observer) ?? new Map<string, Member>();
  }

  statusOf(observer: string, member: string): ObservedStatus {
    return this.view(observer).get(member)?.status ?? 'absent';
  }

  incarnationOf(observer: string, member: string): number | undefined {
    return this.view(observer).get(member)?.incarnation;
  }

  changes(f: ChangeFilter = {}): StatusChange[] {
    return this.changeLog.filter((c) =>
      matches(f.observer, c.observer) && matches(f.member, c.member) && matches(f.to, c.to)
      && (f.after === undefined || c.t >= f.after) && (f.before === undefined || c.t < f.before));
  }

  marks(): readonly Mark[] {
    return this.markLog;
  }

  reachability(): readonly ReachabilityChange[] {
    return this.reachLog;
  }

  /** When `observer` first saw `member` in `status` at or after `after`; undefined if it has not. */
  firstSeen(observer: string, member: string, status: ObservedStatus, after: number): number | undefined {
    return this.changeLog.find((c) => c.observer === observer && c.member === member && c.to === status && c.t >= after)?.t;
  }

  /** True when every observer's latest view has every member in `status`. */
  allSee(observers: readonly string[], members: readonly string[], status: ObservedStatus | ((m: Member | undefined) => boolean)): boolean {
    return observers.every((o) => members.every((m) => {
      const v = this.view(o).get(m);
      return typeof status === 'function' ? status(v) : (v?.status ?? 'absent') === status;
    }));
  }

  /**
   * Waits until `predicate` holds on the recorded views, checked every 20 ms (no faster than the
   * data changes). Returns the time it first held; throws after `timeoutMs` naming `what` and the
   * views it last saw.
   */
  async waitFor(what: string, predicate: () => boolean, timeoutMs: number, observers?: readonly string[]): Promise<number> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      if (predicate()) return this.now();
      if (this.now() >= deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describeViews(observers)}`);
      }
      await sleep(20);
    }
  }

  /** Every observer's latest view in one line each, e.g. "h1 sees h1=alive/3 h2=dead/1". */
  describeViews(observers: readonly string[] = [...this.views.keys()].sort()): string {
    return observers.map((o) => {
      const members = [...this.view(o).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      const reach = this.isReachable(o) ? '' : ' (not answering)';
      return `  ${o}${reach} sees ${members.map((m) => `${m.name}=${m.status}/${m.incarnation}`).join(' ')}`;
    }).join('\n');
  }

  /** Changes and marks in time order, relative to `since`, one a line; for failure reports. */
  format(f: ChangeFilter = {}, since = 0, limit = 200): string {
    type Line = { t: number; text: string };
    const lines: Line[] = [
      ...this.changes(f).map((c) => ({ t: c.t, text: `${c.observer} sees ${c.member}: ${c.from} -> ${c.to} (inc ${c.incarnation})` })),
      ...this.markLog.filter((m) => (f.after === undefined || m.t >= f.after) && (f.before === undefined || m.t < f.before))
        .map((m) => ({ t: m.t, text: `** ${m.label}` })),
      ...this.reachLog.filter((r) => (f.after === undefined || r.t >= f.after) && (f.before === undefined || r.t < f.before)
        && matches(f.observer, r.observer))
        .map((r) => ({ t: r.t, text: `${r.observer} ${r.reachable ? 'answers again' : `stops answering (${r.reason})`}` })),
    ].sort((a, b) => a.t - b.t);
    const shown = lines.length > limit ? [...lines.slice(0, limit / 2), { t: NaN, text: `... ${lines.length - limit} more ...` }, ...lines.slice(-limit / 2)] : lines;
    const at = (t: number): string => `${t < since ? '-' : '+'}${(Math.abs(t - since) / 1000).toFixed(3)}s`;
    const body = shown.map((l) => (Number.isNaN(l.t) ? `  ${l.text}` : `  ${at(l.t)} ${l.text}`)).join('\n');
    return this.dropped > 0 ? `${body}\n  (${this.dropped} entries not recorded: log bound reached)` : body;
  }
}
