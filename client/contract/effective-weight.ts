/**
 * Routability and effective weights, declared once for every face that routes traffic: the agent's
 * services JSON (`effective_weight`), DNS SRV weights, the HAProxy companion and the Consul API's
 * `Weights` all read them from here, so no two faces can disagree on who gets how much.
 *
 * An instance is routable when it is passing or warning, not draining, and its owner is alive (or
 * suspect: a suspect owner has not been declared dead and may yet refute). Its effective weight is,
 * with no split, its own weight; with a split, its version's percentage divided among that version's
 * routable instances in proportion to their own weights. Versions the split does not name get 0; a
 * named version with no routable instance leaves its share unused (the others are not scaled up).
 */
import type { Health, MemberStatus } from '../../protocol/messages.js';

/** What routability and weights are computed from: one instance as a face sees it. */
export interface RoutingInput {
  /** Unique within the input: `node/id`. */
  readonly key: string;
  readonly version: string;
  readonly weight: number;
  readonly health: Health;
  readonly draining: boolean;
  /** The owner's member status; undefined when the owner is not known. */
  readonly ownerStatus: MemberStatus | undefined;
}

/** A service's split: version label → whole percentage; the values sum to 100. */
export type SplitPercentages = Readonly<Record<string, number>>;

export function isRoutable(i: Pick<RoutingInput, 'health' | 'draining' | 'ownerStatus'>): boolean {
  return (i.health === 'passing' || i.health === 'warning') && !i.draining
    && (i.ownerStatus === 'alive' || i.ownerStatus === 'suspect');
}

/**
 * Effective weight of every instance of one service, by key: 0 for an instance that is not routable.
 * With a split the weights are in percent of the service's traffic (they sum to at most 100).
 */
export function effectiveWeights(instances: readonly RoutingInput[], split: SplitPercentages | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const routable = instances.filter(isRoutable);
  for (const i of instances) out.set(i.key, 0);
  if (split === undefined) {
    for (const i of routable) out.set(i.key, i.weight);
    return out;
  }
  const byVersion = new Map<string, RoutingInput[]>();
  for (const i of routable) {
    const list = byVersion.get(i.version);
    if (list === undefined) byVersion.set(i.version, [i]);
    else list.push(i);
  }
  for (const [version, list] of byVersion) {
    const share = Object.hasOwn(split, version) ? split[version]! : 0;
    if (share <= 0) continue;
    const total = list.reduce((s, i) => s + i.weight, 0);
    if (total <= 0) continue;
    for (const i of list) out.set(i.key, (share * i.weight) / total);
  }
  return out;
}

/** Versions the split names that have no routable instance: their share goes nowhere. */
export function unservedVersions(instances: readonly RoutingInput[], split: SplitPercentages): string[] {
  const served = new Set(instances.filter(isRoutable).filter((i) => i.weight > 0).map((i) => i.version));
  return Object.keys(split).filter((v) => split[v]! > 0 && !served.has(v)).sort();
}

/**
 * Effective weights scaled to the integers a consumer accepts (HAProxy 0–256, SRV 0–65535), the
 * largest mapped to `max`. A positive weight never becomes 0 (that would take the instance out of
 * rotation, which only routability may do); 0 stays 0.
 */
export function scaleWeights(weights: ReadonlyMap<string, number>, max: number): Map<string, number> {
  let top = 0;
  for (const w of weights.values()) if (w > top) top = w;
  const out = new Map<string, number>();
  for (const [k, w] of weights) {
    if (w <= 0 || top <= 0) out.set(k, 0);
    else out.set(k, Math.max(1, Math.round((w / top) * max)));
  }
  return out;
}
