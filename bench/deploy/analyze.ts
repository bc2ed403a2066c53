/**
 * Turns one run's request records and deploy marks into the figures reported. Pure: times are the
 * performance.now() milliseconds recorded by the load generator and the deploy steps.
 *
 * A request counts as served by a version at the time it was *sent*: the proxy picks the backend on
 * arrival, so the send time is the routing decision (to within the loopback hop), which is what the
 * deploy controls. Windows are therefore spans of send times.
 */
import { percentile } from '../stats.js';
import { type RequestRecord, succeeded } from './load.js';
import type { Mark, MarkKind } from './steps.js';

export type RunName = 'swimd' | 'naive' | 'weighted' | 'rollback';

export interface Span {
  readonly first: number;
  readonly last: number;
}

export interface PerClient {
  readonly clients: number;
  /** Clients that got answers from both versions. */
  readonly saw_both: number;
  /** Clients that got v1 again after having got v2. */
  readonly switched_back: number;
  readonly mixed_window_p50_ms: number | null;
  readonly mixed_window_max_ms: number | null;
}

export interface Split {
  /** Requests sent from the first v2 answer to the drain of v1 (both eligible). */
  readonly window_ms: number;
  readonly v1: number;
  readonly v2: number;
  readonly v2_pct: number;
}

/** Clients during the held split (first v2 answer to the split's end or the rollback). */
export interface SplitClients {
  readonly clients: number;
  /** Clients that got answers from both versions while the split held: 0 with version pinning. */
  readonly saw_both: number;
}

/** The rollback run: `split app v1=100 --wait` from the 90/10 split. */
export interface Rollback {
  /** The call, until every member confirmed it. */
  readonly command_ms: number;
  /** From the call to the send of the last request v2 answered (0: none after the call). */
  readonly to_last_v2_ms: number;
  /** From the call until the proxy applied the new split. */
  readonly proxy_learned_ms: number | null;
  /** Requests v2 answered that were sent after the proxy applied it (must be 0). */
  readonly v2_after_proxy_knew: number | null;
}

export interface Series {
  readonly bin_ms: number;
  /** Answers per bin, scaled to per second. */
  readonly v1: number[];
  readonly v2: number[];
  readonly failed: number[];
}

export interface RunSummary {
  readonly name: RunName;
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Requests due that the load generator could not start within a second (all slots busy). */
  readonly dropped: number;
  readonly failures: Readonly<Record<string, number>>;
  /** From the drain call (naive: the stop of v1) to the last request v1 answered. */
  readonly drain_to_last_v1_ms: number | null;
  /** From the start of v2's registration to the first request v2 answered. */
  readonly register_to_first_v2_ms: number | null;
  /** Span during which requests were answered by both versions. */
  readonly mixed_window_ms: number;
  /** Longest span between two consecutive answered requests (the outage, if any). */
  readonly longest_gap_ms: number;
  /** When that span began, ms after the load started (to tell a deploy's gap from a GC pause). */
  readonly longest_gap_at_ms: number | null;
  /** From the first to the last failed request; null without failures. */
  readonly failed_window_ms: number | null;
  readonly latency_ms: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly split: Split | null;
  readonly per_client: PerClient;
  /** Split and rollback runs: clients during the held split. */
  readonly split_clients: SplitClients | null;
  readonly rollback: Rollback | null;
  /** Each deploy step, ms after the first one (register, or the stop for naive). */
  readonly steps_ms: Readonly<Partial<Record<MarkKind, number>>>;
  /** Each deploy step, ms after the load started (the chart's time axis). */
  readonly marks_ms: Readonly<Partial<Record<MarkKind, number>>>;
  /**
   * Requests v1 answered that were sent after the proxy had applied the drain: must be 0 (the proxy
   * picks a backend after the request was sent, so these would be routing decisions made knowing
   * v1 was draining).
   */
  readonly v1_after_proxy_knew_drain: number | null;
  /** When the proxy applied the change, ms after the call that made it. */
  readonly proxy_learned_ms: { readonly v2_eligible: number | null; readonly v1_draining: number | null };
  readonly duration_s: number;
  readonly series: Series;
}

