/** The drill's human summary: one aligned table for all runs, then the details that explain it. */
import type { RunSummary } from './analyze.js';
import { SPLIT_PERCENT } from './split-steps.js';

export interface ReportRun {
  readonly summary: RunSummary;
  readonly error: string | null;
}

/** The drill's goal for the swimd deploy: not one request lost out of at least this many. */
export const GOAL_REQUESTS = 20_000;

const fmt = (v: number | null, unit = ''): string => (v === null ? '-' : `${v}${unit}`);

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** Only the split runs hold both versions long enough for a split to mean anything. */
function splitText(s: RunSummary): string {
  if (s.split === null || s.split_clients === null) return '-';
  const total = s.split.v1 + s.split.v2;
  return `${total === 0 ? 0 : Math.round((1000 * s.split.v1) / total) / 10}/${s.split.v2_pct} %`;
}

const STEP_LABELS: readonly [keyof RunSummary['steps_ms'], string][] = [
  ['register', 'register v2'], ['registered', 'registration confirmed everywhere'], ['passing', 'v2 passing on C'],
  ['confirmed', 'passing confirmed everywhere'], ['split', 'split v1=90 v2=10'], ['split_set', 'split confirmed everywhere'],
  ['split_end', 'split v2=100'], ['rollback', 'rollback v1=100'], ['rolled_back', 'rollback confirmed everywhere'], ['drain', 'drain v1'],
  ['drained', 'drain confirmed everywhere'], ['idle', 'no v1 request in flight at the proxy'], ['stop', 'stop v1'],
  ['stopped', 'v1 stopped'], ['deregistered', 'v1 deregistration confirmed everywhere'],
];

export function renderReport(runs: readonly ReportRun[], sticky: boolean): string {
  const head = ['run', 'sent', 'succeeded', 'failed', 'drain→last v1', 'register→first v2', 'mixed window', 'longest gap', 'split v1/v2', 'saw both', 'rollback→last v2', 'p99 latency'];
  const rows = runs.map(({ summary: s }) => [
    s.name, String(s.sent), String(s.succeeded), String(s.failed),
    fmt(s.drain_to_last_v1_ms, ' ms'), fmt(s.register_to_first_v2_ms, ' ms'), `${s.mixed_window_ms} ms`,
    `${s.longest_gap_ms} ms`, splitText(s), s.split_clients === null ? '-' : `${s.split_clients.saw_both}/${s.split_clients.clients}`,
    s.rollback === null ? '-' : `${s.rollback.to_last_v2_ms} ms`, `${s.latency_ms.p99} ms`,
  ]);
  const out = [table([head, ...rows]), ''];
  for (const { summary: s, error } of runs) {
    out.push(`${s.name}: ${s.duration_s} s of load, ${s.dropped} dropped by the load generator; longest gap at ${fmt(s.longest_gap_at_ms === null ? null : Math.round(s.longest_gap_at_ms) / 1000, ' s')}, p50 latency ${s.latency_ms.p50} ms, max ${s.latency_ms.max} ms`);
    if (error !== null) out.push(`  DEPLOY FAILED: ${error}`);
    if (s.name === 'swimd') {
      const goal = `0 failed of at least ${GOAL_REQUESTS.toLocaleString('en-US')}`;
      const verdict = error !== null || s.failed > 0 ? 'not met' : s.sent < GOAL_REQUESTS ? `not reached: too few requests (${s.sent})` : 'met';
      out.push(`  goal (${goal}): ${verdict}`);
    }
    const failures = Object.entries(s.failures).sort((a, b) => b[1] - a[1]);
    if (failures.length > 0) {
      out.push(`  failures: ${failures.map(([k, n]) => `${n} × ${k}`).join(', ')} over ${fmt(s.failed_window_ms, ' ms')}`);
    }
    const steps = STEP_LABELS.filter(([k]) => s.steps_ms[k] !== undefined).map(([k, label]) => `${label} +${s.steps_ms[k]} ms`);
    if (steps.length > 0) out.push(`  steps: ${steps.join('; ')}`);
    const learned = s.proxy_learned_ms;
    if (learned.v2_eligible !== null || learned.v1_draining !== null) {
      const after = s.v1_after_proxy_knew_drain === null ? '' : `; requests sent to v1 after that: ${s.v1_after_proxy_knew_drain}`;
      out.push(`  proxy learned: v2 routable ${fmt(learned.v2_eligible, ' ms')} after the register call; v1 draining ${fmt(learned.v1_draining, ' ms')} after the drain call${after}`);
    }
    if (s.split !== null && s.split_clients !== null) {
      const want = SPLIT_PERCENT.v2 / (SPLIT_PERCENT.v1 + SPLIT_PERCENT.v2);
      const n = s.split.v1 + s.split.v2;
      // Each request picks v2 with probability `want`: the count is binomial, hence the band.
      const band = n === 0 ? 0 : Math.round(1960 * Math.sqrt((want * (1 - want)) / n)) / 10;
      const pinned = sticky ? ' (pinned: a client stays on its version while it has a share)' : '';
      out.push(`  split v1=${SPLIT_PERCENT.v1} v2=${SPLIT_PERCENT.v2} over ${s.split.window_ms} ms: v1 ${s.split.v1}, v2 ${s.split.v2} → v2 ${s.split.v2_pct} %; expect ${Math.round(1000 * want) / 10} % ± ${band} (95 %)${sticky ? ' per request without pinning; per new client with it' : ''}`);
      out.push(`  clients that saw both versions during the split: ${s.split_clients.saw_both} of ${s.split_clients.clients}${pinned}`);
    }
    if (s.rollback !== null) {
      const r = s.rollback;
      out.push(`  rollback (split v1=100 --wait): last new request to v2 ${r.to_last_v2_ms} ms after the call (target < 100 ms); proxy applied it after ${fmt(r.proxy_learned_ms, ' ms')}; confirmed everywhere after ${r.command_ms} ms; requests to v2 after the proxy knew: ${fmt(r.v2_after_proxy_knew)}`);
    }
    if (sticky) {
      const c = s.per_client;
      out.push(`  per client (sticky): ${c.saw_both} of ${c.clients} clients got both versions; mixed window p50 ${fmt(c.mixed_window_p50_ms, ' ms')}, max ${fmt(c.mixed_window_max_ms, ' ms')}; ${c.switched_back} went back to v1 after v2`);
    }
  }
  return out.join('\n');
}
