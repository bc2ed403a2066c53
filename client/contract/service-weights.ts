/**
 * Effective weights of the instances of one service, from the entries the agent writes (GET
 * /v1/services, the watch stream's snapshot and service lines), computed with the one shared rule
 * (effective-weight.ts). The agent fills `effective_weight` with this.
 *
 * Keeping weights right on the watch stream: an entry's `effective_weight` is exact as of its line,
 * but one instance's change (drained, failing, registered, gone) or a split change moves its
 * siblings' shares too, and the agent writes no line for them. A consumer that routes by weight
 * therefore keeps the service's entries and its split (snapshot `splits`, then `split` lines) and,
 * after any service or split line, recomputes the whole service with serviceEffectiveWeights(); the
 * result equals what GET /v1/services answers at the same index.
 */
import type { MemberStatus } from '../../protocol/messages.js';
import { effectiveWeights, type RoutingInput, type SplitPercentages } from './effective-weight.js';

/** The fields of an instance its routing depends on. */
export type RoutedEntry = {
  readonly node: string;
  readonly id: string;
  readonly version: string;
  readonly weight: number;
  readonly health: RoutingInput['health'];
  readonly draining: boolean;
};

/** The key effectiveWeights() results are read by: an id is only unique within its owner node. */
export function instanceKey(e: Pick<RoutedEntry, 'node' | 'id'>): string {
  return `${e.node}/${e.id}`;
}

/**
 * The owner status to route an entry by when the members are not at hand: an entry the agent lists
 * has an owner that is alive, suspect or dead, and a dead owner's entries already read critical, so
 * 'alive' gives the same routability.
 */
export const LISTED_OWNER: MemberStatus = 'alive';

/**
 * Effective weight of every entry (by instanceKey) of the entries given, each service name on its
 * own. `ownerStatus` defaults to LISTED_OWNER; `splitOf` gives a service's split (undefined: none).
 */
export function serviceEffectiveWeights(
  entries: readonly (RoutedEntry & { readonly name: string })[],
  splitOf: (service: string) => SplitPercentages | undefined,
  ownerStatus: (node: string) => MemberStatus | undefined = () => LISTED_OWNER,
): Map<string, number> {
  const byName = new Map<string, RoutingInput[]>();
  for (const e of entries) {
    const input: RoutingInput = {
      key: instanceKey(e), version: e.version, weight: e.weight, health: e.health, draining: e.draining, ownerStatus: ownerStatus(e.node),
    };
    const list = byName.get(e.name);
    if (list === undefined) byName.set(e.name, [input]);
    else list.push(input);
  }
  const out = new Map<string, number>();
  for (const [name, inputs] of byName) {
    for (const [k, w] of effectiveWeights(inputs, splitOf(name))) out.set(k, w);
  }
  return out;
}
