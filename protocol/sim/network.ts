/**
 * The simulated network's link model: latency with jitter, packet loss and partitions, all drawn
 * from one seeded Rng so that a run is reproducible. Nodes are dense indices (0..n-1) here; the
 * simulator maps names and addresses to indices.
 */
import type { Rng } from '../rng.js';

/** Per directed link settings; an unset field falls back to the global value. */
export interface LinkOverride {
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  /** Loss probability of this link, replacing the global loss (per-node loss still applies). */
  readonly loss?: number;
}

export interface NetworkConfig {
  /** Base one-way latency, ms. */
  latencyMs: number;
  /** One-way latency is uniform in [latency - jitter, latency + jitter] (never below zero). */
  jitterMs: number;
  /** Probability that any datagram is lost. */
  loss: number;
}

/**
 * A fleet spread over regions: every node lives in one region, and a datagram between two nodes
 * takes the one-way latency of their regions' pair plus a jitter drawn uniformly from [0, jitterMs).
 * Jitter only adds: the pair's latency is the floor, as the speed of light is on a real path.
 */
export interface RegionLatencies {
  /** oneWayMs[a][b]: one-way latency from region a to region b, ms; square, finite, >= 0. */
  readonly oneWayMs: readonly (readonly number[])[];
  readonly jitterMs: number;
}

/** Why a datagram did not make it; the simulator counts each. */
export type DropCause = 'loss' | 'partition';

// Directed link keys pack two indices into one number, so lookups allocate no strings.
const INDEX_LIMIT = 0x200000;

export class Network {
  private readonly cfg: NetworkConfig;
  private readonly rng: Rng;
  private readonly overrides = new Map<number, LinkOverride>();
  private readonly oneWayBlocks = new Set<number>();
  /** Partition group of each node; nodes in different groups cannot exchange anything. */
  private readonly group: number[] = [];
  private readonly nodeLoss: number[] = [];
  private partitioned = false;
  private anyNodeLoss = false;
  /** Region latencies, flattened row by row (count × count); null: one global latency for every link. */
  private regionOneWay: Float64Array | null = null;
  private regionCount = 0;
  private regionJitterMs = 0;
  /** Region of each node; nodes are spread evenly: node i lives in region i mod count. */
  private readonly regionOf: number[] = [];

  constructor(rng: Rng, cfg: NetworkConfig) {
    this.rng = rng;
    this.cfg = { ...cfg };
    checkProbability(cfg.loss, 'loss');
    checkNonNegative(cfg.latencyMs, 'latencyMs');
    checkNonNegative(cfg.jitterMs, 'jitterMs');
  }

  /** Registers node `index` (indices are dense and increasing). */
  addNode(index: number): void {
    if (index >= INDEX_LIMIT) throw new RangeError(`simulator supports at most ${INDEX_LIMIT} nodes`);
    this.group[index] = 0;
    this.nodeLoss[index] = 0;
    this.regionOf[index] = this.regionCount > 0 ? index % this.regionCount : 0;
  }

  /** Places every node, present and future, in a region (node i in region i mod count). */
  setRegions(r: RegionLatencies): void {
    const count = r.oneWayMs.length;
    if (count === 0) throw new RangeError('regions: at least one region is needed');
    checkNonNegative(r.jitterMs, 'region jitterMs');
    const flat = new Float64Array(count * count);
    r.oneWayMs.forEach((row, a) => {
      if (row.length !== count) throw new RangeError(`regions: row ${a} has ${row.length} entries, expected ${count}`);
      row.forEach((ms, b) => {
        checkNonNegative(ms, `regions: latency ${a}->${b}`);
        flat[a * count + b] = ms;
      });
    });
    this.regionOneWay = flat;
    this.regionCount = count;
    this.regionJitterMs = r.jitterMs;
    for (let i = 0; i < this.regionOf.length; i++) this.regionOf[i] = i % count;
  }

  /** Region of node `index` (0 when no regions are set). */
  region(index: number): number {
    return this.regionOf[index] ?? 0;
  }

