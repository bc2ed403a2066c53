/**
 * Real-mode latencies subtract a time taken in one process from a time taken in another, so every
 * timestamp comes from this clock. performance.timeOrigin is the wall-clock instant the process
 * started, taken at high resolution, and performance.now() is monotonic from there: their sum is
 * comparable across the processes of one machine, unlike performance.now() alone (a per-process
 * origin), and unlike Date.now() it does not move when the wall clock is stepped mid-run.
 */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}
