/**
 * The proxy's view of one service, built from the agent's watch stream: which instances exist,
 * which may take new requests, and a weighted choice among them. Pure (no sockets, no clock), so
 * the routing rules can be tested without a cluster.
 */
import { type ServiceEntry, serviceEffectiveWeights, type SplitJson, type WatchEvent } from '../../client/index.js';

export interface Backend {
  /** node + "/" + id: an id is only unique within its owner node. */
  readonly key: string;
  readonly id: string;
  readonly node: string;
  readonly address: string;
  readonly port: number;
  readonly version: string;
  readonly weight: number;
  readonly health: ServiceEntry['health'];
  readonly draining: boolean;
  /**
   * The instance's share as the agent's rule gives it (client/contract/effective-weight.ts): its
   * own weight with no split; with one, its version's percentage divided among the version's
   * routable instances. Recomputed for the whole service after every line that can change it.
   */
  readonly effectiveWeight: number;
}

/** What happened to one backend because of one watch line, for the proxy's own log. */
export interface BackendChange {
  readonly key: string;
  readonly change: 'added' | 'updated' | 'removed';
  readonly backend: Backend;
}

export function backendKey(s: Pick<ServiceEntry, 'node' | 'id'>): string {
  return `${s.node}/${s.id}`;
}

/**
 * Only a passing instance that is not draining gets new requests. Warning is left out on purpose:
 * the agent reports an instance answering 429 as warning, i.e. one that is shedding load.
 */
export function eligible(b: Backend): boolean {
  return b.health === 'passing' && !b.draining;
}

function toBackend(s: ServiceEntry): Backend {
  return {
    key: backendKey(s), id: s.id, node: s.node, address: s.address, port: s.port,
    version: s.version, weight: s.weight, health: s.health, draining: s.draining, effectiveWeight: s.effective_weight,
  };
}

export class BackendTable {
  private readonly byKey = new Map<string, Backend>();
  private splitNow: SplitJson | null = null;

  constructor(readonly service: string) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Backend | undefined {
    return this.byKey.get(key);
  }

  all(): Backend[] {
    return [...this.byKey.values()];
  }

  eligible(): Backend[] {
    return this.all().filter(eligible);
  }

  /** The service's split as last seen on the stream (null: none). */
  get split(): SplitJson | null {
    return this.splitNow;
  }

  /**
   * Applies one watch line. A snapshot replaces the whole view (it may be a reset after a gap, so
   * anything not in it is gone); a service event adds, updates or removes one instance; a split
   * event replaces the split. Effective weights are then recomputed for every instance, since one
   * instance's change or a split change moves its siblings' shares too.
   */
  apply(e: WatchEvent): BackendChange[] {
    return [...this.applyLine(e), ...this.reweigh()];
  }

  private applyLine(e: WatchEvent): BackendChange[] {
    if (e.type === 'snapshot') {
      this.splitNow = e.splits.find((s) => s.service === this.service) ?? null;
      return this.replace(e.services.filter((s) => s.name === this.service));
    }
    if (e.type === 'split') {
      if (e.service === this.service) this.splitNow = e.split;
      return [];
    }
    if (e.type !== 'service') return [];
    const renamed = e.previous !== undefined && e.previous.name === this.service && e.service.name !== this.service;
    if (e.service.name !== this.service && !renamed) return [];
    const key = backendKey(e.service);
    if (e.event === 'deregistered' || renamed) return this.remove(key);
    return [this.upsert(toBackend(e.service))];
  }

  /** Effective weights from the instances held and the split, by the agents' own rule. */
  private reweigh(): BackendChange[] {
    const split = this.splitNow?.weights;
    const weights = serviceEffectiveWeights([...this.byKey.values()].map((b) => ({ ...b, name: this.service })), () => split);
    const changes: BackendChange[] = [];
    for (const [key, b] of this.byKey) {
      const w = weights.get(key) ?? 0;
      if (w !== b.effectiveWeight) changes.push(this.upsert({ ...b, effectiveWeight: w }));
    }
    return changes;
  }

  private replace(services: readonly ServiceEntry[]): BackendChange[] {
    const next = new Map(services.map((s) => [backendKey(s), toBackend(s)] as const));
    const changes: BackendChange[] = [];
    for (const [key, b] of this.byKey) if (!next.has(key)) changes.push({ key, change: 'removed', backend: b });
    for (const key of changes.map((c) => c.key)) this.byKey.delete(key);
    for (const b of next.values()) changes.push(this.upsert(b));
    return changes;
  }

  private upsert(b: Backend): BackendChange {
    const had = this.byKey.has(b.key);
    this.byKey.set(b.key, b);
    return { key: b.key, change: had ? 'updated' : 'added', backend: b };
  }

  private remove(key: string): BackendChange[] {
    const b = this.byKey.get(key);
    if (b === undefined) return [];
    this.byKey.delete(key);
    return [{ key, change: 'removed', backend: b }];
  }
}

/**
 * Weighted random choice by effective weight. `random` returns [0, 1). Instances with weight ≤ 0
 * are only chosen when no candidate has a positive weight (an operator setting every weight to 0
 * should not black-hole the service).
 */
export function pickWeighted(candidates: readonly Backend[], random: () => number): Backend | undefined {
  const weighted = candidates.filter((b) => b.effectiveWeight > 0);
  const pool = weighted.length > 0 ? weighted : candidates;
  if (pool.length === 0) return undefined;
  const total = weighted.length > 0 ? weighted.reduce((s, b) => s + b.effectiveWeight, 0) : pool.length;
  let r = random() * total;
  for (const b of pool) {
    r -= weighted.length > 0 ? b.effectiveWeight : 1;
    if (r < 0) return b;
  }
  return pool[pool.length - 1];
}

/**
 * Chooses the backend for one request. Version pinning (sticky mode): a client pinned to a version
 * stays on it while the version has a share (an instance with a positive effective weight) that
 * may take requests; once its share goes to 0 (a split moved it away, or it drained or failed), the
 * client falls through to the whole pool and is pinned again to whatever it gets.
 */
export function chooseBackend(table: BackendTable, pinned: string | undefined, random: () => number): Backend | undefined {
  const pool = table.eligible();
  if (pinned !== undefined) {
    const same = pool.filter((b) => b.version === pinned && b.effectiveWeight > 0);
    if (same.length > 0) return pickWeighted(same, random);
  }
  return pickWeighted(pool, random);
}