  setGlobal(patch: Partial<NetworkConfig>): void {
    if (patch.loss !== undefined) checkProbability(patch.loss, 'loss');
    if (patch.latencyMs !== undefined) checkNonNegative(patch.latencyMs, 'latencyMs');
    if (patch.jitterMs !== undefined) checkNonNegative(patch.jitterMs, 'jitterMs');
    Object.assign(this.cfg, patch);
  }

  setLink(from: number, to: number, o: LinkOverride | null): void {
    if (o === null) {
      this.overrides.delete(key(from, to));
      return;
    }
    if (o.loss !== undefined) checkProbability(o.loss, 'link loss');
    if (o.latencyMs !== undefined) checkNonNegative(o.latencyMs, 'link latencyMs');
    if (o.jitterMs !== undefined) checkNonNegative(o.jitterMs, 'link jitterMs');
    this.overrides.set(key(from, to), o);
  }

  /** Loss applied to every datagram the node sends or receives. */
  setNodeLoss(index: number, loss: number): void {
    checkProbability(loss, 'node loss');
    this.nodeLoss[index] = loss;
    this.anyNodeLoss = this.nodeLoss.some((p) => p > 0);
  }

  /**
   * Splits nodes into groups. Nodes not named in any group form one further group of their own,
   * so `partition([[a]])` isolates a from everyone else.
   */
  partition(groups: readonly (readonly number[])[]): void {
    this.group.fill(0);
    groups.forEach((g, i) => {
      for (const n of g) this.group[n] = i + 1;
    });
    this.partitioned = groups.length > 0;
  }

  /** `from` can no longer reach `to`; the reverse direction is unaffected. */
  blockOneWay(from: number, to: number): void {
    this.oneWayBlocks.add(key(from, to));
  }

  unblockOneWay(from: number, to: number): void {
    this.oneWayBlocks.delete(key(from, to));
  }

  /** Removes every partition and one-way block (loss and latency settings stay). */
  heal(): void {
    this.group.fill(0);
    this.partitioned = false;
    this.oneWayBlocks.clear();
  }

  /** Whether anything sent from `from` can arrive at `to` right now. */
  reachable(from: number, to: number): boolean {
    if (this.partitioned && this.group[from] !== this.group[to]) return false;
    return this.oneWayBlocks.size === 0 || !this.oneWayBlocks.has(key(from, to));
  }

  /** Decides the fate of one datagram: a drop cause, or null when it is delivered. */
  datagramFate(from: number, to: number): DropCause | null {
    if (!this.reachable(from, to)) return 'partition';
    const o = this.overrides.size === 0 ? undefined : this.overrides.get(key(from, to));
    const linkLoss = o?.loss ?? this.cfg.loss;
    let deliver = 1 - linkLoss;
    if (this.anyNodeLoss) deliver *= (1 - (this.nodeLoss[from] ?? 0)) * (1 - (this.nodeLoss[to] ?? 0));
    // No draw when nothing can be lost, so a lossless run spends no randomness on loss.
    if (deliver < 1 && this.rng.next() >= deliver) return 'loss';
    return null;
  }

  /** One-way latency for a single transmission on from -> to, ms. */
  latency(from: number, to: number): number {
    const o = this.overrides.size === 0 ? undefined : this.overrides.get(key(from, to));
    const regions = this.regionOneWay;
    if (regions !== null && o?.latencyMs === undefined) {
      const base = regions[(this.regionOf[from] as number) * this.regionCount + (this.regionOf[to] as number)] as number;
      const jitter = o?.jitterMs ?? this.regionJitterMs;
      return jitter === 0 ? base : base + this.rng.next() * jitter;
    }
    const base = o?.latencyMs ?? this.cfg.latencyMs;
    const jitter = o?.jitterMs ?? this.cfg.jitterMs;
    if (jitter === 0) return base;
    const l = base + (this.rng.next() * 2 - 1) * jitter;
    return l > 0 ? l : 0;
  }
}

function key(from: number, to: number): number {
  return from * INDEX_LIMIT + to;
}

function checkProbability(p: number, what: string): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what} must be within [0, 1], got ${p}`);
}

function checkNonNegative(v: number, what: string): void {
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${what} must be a finite number >= 0, got ${v}`);
}
