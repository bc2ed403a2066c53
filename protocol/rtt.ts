/**
 * Round-trip estimates per member, as TCP computes its retransmission timeout (RFC 6298):
 *
 *   first sample R:  SRTT = R, RTTVAR = R / 2
 *   later samples:   RTTVAR = (1 − β) · RTTVAR + β · |SRTT − R|,  SRTT = (1 − α) · SRTT + α · R
 *   RTO = SRTT + 4 · RTTVAR, within [min, max]
 *
 * with α = 1/8 and β = 1/4. Samples come only from pings sent once and answered directly (Karn's
 * rule: an ack to a retried ping, or one relayed by another member, cannot say which send it
 * answers or which path it took).
 *
 * A node probes each member only once per round of the whole member list, so in a large cluster
 * most members have no sample yet. For them the node uses one more estimator of the same form fed
 * with every sample from every member: its SRTT follows the typical round trip and its RTTVAR the
 * spread between members near and far, so its RTO covers the far ones (a member farther than every
 * recent sample still answers before the probe's verdict, only after the indirect probes started).
 * A member's first sample starts its variance at the smaller of R / 2 and that node-wide
 * variance: RFC 6298 starts at R / 2 for want of anything better, and a node that has measured
 * other paths knows better (R / 2 on a 400 ms path would make its timeout three round trips).
 *
 * Pure: the times are the core's `now`; the table is bounded (the member silent longest goes first).
 */

import type { RtoBounds } from './profiles.js';

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

interface Estimate {
  srtt: number;
  rttvar: number;
}

export class RttTable {
  private readonly peers = new Map<string, Estimate>();
  private readonly any: Estimate = { srtt: 0, rttvar: 0 };
  private samples = 0;

  constructor(private readonly bounds: RtoBounds, private readonly maxPeers: number) {}

  /** A round trip of `rttMs` to `name`, from a ping sent once and acked directly. */
  sample(name: string, rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    const anyVar = this.samples === 0 ? rttMs / 2 : this.any.rttvar;
    update(this.any, rttMs, this.samples === 0);
    this.samples++;
    const e = this.peers.get(name);
    if (e === undefined) {
      this.peers.set(name, { srtt: rttMs, rttvar: Math.min(rttMs / 2, anyVar) });
      if (this.peers.size > this.maxPeers) {
        const oldest = this.peers.keys().next();
        if (!oldest.done) this.peers.delete(oldest.value);
      }
      return;
    }
    update(e, rttMs, false);
    // Re-inserting keeps the map in sample order, so the bound drops the longest unmeasured first.
    this.peers.delete(name);
    this.peers.set(name, e);
  }

  /** Probe timeout for `name`, ms (before the local-health multiplier). */
  rto(name: string): number {
    const e = this.peers.get(name) ?? (this.samples > 0 ? this.any : null);
    if (e === null) return this.bounds.initialMs;
    return this.clamp(e.srtt + K * e.rttvar);
  }

  /** The smoothed round trip to `name`, ms, or null before any sample (of it or, failing that, of anyone). */
  srtt(name: string): number | null {
    const e = this.peers.get(name) ?? (this.samples > 0 ? this.any : null);
    return e === null ? null : e.srtt;
  }

  /** True when `name` itself has been measured. */
  measured(name: string): boolean {
    return this.peers.has(name);
  }

  /** A member was reaped. */
  forget(name: string): void {
    this.peers.delete(name);
  }

  get size(): number {
    return this.peers.size;
  }

  private clamp(ms: number): number {
    return Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, ms));
  }
}

function update(e: Estimate, r: number, first: boolean): void {
  if (first) {
    e.srtt = r;
    e.rttvar = r / 2;
    return;
  }
  e.rttvar = (1 - BETA) * e.rttvar + BETA * Math.abs(e.srtt - r);
  e.srtt = (1 - ALPHA) * e.srtt + ALPHA * r;
}
