/**
 * A NodeContext for running protocol/dissemination.ts on its own, at a scale where no node could hold
 * a member table: membership is sampled (every node sees all N members alive and draws targets
 * uniformly with the protocol's own Rng.sample), and timers are routed to whichever node is
 * currently acting.
 *
 * One context is shared by every node; `acting` says whose turn it is. Each node keeps its own
 * Dissemination instance — its queue and forward batch — so the rule that decides what is sent,
 * how often and to how many is the protocol's, unchanged.
 */
import type { DisseminationContext } from '../../protocol/dissemination.js';
import type { Effect } from '../../protocol/effects.js';
import { forEachInArc, type MemberRecord, type MemberSampler } from '../../protocol/member-table.js';
import { type RelayArc, ringPosition } from '../../protocol/ring.js';
import type { Profile } from '../../protocol/profiles.js';
import { Rng } from '../../protocol/rng.js';
import type { Timer, TimerSet } from '../../protocol/timers.js';
import type { SampledProximity } from './sampled-proximity.js';

/** Every simulated member uses this port; the host string carries the node's index. */
export const SAMPLED_PORT = 7946;

/** The member table every node would have in a settled cluster of n alive members, sampled instead of stored. */
export class SampledMembers implements MemberSampler {
  /** Index of the node whose table this currently is (it never samples itself). */
  acting = 0;
  private readonly indices: number[];
  /** The relay ring: positions sorted, and the node at each (built on first use). */
  private ring: { readonly pos: Uint32Array; readonly node: Int32Array } | null = null;

  constructor(private readonly n: number, private readonly draws: Rng) {
    this.indices = Array.from({ length: n }, (_, i) => i);
  }

  get liveCount(): number {
    return this.n;
  }

  get(name: string): MemberRecord | undefined {
    const i = Number(name);
    return Number.isInteger(i) && i >= 0 && i < this.n ? record(i) : undefined;
  }

  selfPosition(): number {
    return ringPosition(String(this.acting));
  }

  inArc(arc: RelayArc, accept: (r: MemberRecord) => boolean): MemberRecord[] {
    const ring = this.ringIndex();
    const self = this.acting;
    const out: MemberRecord[] = [];
    forEachInArc(ring.pos, arc, (k) => {
      const i = ring.node[k] as number;
      if (i === self) return;
      const r = record(i);
      if (accept(r)) out.push(r);
    });
    return out;
  }

  private ringIndex(): { readonly pos: Uint32Array; readonly node: Int32Array } {
    if (this.ring !== null) return this.ring;
    const raw = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) raw[i] = ringPosition(String(i));
    const order = Int32Array.from(this.indices);
    // Ties by name, as the member table orders them.
    order.sort((a, b) => (raw[a] as number) - (raw[b] as number) || (String(a) < String(b) ? -1 : 1));
    this.ring = { pos: Uint32Array.from(order, (i) => raw[i] as number), node: order };
    return this.ring;
  }

  sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[] {
    const self = this.acting;
    const picked = this.draws.sample(this.indices, k, (i) => i !== self && String(i) !== exclude && accept(record(i)));
    return picked.map(record);
  }
}

function record(i: number): MemberRecord {
  return { name: String(i), host: String(i), port: SAMPLED_PORT, incarnation: 0, status: 'alive', changedAt: 0 };
}

/** The timers Dissemination sets. */
export type TimerKind = 'forward' | 'gossip';

/**
 * The two timers Dissemination sets, per node, in flat arrays (NaN: not set). Any other timer
 * means dissemination.ts changed in a way this model does not follow: it throws rather than guess.
 */
export class RoutedDeadlines implements TimerSet {
  acting = 0;
  private readonly forward: Float64Array;
  private readonly gossip: Float64Array;

  constructor(n: number, private readonly onSet: (node: number, kind: TimerKind, at: number) => void) {
    this.forward = new Float64Array(n).fill(Number.NaN);
    this.gossip = new Float64Array(n).fill(Number.NaN);
  }

  set(timer: Timer, at: number): void {
    this.slots(timer.kind)[this.acting] = at;
    this.onSet(this.acting, timer.kind as TimerKind, at);
  }

  clear(timer: Timer | TimerKind): void {
    this.slots(typeof timer === 'string' ? timer : timer.kind)[this.acting] = Number.NaN;
  }

  has(timer: Timer | TimerKind): boolean {
    return !Number.isNaN(this.slots(typeof timer === 'string' ? timer : timer.kind)[this.acting] as number);
  }

  at(timer: Timer): number | undefined {
    const v = this.slots(timer.kind)[this.acting] as number;
    return Number.isNaN(v) ? undefined : v;
  }

  /** The deadline `node` has for `kind` (NaN when none). */
  of(node: number, kind: TimerKind): number {
    return this.slots(kind)[node] as number;
  }

  private slots(kind: Timer['kind']): Float64Array {
    if (kind === 'forward') return this.forward;
    if (kind === 'gossip') return this.gossip;
    throw new Error(`dissemination set timer ${JSON.stringify(kind)}, which the dissemination-only model does not know`);
  }
}

/** One context shared by every node; `now` and `out` are those of the acting node's current step. */
interface SharedContext extends DisseminationContext {
  now: number;
  out: Effect[];
}

export interface SampledContext {
  readonly ctx: DisseminationContext;
  readonly members: SampledMembers;
  readonly deadlines: RoutedDeadlines;
  /** Makes `node` the acting node at time `now`. */
  act(node: number, now: number): void;
  /** The effects produced since the last call. */
  flush(): Effect[];
}

export function sampledContext(n: number, profile: Profile, seed: number, packetBytes: number,
  onTimer: (node: number, kind: TimerKind, at: number) => void, proximity?: SampledProximity): SampledContext {
  const members = new SampledMembers(n, new Rng(seed));
  const deadlines = new RoutedDeadlines(n, onTimer);
  const ctx: SharedContext = { now: 0, out: [], profile, packetBytes, table: members, deadlines, rng: new Rng(seed ^ 0x7265_6c61), proximity };
  return {
    ctx, members, deadlines,
    act(node: number, now: number): void {
      members.acting = node;
      deadlines.acting = node;
      if (proximity !== undefined) proximity.acting = node;
      ctx.now = now;
    },
    flush(): Effect[] {
      const out = ctx.out;
      ctx.out = [];
      return out;
    },
  };
}
