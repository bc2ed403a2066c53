/**
 * What a node of the dissemination-only model has measured by probing, without storing a table per
 * node: each node has measured the round trip to MEASURED_PEERS members, as a node that has probed
 * for 200 probe intervals (60 s on lan) has — drawn pseudo-randomly from the pair of indices, so that
 * any node's measurements can be recomputed when it acts. The near ones among them are the measured
 * members of its own region (node i lives in region i mod the region count).
 */
import type { ProximityView } from '../../protocol/proximity.js';
import { PROXIMITY_NEAR_FACTOR, PROXIMITY_NEAR_SLACK_MS } from '../../protocol/profiles.js';

/** Members each node has measured the round trip to. */
export const MEASURED_PEERS = 200;

export class SampledProximity implements ProximityView {
  acting = 0;

  constructor(
    private readonly n: number,
    /** Round trips between regions, flattened row by row. */
    private readonly rttMs: Float64Array,
    private readonly regions: number,
  ) {}

  rttOf(name: string): number | undefined {
    const j = Number(name);
    const i = this.acting;
    const sameRegion = j % this.regions === i % this.regions;
    const measured = sameRegion ? this.nearOf(i).includes(j) : mix(i, j) < MEASURED_PEERS / this.n;
    return measured ? (this.rttMs[(i % this.regions) * this.regions + (j % this.regions)] as number) : undefined;
  }

  sampleNear(k: number, accept: (name: string) => boolean): string[] {
    const near = this.nearOf(this.acting).map(String).filter(accept);
    const out: string[] = [];
    let h = mix(this.acting, near.length + 7);
    while (out.length < k && near.length > 0) {
      const at = Math.floor(h * near.length);
      out.push(...near.splice(at, 1));
      h = mix(this.acting, Math.floor(h * 1e9));
    }
    return out;
  }

  nearThresholdMs(): number {
    const r = this.acting % this.regions;
    return (this.rttMs[r * this.regions + r] as number) * PROXIMITY_NEAR_FACTOR + PROXIMITY_NEAR_SLACK_MS;
  }

  /** The members of node i's own region it has measured: its share of MEASURED_PEERS. */
  private nearOf(i: number): number[] {
    const perRegion = Math.ceil(this.n / this.regions);
    const count = Math.min(perRegion - 1, Math.max(1, Math.round(MEASURED_PEERS / this.regions)));
    const out: number[] = [];
    for (let t = 0; t < count * 4 && out.length < count; t++) {
      const j = (i % this.regions) + this.regions * Math.floor(mix(i, t) * perRegion);
      if (j !== i && j < this.n && !out.includes(j)) out.push(j);
    }
    return out;
  }
}

/** A number in [0, 1) from two integers (a 32-bit integer hash). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}
