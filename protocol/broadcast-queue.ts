import { LIMITS } from './limits.js';

/** One queued update. */
export interface Broadcast {
  readonly key: string;
  readonly part: Uint8Array;
  transmits: number;
  /** After this time the update is stale news and is dropped unsent. */
  readonly expiresAt: number;
}

/** Queue keys of membership updates start with this (then the member's name). */
export const MEMBER_KEY_PREFIX = 'm:';

/** A queued update, linked into its bucket. */
interface Queued extends Broadcast {
  prev: Queued | null;
  next: Queued | null;
}

/**
 * Updates sent equally often, in the order they entered (oldest first): a linked list, so that
 * moving an update to the next bucket on every transmission costs no hashing.
 */
class Bucket {
  head: Queued | null = null;
  tail: Queued | null = null;
  size = 0;

  append(b: Queued): void {
    b.prev = this.tail;
    b.next = null;
    if (this.tail === null) this.head = b;
    else this.tail.next = b;
    this.tail = b;
    this.size++;
  }

  unlink(b: Queued): void {
    if (b.prev === null) this.head = b.next;
    else b.prev.next = b.next;
    if (b.next === null) this.tail = b.prev;
    else b.next.prev = b.prev;
    b.prev = null;
    b.next = null;
    this.size--;
  }
}

/** One lane: buckets by transmit count. */
class Lane {
  readonly buckets: Bucket[] = [];
  size = 0;

  bucket(t: number): Bucket {
    let b = this.buckets[t];
    if (b === undefined) {
      for (let i = this.buckets.length; i <= t; i++) this.buckets[i] = new Bucket();
      b = this.buckets[t] as Bucket;
    }
    return b;
  }
}

/** What one take has gathered so far. */
interface Pick {
  readonly now: number;
  readonly maxParts: number;
  remaining: number;
  readonly picked: Set<Queued>;
  readonly expired: Set<Queued>;
  /** Parts the packet carries already (sent explicitly): a queued copy is counted, not repeated. */
  readonly carried: readonly Uint8Array[];
  readonly alreadyCarried: Set<Queued>;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The transmit-limited dissemination queue. Each update is keyed by what it is about (one member,
 * one catalog entry); a newer update about the same subject replaces the older one. Every update is
 * handed out until it has been sent `limit` times; the least-sent go first, so a fresh update
 * overtakes ones that have already spread.
 *
 * Membership updates (keys starting with MEMBER_KEY_PREFIX) have a lane of their own that is served
 * first: a burst of thousands of catalog updates must not hold a death back behind it. So that the
 * catalog is never starved for good, membership takes at most LIMITS.queueMemberShare of a packet while
 * catalog updates wait, and when catalog updates waited yet none fitted in a packet, the next packet
 * serves them first.
 */
export class BroadcastQueue {
  private readonly members = new Lane();
  private readonly catalog = new Lane();
  private readonly byKey = new Map<string, Queued>();
  /** Set when catalog updates waited but none fitted in the last packet: the next one serves them first. */
  private catalogFirst = false;

  constructor(private readonly maxEntries: number = LIMITS.broadcastQueueMax) {}

  get size(): number {
    return this.byKey.size;
  }

  enqueue(key: string, part: Uint8Array, expiresAt = Number.POSITIVE_INFINITY): void {
    this.remove(key);
    const b: Queued = { key, part, transmits: 0, expiresAt, prev: null, next: null };
    this.byKey.set(key, b);
    const lane = this.laneOf(key);
    lane.bucket(0).append(b);
    lane.size++;
    if (this.byKey.size > this.maxEntries) this.evictOne();
  }

  remove(key: string): void {
    const b = this.byKey.get(key);
    if (b === undefined) return;
    this.byKey.delete(key);
    const lane = this.laneOf(key);
    lane.bucket(b.transmits).unlink(b);
    lane.size--;
  }

