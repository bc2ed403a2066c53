/** Percentile summaries shared by every benchmark mode. */
export interface Summary {
  /** Nodes whose view held the change by the end of the measurement. */
  readonly reached: number;
  /** Nodes expected to hold it. */
  readonly expected: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(latenciesMs: readonly number[], expected: number): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    reached: sorted.length,
    expected,
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN),
  };
}
