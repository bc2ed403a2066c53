import { type Address, addressKey, sameAddress } from './address.js';
import { LIMITS } from './limits.js';
import { isLive } from './member-table.js';
import { type NodeContext, TIMER } from './node-context.js';
import type { Profile } from './profiles.js';
import type { ReapedAddresses } from './reaped-addresses.js';
import { SeedRetry } from './seed-retry.js';

const JOIN_RETRY_MAX_MS = 30_000;

/**
 * How often a node in a cluster of `liveMembers` starts a periodic push-pull. A full-state
 * exchange costs O(n) bytes, so the interval grows with log n to keep each node's share bounded.
 */
export function pushPullIntervalMs(liveMembers: number, profile: Profile): number {
  const scale = liveMembers <= 32 ? 1 : Math.ceil(Math.log2(liveMembers) - Math.log2(32)) + 1;
  return profile.pushPullIntervalMs * scale;
}

/**
 * Full-state exchanges over a stream: the join (to seeds, retried with backoff until one answers),
 * the periodic push-pull with a random alive member that repairs missed gossip, and the reconnect
 * tick that heals partitions: a push-pull with a random dead member or the address of a reaped one,
 * and retries of seeds that are not live members. Merging a received state is the node's job;
 * this part decides when and with whom.
 */
export class AntiEntropy {
  private seeds: Address[] = [];
  private joined = false;
  private attempts = 0;
  private readonly seedRetry = new SeedRetry();

  constructor(
    private readonly ctx: NodeContext,
    /** This node's full state, encoded for a push-pull (join flag set or not). */
    private readonly stateBytes: (join: boolean) => Uint8Array,
    private readonly leaving: () => boolean,
    /** Addresses of reaped dead members (filled by the node's reaper). */
    private readonly reaped: ReapedAddresses,
  ) {}

  /** Schedules the first periodic exchanges, at random points so nodes started together spread out. */
  start(now: number): void {
    const { deadlines, profile, rng, table } = this.ctx;
    deadlines.set(TIMER.pushPull, now + pushPullIntervalMs(table.liveCount, profile) * (0.5 + rng.next()));
    deadlines.set(TIMER.reconnect, now + profile.reconnectIntervalMs * (0.5 + rng.next()));
  }

  join(seeds: readonly Address[], self: Address): void {
    this.seeds = seeds.filter((s) => !sameAddress(s, self)).slice(0, LIMITS.joinSeedsMax);
    this.seedRetry.add(this.seeds);
    this.joined = false;
    this.attempts = 0;
    this.sendJoin();
  }

  /** A reply from `source` at `from` to an exchange we started arrived and was merged: a pending join is complete. */
  onReply(from: Address, source: string): void {
    this.seedRetry.answered(from, source);
    if (!this.joined && this.seeds.length > 0) {
      this.joined = true;
      this.ctx.deadlines.clear(TIMER.joinRetry);
    }
  }

  onJoinRetry(): void {
    if (!this.joined) this.sendJoin();
  }

  onPushPullTick(): void {
    const ctx = this.ctx;
    ctx.deadlines.set(TIMER.pushPull, ctx.now + pushPullIntervalMs(ctx.table.liveCount, ctx.profile));
    this.exchangeWithAlive();
  }

  onReconnectTick(): void {
    const ctx = this.ctx;
    ctx.deadlines.set(TIMER.reconnect, ctx.now + ctx.profile.reconnectIntervalMs * (0.5 + ctx.rng.next()));
    if (this.leaving()) return;
    // Built only when needed: a pass over the whole table.
    let live: Set<string> | null = null;
    const liveAddresses = (): ReadonlySet<string> => {
      if (live === null) {
        live = new Set<string>();
        for (const r of ctx.table.values()) if (r !== ctx.selfRecord && isLive(r.status)) live.add(addressKey(r));
      }
      return live;
    };
    const peer = this.reconnectPeer(liveAddresses);
    const targets = peer === undefined ? [] : [peer];
    // During the join the join retry contacts the seeds.
    if (this.joined) {
      for (const seed of this.seedRetry.due(ctx.now, ctx.table, liveAddresses, ctx.profile)) {
        if (peer === undefined || !sameAddress(seed, peer)) targets.push(seed);
      }
    }
    if (targets.length === 0) return;
    const bytes = this.stateBytes(false);
    for (const to of targets) ctx.out.push({ kind: 'push-pull', to, bytes, join: false });
  }

  /**
   * A random dead member, or the address of a random reaped one that is not back (nobody live at
   * it, its name not in the table). Half the ticks go to each kind when there are both: a
   * cluster with steady churn always has some dead member, and that must not keep a side cut off
   * longer than the reap time from ever being tried.
   */
  private reconnectPeer(liveAddresses: () => ReadonlySet<string>): Address | undefined {
    const { table, rng } = this.ctx;
    const [dead] = table.sample(1, (r) => r.status === 'dead');
    const reaped = this.reaped.size === 0 ? [] :
      this.reaped.candidates((name, a) => table.get(name) === undefined && !liveAddresses().has(addressKey(a)));
    if (reaped.length > 0 && (dead === undefined || rng.next() < 0.5)) return reaped[rng.int(reaped.length)];
    return dead === undefined ? undefined : { host: dead.host, port: dead.port };
  }

  /** On leave: no more exchanges start. */
  stop(): void {
    this.ctx.deadlines.clear(TIMER.pushPull);
    this.ctx.deadlines.clear(TIMER.joinRetry);
    this.ctx.deadlines.clear(TIMER.reconnect);
  }

  /** A push-pull with one random alive member, if there is one. */
  private exchangeWithAlive(): void {
    if (this.leaving()) return;
    const [peer] = this.ctx.table.sample(1, (r) => r.status === 'alive');
    if (peer === undefined) return;
    this.ctx.out.push({ kind: 'push-pull', to: { host: peer.host, port: peer.port }, bytes: this.stateBytes(false), join: false });
  }

  private sendJoin(): void {
    if (this.seeds.length === 0 || this.leaving()) return;
    const ctx = this.ctx;
    const bytes = this.stateBytes(true);
    for (const seed of this.seeds) ctx.out.push({ kind: 'push-pull', to: seed, bytes, join: true });
    const backoff = Math.min(JOIN_RETRY_MAX_MS, ctx.profile.joinRetryMs * 2 ** Math.min(this.attempts, 10));
    this.attempts++;
    ctx.deadlines.set(TIMER.joinRetry, ctx.now + backoff);
  }
}
