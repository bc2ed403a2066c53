/**
 * Round trips this node has measured to other members (its direct probes and their acks), smoothed
 * as TCP smooths its RTT (7/8 old + 1/8 new). Nothing is configured: which members are near is
 * read off the measurements, relative to the nearest one — on a LAN every member is near, in a
 * fleet over regions the members of this node's own region (and of any region about as close) are.
 *
 * Dissemination uses it to pick the relays of the update tree near this node, so that the tree's
 * upper levels stay close to the origin and only the last hop crosses a long link.
 */
import { LIMITS } from './limits.js';
import { PROXIMITY_NEAR_FACTOR, PROXIMITY_NEAR_SLACK_MS } from './profiles.js';
import type { Rng } from './rng.js';

/** What dissemination reads of the measurements. */
export interface ProximityView {
  /** Smoothed round trip to `name`, ms, or undefined when never measured. */
  rttOf(name: string): number | undefined;
  /** Up to k distinct near members passing `accept`, chosen uniformly among the near ones. */
  sampleNear(k: number, accept: (name: string) => boolean): string[];
  /** Round trips up to this count as near, ms. */
  nearThresholdMs(): number;
}

export class Proximity implements ProximityView {
  /** Smoothed round trip by member; insertion order is measurement order, for the bound. */
  private readonly srtt = new Map<string, number>();
  private near: string[] = [];
  private nearDirty = false;
  /** Lowest smoothed round trip held; the near threshold follows it. */
  private lowest = Number.POSITIVE_INFINITY;

  constructor(private readonly rng: Rng, private readonly max: number = LIMITS.proximityPeersMax) {}

  get size(): number {
    return this.srtt.size;
  }

  /** A round trip of `ms` to `name` was measured. */
  observe(name: string, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const old = this.srtt.get(name);
    const next = old === undefined ? ms : old + (ms - old) / 8;
    this.srtt.delete(name);
    this.srtt.set(name, next);
    if (this.srtt.size > this.max) {
      const oldest = this.srtt.keys().next();
      if (oldest.done !== true) this.srtt.delete(oldest.value);
    }
    // Rebuilt lazily: one measurement rarely moves the threshold, but it may move this member across it.
    this.nearDirty = true;
    if (next < this.lowest) this.lowest = next;
    else if (old === this.lowest && next > old) this.lowest = Number.NaN;
  }

  forget(name: string): void {
    if (this.srtt.delete(name)) {
      this.nearDirty = true;
      this.lowest = Number.NaN;
    }
  }

  rttOf(name: string): number | undefined {
    return this.srtt.get(name);
  }

  /** Round trips up to this count as near: a multiple of the nearest member's, plus slack for jitter. */
  nearThresholdMs(): number {
    if (Number.isNaN(this.lowest)) {
      this.lowest = Number.POSITIVE_INFINITY;
      for (const v of this.srtt.values()) if (v < this.lowest) this.lowest = v;
    }
    return this.lowest * PROXIMITY_NEAR_FACTOR + PROXIMITY_NEAR_SLACK_MS;
  }

  sampleNear(k: number, accept: (name: string) => boolean): string[] {
    if (this.nearDirty) {
      const limit = this.nearThresholdMs();
      this.near = [];
      for (const [name, v] of this.srtt) if (v <= limit) this.near.push(name);
      this.nearDirty = false;
    }
    return this.rng.sample(this.near, k, accept);
  }
}
