import { LIMITS } from './limits.js';

/**
 * The transmit-limited dissemination queue. Each update is keyed by what it is about (one member,
 * later one catalog entry); a newer update about the same subject replaces the older one. Every
 * update is handed out until it has been sent `limit` times; the least-sent go first, so a fresh
 * update overtakes ones that have already spread.
 */
export interface Broadcast {
  readonly key: string;
  readonly part: Uint8Array;
  transmits: number;
  readonly id: number;
  /** After this time the update is stale news and is dropped unsent. */
  readonly expiresAt: number;
}

export class BroadcastQueue {
  /** Buckets by transmit count; within a bucket, insertion order (oldest first). */
  private buckets: Map<string, Broadcast>[] = [];
  private readonly byKey = new Map<string, Broadcast>();
  private nextId = 1;

  constructor(private readonly maxEntries: number = LIMITS.broadcastQueueMax) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Broadcast | undefined {
    return this.byKey.get(key);
  }

  enqueue(key: string, part: Uint8Array, expiresAt = Number.POSITIVE_INFINITY): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.bucket(old.transmits).delete(key);
    const b: Broadcast = { key, part, transmits: 0, id: this.nextId++, expiresAt };
    this.byKey.set(key, b);
    this.bucket(0).set(key, b);
    if (this.byKey.size > this.maxEntries) this.evictOne();
  }

  remove(key: string): void {
    const b = this.byKey.get(key);
    if (b === undefined) return;
    this.byKey.delete(key);
    this.bucket(b.transmits).delete(key);
  }

  /**
   * Picks updates whose encoded parts fit in `budget` bytes, counting `perPartOverhead` bytes for
   * each, least-sent first, and counts one transmission for each. Updates that reach `limit`
   * transmissions leave the queue.
   */
  take(now: number, budget: number, perPartOverhead: number, limit: number, maxParts: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let remaining = budget;
    const picked: Broadcast[] = [];
    const expired: Broadcast[] = [];
    let skipped = 0;
    outer: for (let t = 0; t < this.buckets.length; t++) {
      const bucket = this.buckets[t];
      if (bucket === undefined || bucket.size === 0) continue;
      for (const b of bucket.values()) {
        if (b.expiresAt <= now) {
          expired.push(b);
          continue;
        }
        if (out.length >= maxParts || remaining < perPartOverhead + 8) break outer;
        const cost = b.part.length + perPartOverhead;
        if (cost > remaining) {
          // Bounded scan: a queue full of large parts must not make every packet O(queue).
          if (++skipped > 32) break outer;
          continue;
        }
        out.push(b.part);
        picked.push(b);
        remaining -= cost;
      }
    }
    for (const b of expired) this.remove(b.key);
    for (const b of picked) {
      this.bucket(b.transmits).delete(b.key);
      b.transmits++;
      if (b.transmits >= limit) this.byKey.delete(b.key);
      else this.bucket(b.transmits).set(b.key, b);
    }
    return out;
  }

  private bucket(t: number): Map<string, Broadcast> {
    let b = this.buckets[t];
    if (b === undefined) {
      for (let i = this.buckets.length; i <= t; i++) this.buckets[i] = new Map();
      b = this.buckets[t] as Map<string, Broadcast>;
    }
    return b;
  }

  /** Drops the most-sent, oldest update: it has had the most chances to spread already. */
  private evictOne(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const bucket = this.buckets[t];
      if (bucket === undefined || bucket.size === 0) continue;
      const first = bucket.keys().next();
      if (!first.done) {
        bucket.delete(first.value);
        this.byKey.delete(first.value);
        return;
      }
    }
  }
}
