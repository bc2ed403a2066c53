import type { Address } from './address.js';
import { BroadcastQueue, MEMBER_KEY_PREFIX } from './broadcast-queue.js';
import { compoundOverhead, encodeCompound } from './codec.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberSampler } from './member-table.js';
import type { Effect } from './effects.js';
import type { Profile } from './profiles.js';
import { type TimerSet, TIMERS } from './timers.js';

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
}

/**
 * How updates spread. Three paths, fastest first:
 * - first-receipt forwarding: a fresh update is sent at once (batched over a few ms) to
 *   ceil(ln n) + extra random members, so the cluster hears of it within a few hops;
 * - piggybacking: every probe, ack and other datagram is filled up with queued updates;
 * - periodic gossip while the queue is not empty.
 * The queue sends each update λ·ceil(log10(n+1)) times, which repairs the e^−F tail of the fast path.
 */
export class Dissemination {
  private readonly queue = new BroadcastQueue();
  /** Updates learned since the last forward batch, by queue key. */
  private readonly forwardPending = new Map<string, Uint8Array>();

  constructor(private readonly ctx: DisseminationContext) {}

  get pending(): number {
    return this.queue.size;
  }

  /** Queues an update; `expiresAt` drops it unsent once it is stale news. */
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
  }

  /** Fanout for fresh updates: grows like ln(n) so that e^−F of the cluster stays well under one node. */
  private forwardFanout(): number {
    return Math.ceil(Math.log(Math.max(2, this.ctx.table.liveCount))) + this.ctx.profile.forwardFanoutExtra;
  }

  /** Sends the updates learned since the last batch to a few random members at once. */
  flushForward(): void {
    const { ctx } = this;
    ctx.deadlines.clear(TIMERS.forward);
    if (this.forwardPending.size === 0) return;
    // Membership first: what does not fit in this batch waits for the queue, and a death must not
    // wait behind a burst of catalog updates.
    const parts: Uint8Array[] = [];
    for (const [key, part] of this.forwardPending) if (key.startsWith(MEMBER_KEY_PREFIX)) parts.push(part);
    for (const [key, part] of this.forwardPending) if (!key.startsWith(MEMBER_KEY_PREFIX)) parts.push(part);
    this.forwardPending.clear();
    const packets: Uint8Array[] = [];
    let batch: Uint8Array[] = [];
    let size = compoundOverhead(LIMITS.compoundPartsMax);
    for (const part of parts) {
      if (batch.length > 0 && (size + part.length > ctx.packetBytes || batch.length >= LIMITS.compoundPartsMax)) {
        packets.push(encodeCompound(batch));
        batch = [];
        size = compoundOverhead(LIMITS.compoundPartsMax);
        if (packets.length >= LIMITS.forwardPacketsMax) break;
      }
      batch.push(part);
      size += part.length;
    }
    if (batch.length > 0 && packets.length < LIMITS.forwardPacketsMax) packets.push(encodeCompound(batch));
    const targets = ctx.table.sample(this.forwardFanout(), (r) => isLive(r.status));
    for (const t of targets) for (const bytes of packets) ctx.out.push({ kind: 'send', to: { host: t.host, port: t.port }, bytes });
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
