/**
 * Eager push of fresh catalog updates along a tree over the relay ring (ring.ts), in the manner of
 * Plumtree's eager push (Leitão et al., "Epidemic Broadcast Trees") but with no tree to build or
 * repair: every node derives the same tree from the member list SWIM already gives it. The origin
 * of an update splits the whole ring; a relay splits the arc it was handed. Each member is sent a
 * fresh update once. What the tree misses (a relay that died unnoticed, a lost datagram, a member
 * that joined meanwhile) the lazy path repairs: the queue repeats a digest, and a member that lacks
 * the entry asks for it (service-gossip.ts), as Plumtree's IHAVE/GRAFT do.
 *
 * Where the relays are: the nearest measured member of each chunk (proximity.ts). The upper levels
 * of the tree thus stay near the origin and only the last hop crosses a long link, so a change
 * reaches a far region in about the one-way latency from the origin's region to it, plus a few
 * near hops. A chunk's relay is drawn afresh for every batch among the members about as near as
 * the nearest, so no one member is a fixed point whose loss strands its arc each time.
 */
import { compoundOverhead, encodeCompound, encodePart } from './codec.js';
import { LIMITS } from './limits.js';
import type { DisseminationContext } from './dissemination.js';
import { isLive, type MemberRecord } from './member-table.js';
import { PROXIMITY_NEAR_SLACK_MS } from './profiles.js';
import { arcKey, type RelayArc, ringPosition, splitArc } from './ring.js';

/** One send the tree asks for. */
export interface TreeSend {
  readonly to: MemberRecord;
  readonly bytes: Uint8Array;
}

/** Fresh catalog updates waiting for the forward batch, grouped by the arc they go over. */
export class UpdateTree {
  private readonly pending = new Map<string, { readonly arc: RelayArc; readonly parts: Map<string, Uint8Array> }>();

  constructor(private readonly ctx: Readonly<Pick<DisseminationContext, 'table' | 'rng' | 'proximity' | 'packetBytes'>>) {}

  get size(): number {
    return this.pending.size;
  }

  add(key: string, part: Uint8Array, arc: RelayArc): void {
    const k = arcKey(arc);
    let group = this.pending.get(k);
    if (group === undefined) {
      group = { arc, parts: new Map() };
      this.pending.set(k, group);
    }
    group.parts.set(key, part);
  }

  /** A newer update about the same subject supersedes one still waiting. */
  remove(key: string): void {
    for (const [k, group] of this.pending) {
      group.parts.delete(key);
      if (group.parts.size === 0) this.pending.delete(k);
    }
  }

  /** The sends of this batch: each waiting arc split among its live members. */
  flush(): TreeSend[] {
    const out: TreeSend[] = [];
    for (const { arc, parts } of this.pending.values()) {
      const members = this.ctx.table.inArc(arc, (r) => isLive(r.status));
      const self = this.ctx.table.selfPosition();
      for (const step of splitArc(arc, members, (m) => ringPosition(m.name), (chunk) => this.chooseRelay(chunk), self)) {
        const head = step.arc === null ? null : encodePart({ type: 'relay', lo: step.arc.lo, hi: step.arc.hi });
        for (const bytes of pack(head, [...parts.values()], this.ctx.packetBytes)) out.push({ to: step.to, bytes });
      }
    }
    this.pending.clear();
    return out;
  }

  /**
   * The relay of one chunk, nearest first: a near member of the chunk; else a near member from
   * outside it (a relay need not lie in its arc; it is then sent the update twice, as relay and
   * as member); else the nearest measured member of the chunk; else a random one. Alive members
   * before suspects; each drawn at random among its kind, afresh for every batch.
   */
  private chooseRelay(chunk: readonly MemberRecord[]): MemberRecord {
    const { proximity, rng, table } = this.ctx;
    const alive = chunk.filter((r) => r.status === 'alive');
    const pool = alive.length > 0 ? alive : chunk;
    if (proximity === undefined) return pool[rng.int(pool.length)] as MemberRecord;
    const limit = proximity.nearThresholdMs();
    let best = Number.POSITIVE_INFINITY;
    const measured: { r: MemberRecord; rtt: number }[] = [];
    for (const r of pool) {
      const rtt = proximity.rttOf(r.name);
      if (rtt === undefined) continue;
      measured.push({ r, rtt });
      if (rtt < best) best = rtt;
    }
    const inside = measured.filter((m) => m.rtt <= limit);
    if (inside.length > 0) return (inside[rng.int(inside.length)] as { r: MemberRecord }).r;
    const [outside] = proximity.sampleNear(1, (name) => table.get(name)?.status === 'alive');
    if (outside !== undefined) return table.get(outside) as MemberRecord;
    if (measured.length === 0) return pool[rng.int(pool.length)] as MemberRecord;
    const nearest = measured.filter((m) => m.rtt <= best + PROXIMITY_NEAR_SLACK_MS);
    return (nearest[rng.int(nearest.length)] as { r: MemberRecord }).r;
  }
}

/**
 * Packs `parts` into at most LIMITS.forwardPacketsMax compound packets, each led by `head` (the
 * relay arc) when there is one; what does not fit waits for the queue's lazy path.
 */
export function pack(head: Uint8Array | null, parts: readonly Uint8Array[], packetBytes: number): Uint8Array[] {
  const packets: Uint8Array[] = [];
  const start = (): { batch: Uint8Array[]; size: number } => {
    const batch = head === null ? [] : [head];
    return { batch, size: compoundOverhead(LIMITS.compoundPartsMax) + (head === null ? 0 : head.length) };
  };
  let cur = start();
  const first = head === null ? 0 : 1;
  for (const part of parts) {
    if (cur.batch.length > first && (cur.size + part.length > packetBytes || cur.batch.length >= LIMITS.compoundPartsMax)) {
      packets.push(encodeCompound(cur.batch));
      if (packets.length >= LIMITS.forwardPacketsMax) return packets;
      cur = start();
    }
    cur.batch.push(part);
    cur.size += part.length;
  }
  if (cur.batch.length > first && packets.length < LIMITS.forwardPacketsMax) packets.push(encodeCompound(cur.batch));
  return packets;
}
