import type { Address } from './address.js';
import { BroadcastQueue, MEMBER_KEY_PREFIX } from './broadcast-queue.js';
import { compoundOverhead, encodeCompound } from './codec.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberSampler } from './member-table.js';
import type { Effect } from './effects.js';
import type { Profile } from './profiles.js';
import type { ProximityView } from './proximity.js';
import { arcAround, type RelayArc } from './ring.js';
import type { Rng } from './rng.js';
import { type TimerSet, TIMERS } from './timers.js';
import { pack, UpdateTree } from './update-tree.js';

/**
 * The part of an update's λ·ceil(log10(n+1)) transmissions always left to the queue after a
 * forward on first receipt: the forward goes out at once, the queue's copies over the next gossip
 * rounds, which repairs what a burst of loss took from the forward.
 */
const QUEUE_SHARE_AFTER_FORWARD = 1 / 3;

/** What dissemination needs from its node (the node's NodeContext is one). */
export interface DisseminationContext {
  /** Time of the current input. */
  readonly now: number;
  /** Effects of the current input; sends are appended. */
  readonly out: Effect[];
  readonly profile: Profile;
  readonly packetBytes: number;
  readonly table: MemberSampler;
  readonly deadlines: TimerSet;
  readonly rng: Rng;
  /** Measured round trips; without them relays and gossip targets are drawn at random. */
  readonly proximity?: ProximityView | undefined;
}

/**
 * How a catalog update is spread: from its origin down the whole update tree; received inside a
 * packet that named an arc, down that arc; otherwise (a repair, a piggybacked copy, a push-pull)
 * only by the queue.
 */
export type CatalogSpread = 'origin' | 'received' | 'queue';

/**
 * How updates spread. Three paths, fastest first:
 * - eager push, batched over a few ms: a fresh membership update goes on first receipt to
 *   ceil(ln n) + extra random members; a fresh catalog update goes down the update tree
 *   (update-tree.ts), which sends it to every member once, near relays first;
 * - piggybacking: every probe, ack and other datagram is filled up with queued updates;
 * - periodic gossip while the queue is not empty.
 * The queue sends each update λ·ceil(log10(n+1)) times, which repairs what the fast path missed.
 * For catalog entries it sends a digest (type have) instead of the entry: a member that lacks the
 * entry asks the sender for it (type want), so a member the tree reached is not sent it again.
 */
export class Dissemination {
  private readonly queue = new BroadcastQueue();
  /** Updates learned since the last forward batch, by queue key: membership and splits, and catalog updates without the update tree. */
  private readonly forwardPending = new Map<string, Uint8Array>();
  private readonly tree: UpdateTree;
  /**
   * While a datagram is being handled: the arc it asked us to relay over (null: none). Undefined
   * outside a datagram.
   */
  private incoming: RelayArc | null | undefined = undefined;

  constructor(private readonly ctx: DisseminationContext) {
    this.tree = new UpdateTree(ctx);
  }

  /** A datagram's parts are about to be handled; `arc` is the relay arc it named, if any. */
  beginPacket(arc: RelayArc | null): void {
    this.incoming = arc;
  }

  endPacket(): void {
    this.incoming = undefined;
  }

