/**
 * Seeds for randomized tests. SWIMD_SEED pins one seed for a reproduction; otherwise each test uses
 * its fixed default so CI runs are identical from one run to the next.
 */
export function testSeed(defaultSeed: number): number {
  const env = process.env['SWIMD_SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n)) return n >>> 0;
  }
  return defaultSeed >>> 0;
}

/** Message suffix every randomized assertion carries so a failure names its reproduction. */
export function reproduce(seed: number): string {
  return ` (seed ${seed}; reproduce with SWIMD_SEED=${seed})`;
}