  /**
   * Picks updates whose encoded parts fit in `budget` bytes, membership first, least-sent first within a lane, and counts one transmission for each.
   * Updates that reach `limit` transmissions leave the queue.
   */
  take(now: number, budget: number, limit: number, maxParts: number, carried: readonly Uint8Array[] = []): Uint8Array[] {
    const p: Pick = { now, maxParts, remaining: budget, picked: new Set(), expired: new Set(), carried, alreadyCarried: new Set() };
    const catalogWaiting = this.catalog.size > 0;
    if (this.catalogFirst) {
      this.scan(this.catalog, p, 0);
      this.scan(this.members, p, 0);
    } else {
      // Membership first, leaving the rest of the packet to the catalog while it has updates waiting.
      this.scan(this.members, p, catalogWaiting ? budget * (1 - LIMITS.queueMemberShare) : 0);
      if (catalogWaiting) {
        this.scan(this.catalog, p, 0);
        this.scan(this.members, p, 0);
      }
    }
    let catalogPicked = false;
    for (const b of p.picked) if (!b.key.startsWith(MEMBER_KEY_PREFIX)) catalogPicked = true;
    // Only when membership crowded the catalog out; a packet with no room at all says nothing.
    this.catalogFirst = catalogWaiting && !catalogPicked && p.picked.size > 0;
    for (const b of p.expired) this.remove(b.key);
    const out: Uint8Array[] = [];
    for (const b of p.picked) out.push(b.part);
    for (const b of p.picked) this.countSent(b, limit);
    // A queued update that the packet carries already goes out in it too: it counts as sent.
    for (const b of p.alreadyCarried) this.countSent(b, limit);
    return out;
  }

  /**
   * `key` was just sent `sends` times outside the queue (the forward on first receipt): those count
   * towards its `limit`, but at least `keep` queued sends are left to repair what they missed.
   */
  credit(key: string, sends: number, limit: number, keep: number): void {
    const b = this.byKey.get(key);
    if (b === undefined) return;
    const to = Math.max(b.transmits, Math.min(b.transmits + sends, limit - keep));
    if (to === b.transmits) return;
    const lane = this.laneOf(key);
    lane.bucket(b.transmits).unlink(b);
    b.transmits = to;
    lane.bucket(to).append(b);
  }

  private countSent(b: Queued, limit: number): void {
    const lane = this.laneOf(b.key);
    lane.bucket(b.transmits).unlink(b);
    b.transmits++;
    if (b.transmits >= limit) {
      this.byKey.delete(b.key);
      lane.size--;
    } else lane.bucket(b.transmits).append(b);
  }

  /** Adds the least-sent updates of `lane` that fit, keeping `reserve` bytes of the budget unused. */
  private scan(lane: Lane, p: Pick, reserve: number): void {
    let skipped = 0;
    for (const bucket of lane.buckets) {
      if (bucket === undefined || bucket.size === 0) continue;
      for (let b = bucket.head; b !== null; b = b.next) {
        if (p.picked.has(b) || p.alreadyCarried.has(b)) continue;
        if (b.expiresAt <= p.now) {
          p.expired.add(b);
          continue;
        }
        if (p.carried.length > 0 && p.carried.some((c) => sameBytes(c, b.part))) {
          p.alreadyCarried.add(b);
          continue;
        }
        if (p.picked.size >= p.maxParts || p.remaining - reserve < LIMITS.queuePartBytesMin) return;
        const cost = b.part.length;
        if (cost > p.remaining - reserve) {
          // Bounded scan: a queue full of large parts must not make every packet O(queue).
          if (++skipped > LIMITS.queueScanSkipsMax) return;
          continue;
        }
        p.picked.add(b);
        p.remaining -= cost;
      }
    }
  }

  private laneOf(key: string): Lane {
    return key.startsWith(MEMBER_KEY_PREFIX) ? this.members : this.catalog;
  }

  /**
   * Drops the most-sent, oldest update: it has had the most chances to spread already. Catalog
   * updates go first; push-pull repairs them, and membership is what failure detection rides on.
   */
  private evictOne(): void {
    for (const lane of [this.catalog, this.members]) {
      for (let t = lane.buckets.length - 1; t >= 0; t--) {
        const bucket = lane.buckets[t];
        const first = bucket?.head ?? null;
        if (first !== null && bucket !== undefined) {
          bucket.unlink(first);
          this.byKey.delete(first.key);
          lane.size--;
          return;
        }
      }
    }
  }
}
