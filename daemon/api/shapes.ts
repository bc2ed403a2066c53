import type { SplitPercentages } from '../../client/contract/effective-weight.js';
import type { Member, ServiceJson, SplitJson } from '../../client/contract/json.js';
import { instanceKey, LISTED_OWNER, serviceEffectiveWeights } from '../../client/contract/service-weights.js';
import type { MemberView, ServiceView, SplitView } from '../../protocol/effects.js';

/**
 * The core's views written as the local API's JSON (client/contract/json.ts), for the routes and the
 * watch stream alike: a member or a service has the same shape wherever the agent writes it.
 */

export function memberJson(m: MemberView): Member {
  return { name: m.name, address: m.host, port: m.port, status: m.status, incarnation: m.incarnation };
}

/**
 * What an entry's effective weight is computed from: every instance this agent sees, their owners'
 * membership status, and the service's split (none: undefined).
 */
export interface RoutingState {
  services(): readonly ServiceView[];
  member?(name: string): MemberView | undefined;
  split?(service: string): SplitPercentages | undefined;
}

export function serviceJson(v: ServiceView, effectiveWeight: number): ServiceJson {
  return {
    node: v.node, id: v.id, name: v.name, address: v.address, port: v.port, tags: v.tags, meta: v.meta,
    version: v.version, weight: v.weight, health: v.health, draining: v.draining, rev: v.rev,
    effective_weight: effectiveWeight,
  };
}

/**
 * Effective weights (by instanceKey) of the instances of the services `views` belong to, as `state`
 * now has them, with `views` standing in for the state's entries of the same keys (a deregistered
 * entry, or an entry as it was before a change, is weighed among its siblings as they are).
 */
export function weightsFor(state: RoutingState, views: readonly ServiceView[]): Map<string, number> {
  const names = new Set(views.map((v) => v.name));
  const given = new Map(views.map((v) => [instanceKey(v), v] as const));
  const entries = state.services().filter((v) => names.has(v.name) && !given.has(instanceKey(v)));
  const member = state.member?.bind(state);
  return serviceEffectiveWeights([...entries, ...given.values()], (s) => state.split?.(s),
    member === undefined ? () => LISTED_OWNER : (node) => member(node)?.status);
}

/** `views` written as entries with their effective weights (views of one key: give one). */
export function servicesJson(state: RoutingState, views: readonly ServiceView[]): ServiceJson[] {
  const weights = weightsFor(state, views);
  return views.map((v) => serviceJson(v, weights.get(instanceKey(v)) ?? 0));
}

/** One view written as an entry, weighed among its siblings as `state` has them. */
export function serviceJsonIn(state: RoutingState, view: ServiceView): ServiceJson {
  return serviceJson(view, weightsFor(state, [view]).get(instanceKey(view)) ?? 0);
}

export function splitJson(v: SplitView): SplitJson {
  return { service: v.service, weights: { ...v.weights }, writer: v.writer, hlc: { wall_ms: v.wallMs, counter: v.counter } };
}
