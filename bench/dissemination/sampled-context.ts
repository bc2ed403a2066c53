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
import { Awareness } from '../../protocol/awareness.js';
import type { MemberRecord } from '../../protocol/member-table.js';
import { MemberTable } from '../../protocol/member-table.js';
import { NodeContext, type NodeStats, TIMER } from '../../protocol/node-context.js';
import type { Profile } from '../../protocol/profiles.js';
import { Rng } from '../../protocol/rng.js';
import { Deadlines } from '../../protocol/timers.js';

/** Every simulated member uses this port; the host string carries the node's index. */
export const SAMPLED_PORT = 7946;

/** The member table every node would have in a settled cluster of n alive members, sampled instead of stored. */
export class SampledMembers extends MemberTable {
  /** Index of the node whose table this currently is (it never samples itself). */
  acting = 0;
  private readonly indices: number[];

  constructor(private readonly n: number, private readonly draws: Rng) {
    super('', draws);
    this.indices = Array.from({ length: n }, (_, i) => i);
  }

  override get liveCount(): number {
    return this.n;
  }

  override get size(): number {
    return this.n;
  }

  override sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[] {
    const self = this.acting;
    const picked = this.draws.sample(this.indices, k, (i) => i !== self && String(i) !== exclude && accept(record(i)));
    return picked.map(record);
  }
}

function record(i: number): MemberRecord {
  return { name: String(i), host: String(i), port: SAMPLED_PORT, incarnation: 0, status: 'alive', changedAt: 0 };
}

type TimerKey = typeof TIMER.forward | typeof TIMER.gossip;

/**
 * The two timers Dissemination sets, per node, in flat arrays (NaN: not set). Any other timer key
 * means dissemination.ts changed in a way this model does not follow: it throws rather than guess.
 */
export class RoutedDeadlines extends Deadlines {
  acting = 0;
  private readonly forward: Float64Array;
  private readonly gossip: Float64Array;

  constructor(n: number, private readonly onSet: (node: number, key: TimerKey, at: number) => void) {
    super();
    this.forward = new Float64Array(n).fill(Number.NaN);
    this.gossip = new Float64Array(n).fill(Number.NaN);
  }

  override set(key: string, at: number): void {
    this.slots(key)[this.acting] = at;
    this.onSet(this.acting, key as TimerKey, at);
  }

  override clear(key: string): void {
    this.slots(key)[this.acting] = Number.NaN;
  }

  override has(key: string): boolean {
    return !Number.isNaN(this.slots(key)[this.acting] as number);
  }

  override at(key: string): number | undefined {
    const v = this.slots(key)[this.acting] as number;
    return Number.isNaN(v) ? undefined : v;
  }

  /** The deadline `node` has for `key` (NaN when none). */
  of(node: number, key: TimerKey): number {
    return this.slots(key)[node] as number;
  }

  private slots(key: string): Float64Array {
    if (key === TIMER.forward) return this.forward;
    if (key === TIMER.gossip) return this.gossip;
    throw new Error(`dissemination set timer ${JSON.stringify(key)}, which the dissemination-only model does not know`);
  }
}

export interface SampledContext {
  readonly ctx: NodeContext;
  readonly members: SampledMembers;
  readonly deadlines: RoutedDeadlines;
  /** Makes `node` the acting node at time `now`. */
  act(node: number, now: number): void;
}

export function sampledContext(n: number, profile: Profile, seed: number, packetBytes: number,
  onTimer: (node: number, key: TimerKey, at: number) => void): SampledContext {
  const rng = new Rng(seed);
  const members = new SampledMembers(n, rng);
  const deadlines = new RoutedDeadlines(n, onTimer);
  const stats: NodeStats = {
    probesSent: 0, probesFailed: 0, indirectProbesSent: 0, suspicionsRaised: 0, suspicionsRefuted: 0,
    declaredDead: 0, probeRttSumMs: 0, probeRttCount: 0, probesInconclusive: 0,
  };
  const self = record(0);
  const ctx = new NodeContext('0', profile, packetBytes, rng, members, self, deadlines, new Awareness(profile.awarenessMax), stats, 0);
  return {
    ctx, members, deadlines,
    act(node: number, now: number): void {
      members.acting = node;
      deadlines.acting = node;
      ctx.now = now;
    },
  };
}
