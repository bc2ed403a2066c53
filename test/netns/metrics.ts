/**
 * The few agent counters the fault scenarios report, read from GET /v1/metrics. Names are those of
 * daemon/metrics.ts; a counter the agent does not expose reads as NaN so that a renamed metric
 * shows up in the report instead of passing as zero.
 */

export const COUNTERS = {
  suspicionsRaised: 'swimd_suspicions_raised_total',
  suspicionsRefuted: 'swimd_suspicions_refuted_total',
  declaredDead: 'swimd_declared_dead_total',
  probesSent: 'swimd_probes_sent_total',
  probesFailed: 'swimd_probes_failed_total',
  indirectProbesSent: 'swimd_indirect_probes_sent_total',
  sendErrors: 'swimd_send_errors_total',
  lateTicks: 'swimd_ticks_late_total',
  incarnation: 'swimd_incarnation',
  localHealth: 'swimd_local_health',
} as const;

export type CounterName = keyof typeof COUNTERS;
export type Counters = Record<CounterName, number>;

/** Unlabelled samples of a Prometheus text exposition, by metric name. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\S+)/.exec(line);
    if (m === null) continue;
    const v = m[2] === '+Inf' ? Infinity : m[2] === '-Inf' ? -Infinity : Number(m[2]);
    out.set(m[1] ?? '', v);
  }
  return out;
}

export function countersFrom(text: string): Counters {
  const samples = parseExposition(text);
  const out = {} as Counters;
  for (const [key, metric] of Object.entries(COUNTERS) as [CounterName, string][]) {
    out[key] = samples.get(metric) ?? NaN;
  }
  return out;
}

/** after − before for every counter (gauges are taken from `after`). */
export function delta(before: Counters, after: Counters): Counters {
  const out = {} as Counters;
  for (const key of Object.keys(COUNTERS) as CounterName[]) {
    out[key] = key === 'incarnation' || key === 'localHealth' ? after[key] : after[key] - before[key];
  }
  return out;
}

/** Sum of each counter over several agents. */
export function sum(all: Iterable<Counters>): Counters {
  const out = {} as Counters;
  for (const key of Object.keys(COUNTERS) as CounterName[]) out[key] = 0;
  for (const c of all) for (const key of Object.keys(COUNTERS) as CounterName[]) out[key] += c[key];
  return out;
}