export interface RunInput {
  readonly name: RunName;
  readonly records: readonly RequestRecord[];
  readonly dropped: number;
  readonly startedAt: number;
  readonly stoppedAt: number;
  readonly marks: readonly Mark[];
  /** When the proxy first saw v2 eligible / v1 draining (performance.now()), if it did. */
  readonly proxySawV2: number | null;
  readonly proxySawV1Draining: number | null;
  /** When the proxy applied the rollback's split, if there was one. */
  readonly proxySawRollback?: number | null;
  readonly binMs: number;
}

const round = (x: number): number => Math.round(x * 10) / 10;

function markAt(marks: readonly Mark[], kind: MarkKind): number | null {
  return marks.find((m) => m.kind === kind)?.at ?? null;
}

export function span(times: readonly number[]): Span | null {
  if (times.length === 0) return null;
  let first = Infinity;
  let last = -Infinity;
  for (const t of times) {
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return { first, last };
}

/** Length of the intersection of two spans (0 when they do not meet). */
export function overlap(a: Span | null, b: Span | null): number {
  if (a === null || b === null) return 0;
  return Math.max(0, Math.min(a.last, b.last) - Math.max(a.first, b.first));
}

function perClient(ok: readonly RequestRecord[]): PerClient {
  const by = new Map<number, RequestRecord[]>();
  for (const r of ok) {
    const list = by.get(r.client);
    if (list === undefined) by.set(r.client, [r]);
    else list.push(r);
  }
  const windows: number[] = [];
  let sawBoth = 0;
  let switchedBack = 0;
  for (const list of by.values()) {
    const v1 = span(list.filter((r) => r.version === 'v1').map((r) => r.start));
    const v2 = span(list.filter((r) => r.version === 'v2').map((r) => r.start));
    if (v1 === null || v2 === null) continue;
    sawBoth++;
    windows.push(overlap(v1, v2));
    if (v1.last > v2.first) switchedBack++;
  }
  windows.sort((a, b) => a - b);
  return {
    clients: by.size, saw_both: sawBoth, switched_back: switchedBack,
    mixed_window_p50_ms: windows.length === 0 ? null : round(percentile(windows, 50)),
    mixed_window_max_ms: windows.length === 0 ? null : round(windows[windows.length - 1] as number),
  };
}

function series(records: readonly RequestRecord[], t0: number, t1: number, binMs: number): Series {
  // Rounded, so the last bin is between half and one and a half bins wide, never a sliver.
  const n = Math.max(1, Math.round((t1 - t0) / binMs));
  const out = { bin_ms: binMs, v1: new Array<number>(n).fill(0), v2: new Array<number>(n).fill(0), failed: new Array<number>(n).fill(0) };
  for (const r of records) {
    const i = Math.min(n - 1, Math.max(0, Math.floor((r.start - t0) / binMs)));
    const row = !succeeded(r) ? out.failed : r.version === 'v1' ? out.v1 : r.version === 'v2' ? out.v2 : null;
    if (row !== null) row[i] = (row[i] as number) + 1;
  }
  // Counts to rates, the last bin by its own width.
  const lastMs = Math.max(1, t1 - t0 - (n - 1) * binMs);
  for (const row of [out.v1, out.v2, out.failed]) {
    for (let i = 0; i < n; i++) row[i] = Math.round(((row[i] as number) * 1000 * 100) / (i === n - 1 ? lastMs : binMs)) / 100;
  }
  return out;
}

export function analyzeRun(inp: RunInput): RunSummary {
  const ok = inp.records.filter(succeeded);
  const bad = inp.records.filter((r) => !succeeded(r));
  const failures: Record<string, number> = {};
  for (const r of bad) failures[r.error ?? 'unknown'] = (failures[r.error ?? 'unknown'] ?? 0) + 1;
  const v1 = span(ok.filter((r) => r.version === 'v1').map((r) => r.start));
  const v2 = span(ok.filter((r) => r.version === 'v2').map((r) => r.start));

  const register = markAt(inp.marks, 'register');
  const drain = markAt(inp.marks, 'drain') ?? markAt(inp.marks, 'stop');
  const starts = ok.map((r) => r.start).sort((a, b) => a - b);
  let gap = 0;
  let gapAt: number | null = null;
  for (let i = 1; i < starts.length; i++) {
    const d = (starts[i] as number) - (starts[i - 1] as number);
    if (d > gap) {
      gap = d;
      gapAt = (starts[i - 1] as number) - inp.startedAt;
    }
  }

  let split: Split | null = null;
  // A split run's window ends where the split was moved on (v2=100, or the rollback), not at the drain.
  const splitEnd = markAt(inp.marks, 'split_end') ?? markAt(inp.marks, 'rollback') ?? drain;
  let splitClients: SplitClients | null = null;
  if (v2 !== null && splitEnd !== null && splitEnd > v2.first) {
    const inWindow = ok.filter((r) => r.start >= v2.first && r.start < splitEnd);
    if (markAt(inp.marks, 'split_set') !== null) {
      const c = perClient(inWindow);
      splitClients = { clients: c.clients, saw_both: c.saw_both };
    }
    const n1 = inWindow.filter((r) => r.version === 'v1').length;
    const n2 = inWindow.filter((r) => r.version === 'v2').length;
    split = { window_ms: round(splitEnd - v2.first), v1: n1, v2: n2, v2_pct: n1 + n2 === 0 ? 0 : round((100 * n2) / (n1 + n2)) };
  }
  const rollbackAt = markAt(inp.marks, 'rollback');
  const rolledBack = markAt(inp.marks, 'rolled_back');
  let rollback: Rollback | null = null;
  if (rollbackAt !== null && rolledBack !== null) {
    const lastV2 = ok.filter((r) => r.version === 'v2' && r.start >= rollbackAt).reduce((m, r) => Math.max(m, r.start), rollbackAt);
    const learned = inp.proxySawRollback ?? null;
    rollback = {
      command_ms: round(rolledBack - rollbackAt), to_last_v2_ms: round(lastV2 - rollbackAt),
      proxy_learned_ms: learned === null ? null : round(learned - rollbackAt),
      v2_after_proxy_knew: learned === null ? null : ok.filter((r) => r.version === 'v2' && r.start > learned).length,
    };
  }

  const first = inp.marks[0]?.at ?? inp.startedAt;
  const steps: Partial<Record<MarkKind, number>> = {};
  const marks: Partial<Record<MarkKind, number>> = {};
  for (const m of inp.marks) {
    if (steps[m.kind] !== undefined) continue;
    steps[m.kind] = round(m.at - first);
    marks[m.kind] = round(m.at - inp.startedAt);
  }
  const lat = ok.map((r) => r.end - r.start).sort((a, b) => a - b);
  const failedSpan = span(bad.map((r) => r.start));

  return {
    name: inp.name,
    sent: inp.records.length,
    succeeded: ok.length,
    failed: bad.length,
    dropped: inp.dropped,
    failures,
    drain_to_last_v1_ms: drain === null || v1 === null ? null : round(v1.last - drain),
    register_to_first_v2_ms: register === null || v2 === null ? null : round(v2.first - register),
    mixed_window_ms: round(overlap(v1, v2)),
    longest_gap_ms: round(gap),
    longest_gap_at_ms: gapAt === null ? null : round(gapAt),
    failed_window_ms: failedSpan === null ? null : round(failedSpan.last - failedSpan.first),
    latency_ms: lat.length === 0 ? { p50: 0, p99: 0, max: 0 }
      : { p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)), max: round(lat[lat.length - 1] as number) },
    split,
    per_client: perClient(ok),
    split_clients: splitClients,
    rollback,
    steps_ms: steps,
    marks_ms: marks,
    v1_after_proxy_knew_drain: inp.proxySawV1Draining === null ? null
      : ok.filter((r) => r.version === 'v1' && r.start > (inp.proxySawV1Draining as number)).length,
    proxy_learned_ms: {
      v2_eligible: inp.proxySawV2 === null || register === null ? null : round(inp.proxySawV2 - register),
      v1_draining: inp.proxySawV1Draining === null || drain === null || markAt(inp.marks, 'drain') === null ? null : round(inp.proxySawV1Draining - drain),
    },
    duration_s: round((inp.stoppedAt - inp.startedAt) / 1000),
    series: series(inp.records, inp.startedAt, inp.stoppedAt, inp.binMs),
  };
}
