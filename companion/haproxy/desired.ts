/**
 * What HAProxy should hold for one service, from the catalog: each instance's slot state and weight.
 * Routability and effective weights come from client/contract/effective-weight.ts, as for every
 * other face: routable → ready with its effective weight scaled to HAProxy's 0–256; draining (and
 * otherwise healthy, owner alive) → drain, so sessions and cookie-persistent clients finish; anything
 * else (critical, owner dead, left or unknown) → maint. A routable instance whose effective weight
 * is 0 (its version has no share of a split, or it was registered with weight 0) goes to maint too,
 * not to `ready` with weight 0: HAProxy keeps sending cookie-pinned clients to a weight-0 server,
 * and a rollback must move everyone. For the same reason a draining instance drains only if it
 * would have a share were it not draining: one whose version the split already took out stays in
 * maint, rather than getting its pinned clients back.
 */
import { effectiveWeights, isRoutable, type RoutingInput, scaleWeights, type SplitPercentages } from '../../client/contract/effective-weight.js';
import { instanceKey, type ServiceEntry } from '../../client/index.js';
import type { AdminState } from './slots.js';
import type { CatalogView } from './view.js';

/** HAProxy's largest server weight. */
export const HAPROXY_MAX_WEIGHT = 256;

export interface DesiredServer {
  /** `node/id`. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly state: AdminState;
  /** 0–256; only applied while the state is ready. */
  readonly weight: number;
}

function routingInput(s: ServiceEntry, view: CatalogView): RoutingInput {
  return { key: instanceKey(s), version: s.version, weight: s.weight, health: s.health, draining: s.draining, ownerStatus: view.ownerStatus(s.node) };
}

export function desiredServers(service: string, view: CatalogView, split: SplitPercentages | undefined): DesiredServer[] {
  const instances = view.instances(service);
  const inputs = instances.map((s) => routingInput(s, view));
  const weights = scaleWeights(effectiveWeights(inputs, split), HAPROXY_MAX_WEIGHT);
  const undrained = effectiveWeights(inputs.map((i) => ({ ...i, draining: false })), split);
  return instances.map((s, i) => {
    const input = inputs[i] as RoutingInput;
    const healthyOwner = isRoutable({ ...input, draining: false });
    const weight = weights.get(input.key) ?? 0;
    const hasShare = (undrained.get(input.key) ?? 0) > 0;
    const state: AdminState = isRoutable(input) && weight > 0 ? 'ready' : input.draining && healthyOwner && hasShare ? 'drain' : 'maint';
    return { key: input.key, address: s.address, port: s.port, state, weight };
  }).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
