/**
 * The human summary: one aligned table of the timed scenarios, then the other figures, each with
 * the target the issue set for it and whether this run met it. The targets are stated for 200 real
 * agents on the lan profile; on other setups they are shown for comparison only.
 */
import type { Json, JsonObject } from './result.js';

export interface Target {
  /** Dotted path of the figure in the JSON. */
  readonly figure: string;
  readonly max: number;
  readonly text: string;
}

/** A target, and what it becomes when loss runs throughout (`--loss-all`): null, not judged then. */
interface TargetRow extends Target {
  readonly underLoss: { readonly max: number; readonly text: string } | null;
}

const TARGETS: readonly TargetRow[] = [
  { figure: 'join_all_ms', max: 2_000, text: 'all see all within 2 s', underLoss: { max: 5_000, text: 'all see all within 5 s under loss' } },
  { figure: 'register.p99_ms', max: 50, text: 'p99 ≤ 50 ms', underLoss: { max: 100, text: 'p99 ≤ 100 ms under loss' } },
  { figure: 'deregister.p99_ms', max: 50, text: 'p99 ≤ 50 ms', underLoss: { max: 100, text: 'p99 ≤ 100 ms under loss' } },
  { figure: 'dead.p99_ms', max: 3_000, text: 'p99 ≤ 3 s', underLoss: { max: 3_000, text: 'p99 ≤ 3 s under loss' } },
  { figure: 'false_dead', max: 0, text: '0 (over 120 s at 5% and 15% loss)', underLoss: { max: 0, text: '0 (over 120 s at 5% and 15% loss)' } },
  { figure: 'bytes_per_node_per_s', max: 1_000, text: '≤ 1 KB/s per node', underLoss: null },
];

/** On a region matrix a catalog change is judged against the fastest any protocol could bring it. */
const REGION_BOUND_FACTOR = 1.5;
/** Received copies of one catalog change per node, on average, with the update tree. */
const COPIES_PER_NODE_MAX = 2;

/**
 * The targets this run is judged against: with loss throughout, those the issue set for 15% loss;
 * on a region matrix, a catalog change's p99 against 1.5 × its lower bound and its copies per node.
 */
export function targetsFor(figures: JsonObject): readonly Target[] {
  const base: readonly Target[] = figures['loss_scope'] !== 'all' ? TARGETS
    : TARGETS.flatMap((t) => (t.underLoss === null ? [] : [{ figure: t.figure, ...t.underLoss }]));
  if (typeof figures['regions'] !== 'number') return base;
  const out: Target[] = [];
  for (const t of base) {
    const change = t.figure === 'register.p99_ms' ? 'register' : t.figure === 'deregister.p99_ms' ? 'deregister' : null;
    const bound = change === null ? undefined : lookup(figures, `${change}.lower_bound_ms`);
    if (change === null || typeof bound !== 'number') {
      out.push(t);
      continue;
    }
    const max = Math.round(REGION_BOUND_FACTOR * bound * 10) / 10;
    out.push({ figure: t.figure, max, text: `p99 ≤ ${REGION_BOUND_FACTOR} × bound (${max} ms)` });
    if (typeof lookup(figures, `${change}.copies_per_node`) === 'number') {
      out.push({ figure: `${change}.copies_per_node`, max: COPIES_PER_NODE_MAX, text: `≤ ${COPIES_PER_NODE_MAX} copies per node` });
    }
  }
  return out;
}

export function lookup(figures: JsonObject, path: string): Json | undefined {
  let v: Json | undefined = figures;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = v[part];
  }
  return v;
}

/** {figure: {target, value, met}} for the targets this run measured. */
export function targetFigures(figures: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const t of targetsFor(figures)) {
    const v = lookup(figures, t.figure);
    if (v === undefined) continue;
    out[t.figure] = { target_max: t.max, value: v, met: typeof v === 'number' && v <= t.max, target: t.text };
  }
  return out;
}

const ROWS = ['join', 'new_member', 'register', 'deregister', 'dead', 'dead_during_burst', 'dissemination'] as const;

