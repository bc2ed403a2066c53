/**
 * The fastest any update can reach the last of n nodes by first-receipt forwarding: each hop waits
 * at least the forward batch delay plus one one-way latency, and after h hops at most
 * 1 + F + F² + … + F^h nodes can hold it, F being the forward fanout. The fanout is not restated
 * here: it is read off the protocol by letting one Dissemination forward once and counting targets.
 */
import { Dissemination } from '../../protocol/dissemination.js';
import { LIMITS } from '../../protocol/limits.js';
import type { Profile } from '../../protocol/profiles.js';
import type { JsonObject } from '../result.js';
import { sampledContext } from './sampled-context.js';

/** Targets one node forwards a fresh update to in a cluster of n (the protocol's rule, measured). */
export function forwardFanout(n: number, profile: Profile): number {
  const m = sampledContext(n, profile, 1, LIMITS.packetBytesDefault, () => undefined);
  const d = new Dissemination(m.ctx);
  m.act(0, 0);
  d.spreadCatalog('probe', new Uint8Array(16), new Uint8Array(8), 'origin');
  m.flush();
  d.flushForward();
  return new Set(m.flush().filter((e) => e.kind === 'send').map((e) => (e.kind === 'send' ? e.to.host : ''))).size;
}

/** Fewest forwarding hops after which n nodes can hold an update. */
export function minHops(n: number, fanout: number): number {
  let reach = 1;
  let layer = 1;
  let h = 0;
  while (reach < n) {
    if (fanout < 1) return Number.POSITIVE_INFINITY;
    layer *= fanout;
    reach += layer;
    h++;
  }
  return h;
}

/** The bound for the register scenario, with what it is made of, as JSON figures. */
export function lowerBoundFigures(n: number, profile: Profile, minLatencyMs: number): JsonObject {
  const fanout = forwardFanout(n, profile);
  const hops = minHops(n, fanout);
  const perHop = profile.forwardBatchMs + minLatencyMs;
  return {
    register_lower_bound_ms: Math.round(hops * perHop * 100) / 100,
    lower_bound: {
      forward_fanout: fanout,
      hops,
      per_hop_ms: Math.round(perHop * 100) / 100,
      note: 'hops × (forward batch delay + minimum one-way latency): the last node cannot hold the update sooner',
    },
  };
}
