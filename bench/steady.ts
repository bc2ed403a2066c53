/**
 * When the steady period starts, and what its traffic figure leaves out.
 *
 * A node's first push-pull comes at a random point within 1.5 times the profile's base interval of
 * its start, then at an interval that grows with the cluster (node.ts). That first round is start-up
 * traffic; the steady period begins after it (unless --warmup says otherwise). The round after it
 * comes a whole interval later — 120 s at 200 nodes, longer than the steady period — so the window
 * may hold no push-pull at all, and the long-run push-pull rate is estimated instead: the measured
 * size of an exchange (from the first round) over the interval.
 */
import { pushPullIntervalMs } from '../protocol/anti-entropy.js';
import type { Profile } from '../protocol/profiles.js';
import { PROFILES } from '../protocol/profiles.js';
import type { BenchOptions } from './options.js';
import type { JsonObject } from './result.js';

export function steadyStartsAfterMs(o: BenchOptions): number {
  if (o.warmupS !== null) return o.warmupS * 1000;
  return 1.5 * PROFILES[o.profile].pushPullIntervalMs + 1_000;
}

/** Bytes of one push-pull exchange (request and reply), and how that figure was obtained. */
export interface ExchangeSize {
  readonly bytes: number;
  readonly basis: string;
}

/** From the exchanges seen in some period (null when there were none). */
export function measuredExchange(exchanges: number, bytes: number, where: string): ExchangeSize | null {
  return exchanges > 0 ? { bytes: bytes / exchanges, basis: `measured over ${exchanges} exchanges ${where}` } : null;
}

/**
 * Traffic figures of the steady period: UDP as measured in it; push-pull at its long-run rate when
 * the size of an exchange is known, else as measured in the window.
 */
export function steadyTrafficFigures(m: {
  readonly nodes: number;
  readonly profile: Profile;
  readonly windowS: number;
  readonly udpBytes: number;
  readonly udpPackets: number;
  readonly pushPullBytes: number;
  readonly exchange: ExchangeSize | null;
}): JsonObject {
  const per = (x: number): number => (m.windowS > 0 ? x / m.nodes / m.windowS : 0);
  const udp = per(m.udpBytes);
  const windowPushPull = per(m.pushPullBytes);
  const intervalMs = pushPullIntervalMs(m.nodes, m.profile);
  // Each node starts one exchange per interval; an exchange's bytes count both directions.
  const longRun = m.exchange === null ? null : m.exchange.bytes / (intervalMs / 1000);
  const pushPull = longRun ?? windowPushPull;
  return {
    bytes_per_node_per_s: Math.round(udp + pushPull),
    udp_bytes_per_node_per_s: Math.round(udp),
    push_pull_bytes_per_node_per_s: Math.round(pushPull),
    push_pull_basis: m.exchange === null
      ? 'measured in the steady window'
      : `long-run estimate: ${Math.round(m.exchange.bytes)} bytes per exchange (${m.exchange.basis}) every ${intervalMs / 1000} s`,
    push_pull_bytes_per_exchange: m.exchange === null ? null : Math.round(m.exchange.bytes),
    push_pull_interval_s: intervalMs / 1000,
    bytes_per_node_per_s_in_window: Math.round(udp + windowPushPull),
    packets_per_node_per_s: Math.round(per(m.udpPackets) * 100) / 100,
  };
}