export function renderSummary(f: JsonObject, spread: Record<string, [number, number]>, header: string): string {
  const lines: string[] = [header, ''];
  const cell = (path: string, unit = ''): string => {
    const v = lookup(f, path);
    if (v === undefined) return '';
    const s = spread[path];
    const text = typeof v === 'number' ? `${fmt(v)}${unit}` : v === null ? '—' : String(v);
    return s === undefined ? text : `${text} (${fmt(s[0])}–${fmt(s[1])})`;
  };
  const table: string[][] = [['change', 'nodes reached', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'target', 'met']];
  for (const row of ROWS) {
    const s = lookup(f, row);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) continue;
    const target = targetsFor(f).find((t) => t.figure === `${row}.p99_ms` || (row === 'join' && t.figure === 'join_all_ms'));
    table.push([
      row, `${cell(`${row}.reached`)}/${cell(`${row}.expected`)}`,
      cell(`${row}.p50_ms`), cell(`${row}.p90_ms`), cell(`${row}.p99_ms`), cell(`${row}.max_ms`),
      target?.text ?? '', target === undefined ? '' : met(f, target),
    ]);
  }
  lines.push(...align(table), '');
  const add = (label: string, text: string, target?: Target): void => {
    lines.push(`  ${label.padEnd(30)} ${text}${target === undefined ? '' : `   [target ${target.text}: ${met(f, target)}]`}`);
  };
  const t = (fig: string): Target | undefined => targetsFor(f).find((x) => x.figure === fig);
  const has = (path: string): boolean => lookup(f, path) !== undefined;
  if (has('join_all_ms')) {
    const after = has('join_all_after_spread_ms') ? `; ${cell('join_all_after_spread_ms', ' ms')} after the spread ended` : '';
    add('join, all see all', `${cell('join_all_ms', ' ms')} (joins spread over ${cell('join_spread_ms', ' ms')}${after})`, t('join_all_ms'));
  }
  if (lookup(f, 'sim_start') === 'converged') {
    add('join', 'not measured: every node started knowing every member alive (--sim-start join to time a join)');
  }
  if (has('register_lower_bound_ms')) {
    const measured = ['register', 'dissemination'].filter((k) => has(`${k}.max_ms`)).map((k) => `; measured: last node ${cell(`${k}.max_ms`, ' ms')}`);
    add('register lower bound', `${cell('register_lower_bound_ms', ' ms')} = ${cell('lower_bound.hops')} hops × ` +
      `${cell('lower_bound.per_hop_ms', ' ms')} (forward fanout ${cell('lower_bound.forward_fanout')})${measured.join('')}`);
  }
  const regional = ROWS.filter((k) => has(`${k}.lower_bound_ms`));
  if (regional.length > 0) {
    add(`lower bounds over ${cell('regions')} regions`, regional.map((k) =>
      `${k} ${cell(`${k}.lower_bound_ms`, ' ms')} (from ${cell(`${k}.origin_region`) || 'node 0'}; last node ${cell(`${k}.max_ms`, ' ms')})`).join('; '));
  }
  for (const k of ['register', 'deregister'] as const) {
    if (!has(`${k}.copies_per_node`)) continue;
    add(`${k}: copies per node`, `${cell(`${k}.copies_per_node`)} received (plus ${cell(`${k}.digests_per_node`)} digests)`, t(`${k}.copies_per_node`));
  }
  if (has('false_dead')) {
    add(`false deaths (${cell('steady_s', ' s')}, ${cell('loss_pct', '% loss')})`,
      `${cell('false_dead')} events, ${cell('false_dead_members')} members; ${cell('suspicions_raised')} suspicions raised`, t('false_dead'));
    add('traffic at rest, per node', `${cell('bytes_per_node_per_s', ' B/s')} (UDP ${cell('udp_bytes_per_node_per_s')} + ` +
      `push-pull ${cell('push_pull_bytes_per_node_per_s')}), ${cell('packets_per_node_per_s')} datagrams/s`, t('bytes_per_node_per_s'));
    add('  push-pull', cell('push_pull_basis'));
  }
  if (has('rss_mb_per_agent')) {
    add('memory per agent', `${cell('rss_mb_per_agent', ' MB')} RSS (process RSS / agents in it; ` +
      `marginal ${cell('rss_mb_per_agent_marginal', ' MB')}, heap ${cell('heap_mb_per_agent', ' MB')})`);
  }
  if (has('rss_mb_one_agent_process')) add('one agent in a process', `${cell('rss_mb_one_agent_process', ' MB')} RSS (the seed's own process)`);
  if (has('heap_mb_per_node')) add('simulator heap per node', cell('heap_mb_per_node', ' MB'));
  if (has('settle_ms') && lookup(f, 'sim_start') !== 'converged') add('join gossip died down after', cell('settle_ms', ' ms (virtual)'));
  if (has('packets_sent')) {
    add('messages', `${cell('packets_sent')} datagrams, ${cell('duplicates_received')} duplicate receipts, ` +
      `peak ${cell('peak_nodes_holding_state')} nodes holding state`);
  }
  if (has('copies_per_node')) {
    add('copies of the update per node', `${cell('copies_per_node')} received (${cell('copies_received')} copies, ` +
      `${cell('digests_received')} digests, ${cell('wants_sent')} requests)`);
  }
  add('wall time', cell('wall_ms', ' ms') + (has('virtual_ms') ? ` (virtual ${cell('virtual_ms', ' ms')})` : ''));
  if (has('max_rss_mb')) add('simulator max RSS', `${cell('max_rss_mb', ' MB')} (the simulation process, peak)`);
  for (const note of ['model_note', 'rss_note', 'bytes_note'] as const) {
    const v = lookup(f, note);
    if (typeof v === 'string') lines.push(`  note: ${v}`);
  }
  return lines.join('\n');
}

function met(f: JsonObject, t: Target): string {
  const v = lookup(f, t.figure);
  if (typeof v !== 'number') return 'NOT MEASURED (missing)';
  return v <= t.max ? 'met' : 'MISSED';
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(Math.abs(x) >= 10 ? 1 : 2);
}

function align(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd());
}
