import { PROFILES } from '../protocol/profiles.js';
import type { BenchOptions } from './options.js';

/**
 * A node's first push-pull comes at a random point within 1.5 times the profile's base interval of
 * its start (node.ts), then at the cluster-size-scaled interval. That first round is start-up
 * traffic, several times the rate that follows; the steady period begins after it
 * (unless --warmup says otherwise).
 */
export function steadyStartsAfterMs(o: BenchOptions): number {
  if (o.warmupS !== null) return o.warmupS * 1000;
  return 1.5 * PROFILES[o.profile].pushPullIntervalMs + 1_000;
}