  /**
   * Queues a catalog update: `digest` is what the queue repeats; `entry` goes down the tree now
   * when `spread` says so (see CatalogSpread).
   */
  spreadCatalog(key: string, entry: Uint8Array, digest: Uint8Array, spread: CatalogSpread): void {
    const { ctx } = this;
    // Without the update tree: flooded on first receipt, and the queue repeats the whole entry.
    if (!ctx.profile.updateTree) return this.disseminate(key, entry, spread !== 'queue');
    this.queue.enqueue(key, digest);
    if (!ctx.deadlines.has(TIMERS.gossip)) ctx.deadlines.set(TIMERS.gossip, ctx.now + ctx.profile.gossipIntervalMs);
    this.tree.remove(key);
    const arc = spread === 'origin' ? arcAround(ctx.table.selfPosition()) : spread === 'received' ? this.incoming : null;
    if (arc === null || arc === undefined) return;
    this.tree.add(key, entry, arc);
    if (!ctx.deadlines.has(TIMERS.forward)) ctx.deadlines.set(TIMERS.forward, ctx.now + ctx.profile.forwardBatchMs);
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Relays an update already held (its queue entry untouched) over the arc the current datagram named. */
  relayHeld(key: string, entry: Uint8Array): void {
    // Without the update tree an arc is not honoured: a copy we already hold was spread when it came.
    if (!this.ctx.profile.updateTree) return;
    const arc = this.incoming;
    if (arc === null || arc === undefined) return;
    this.tree.add(key, entry, arc);
    if (!this.ctx.deadlines.has(TIMERS.forward)) this.ctx.deadlines.set(TIMERS.forward, this.ctx.now + this.ctx.profile.forwardBatchMs);
  }

  /** Queues an update (membership, split; catalog without the update tree); `expiresAt` drops it unsent once it is stale news. */
  disseminate(key: string, part: Uint8Array, forward: boolean, expiresAt?: number): void {
    const { ctx } = this;
    this.queue.enqueue(key, part, expiresAt);
    if (!ctx.deadlines.has(TIMERS.gossip)) ctx.deadlines.set(TIMERS.gossip, ctx.now + ctx.profile.gossipIntervalMs);
    if (forward) {
      this.forwardPending.set(key, part);
      if (!ctx.deadlines.has(TIMERS.forward)) ctx.deadlines.set(TIMERS.forward, ctx.now + ctx.profile.forwardBatchMs);
    } else {
      // A newer update about the same subject supersedes one still waiting for the forward batch.
      this.forwardPending.delete(key);
    }
  }

  forget(key: string): void {
    this.queue.remove(key);
    this.forwardPending.delete(key);
    this.tree.remove(key);
  }

  /** Fanout for fresh updates: grows like ln(n) so that e^−F of the cluster stays well under one node. */
  private forwardFanout(): number {
    return Math.ceil(Math.log(Math.max(2, this.ctx.table.liveCount))) + this.ctx.profile.forwardFanoutExtra;
  }

  /**
   * Sends the membership updates learned since the last batch to a few random members, and the
   * catalog updates down their tree. Membership first: a death must not wait behind a burst of
   * catalog updates.
   */
  flushForward(): void {
    const { ctx } = this;
    ctx.deadlines.clear(TIMERS.forward);
    if (this.forwardPending.size > 0) {
      // Membership first (catalog entries are here only without the update tree): what does not
      // fit in this batch waits for the queue, and a death must not wait behind catalog updates.
      const parts: Uint8Array[] = [];
      for (const [key, part] of this.forwardPending) if (key.startsWith(MEMBER_KEY_PREFIX)) parts.push(part);
      for (const [key, part] of this.forwardPending) if (!key.startsWith(MEMBER_KEY_PREFIX)) parts.push(part);
      const packets = pack(null, parts, ctx.packetBytes);
      const targets = ctx.table.sample(this.forwardFanout(), (r) => isLive(r.status));
      for (const t of targets) for (const bytes of packets) ctx.out.push({ kind: 'send', to: { host: t.host, port: t.port }, bytes });
      // The forward's sends are transmissions of each update like the queue's own: an update goes
      // out max(limit, fanout + the queue's share) times from each node, not fanout + limit.
      const limit = this.retransmitLimit();
      const keep = Math.ceil(limit * QUEUE_SHARE_AFTER_FORWARD);
      for (const key of this.forwardPending.keys()) this.queue.credit(key, targets.length, limit, keep);
      this.forwardPending.clear();
    }
    if (this.tree.size > 0) {
      for (const { to, bytes } of this.tree.flush()) ctx.out.push({ kind: 'send', to: { host: to.host, port: to.port }, bytes });
    }
  }

  onGossipTick(): void {
    const { ctx } = this;
    if (this.queue.size === 0) return;
    const targets = ctx.table.sample(ctx.profile.gossipFanout, (r) => isLive(r.status));
    for (const t of targets) {
      const parts = this.queue.take(ctx.now, ctx.packetBytes - compoundOverhead(LIMITS.compoundPartsMax), this.retransmitLimit(), LIMITS.compoundPartsMax);
      if (parts.length === 0) break;
      ctx.out.push({ kind: 'send', to: { host: t.host, port: t.port }, bytes: encodeCompound(parts) });
    }
    if (this.queue.size > 0) ctx.deadlines.set(TIMERS.gossip, ctx.now + ctx.profile.gossipIntervalMs);
  }

  private retransmitLimit(): number {
    return this.ctx.profile.retransmitMult * Math.ceil(Math.log10(this.ctx.table.liveCount + 1));
  }

  /** Sends `parts` to `to` in one compound packet, filling the rest of it with queued updates. */
  send(to: Address, parts: Uint8Array[]): void {
    const { ctx } = this;
    let used = compoundOverhead(LIMITS.compoundPartsMax);
    for (const p of parts) used += p.length;
    const extra = this.queue.take(ctx.now, ctx.packetBytes - used, this.retransmitLimit(), LIMITS.compoundPartsMax - parts.length, parts);
    ctx.out.push({ kind: 'send', to: { host: to.host, port: to.port }, bytes: encodeCompound(extra.length > 0 ? parts.concat(extra) : parts) });
  }
}
