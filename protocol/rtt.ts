/**
 * Round-trip estimates per member, as TCP computes its retransmission timeout (RFC 6298):
 *
 *   first sample R:  SRTT = R, RTTVAR = R / 2
 *   later samples:   RTTVAR = (1 − β) · RTTVAR + β · |SRTT − R|,  SRTT = (1 − α) · SRTT + α · R
 *   RTO = SRTT + 4 · RTTVAR, within [min, max]
 *
 * with α = 1/8 and β = 1/4. Samples come only from acks that say which send they answer and that
 * took no relay (Karn's ambiguity): a resent ping carries its own sequence number, so its ack is
 * timed from the resend and an ack to the first ping from the first send (as TCP's timestamps
 * allow), and an ack counts only from the member's own address, not forwarded by a relay. Karn's
 * plain rule (no sample once a ping was resent) would leave every member farther than half the
 * initial timeout unmeasured for good: each of its probes is resent before its ack can arrive.
 *
 * Two departures, because a node measures many paths where TCP measures one:
 * - A member's first sample starts its variance at the jitter seen on paths measured more than
 *   once (the same estimator fed with |SRTT − R| of repeat samples), not at R / 2, once there is
 *   any: R / 2 on a 400 ms path would make its timeout three round trips.
 * - A node probes each member once per round of the whole member list, so in a large cluster most
 *   members have no sample yet. Their timeout is 1.25 × the farthest smoothed round trip measured,
 *   and at least the initial timeout: an unmeasured member may be as far as the farthest one
 *   measured, or as far as any host on Earth. (A smoothed average over all members would not do:
 *   a few near samples in a row pull it below the far members' round trips, whose probes then fail
 *   before they can be measured. Nor would the largest measured timeout: a member measured once
 *   has 2 × R of variance in it.)
 *
 * Pure: the times are the core's `now`; the table is bounded (the member measured longest ago goes).
 */
import type { RtoBounds } from './profiles.js';

const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** An unmeasured member's timeout over the farthest smoothed round trip measured. */
const UNMEASURED_MARGIN = 1.25;

interface Estimate {
  srtt: number;
  rttvar: number;
}

export class RttTable {
  private readonly peers = new Map<string, Estimate>();
  /** Path jitter: RTTVAR's estimator over repeat samples of every member; null before the first. */
  private jitter: number | null = null;
  /** The largest smoothed round trip among measured members, and whose it is; null: to be recomputed. */
  private largest: { name: string; srtt: number } | null = null;

  constructor(private readonly bounds: RtoBounds, private readonly maxPeers: number) {}

  /** A round trip of `rttMs` to `name`, from a ping sent once and acked directly. */
  sample(name: string, rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    // A member that answers after longer than any timeout (it was paused, say) says nothing about
    // the path beyond that bound; unclamped, one such sample would stretch every unmeasured
    // member's timeout until the member is measured again, a whole probe round later.
    const r = Math.min(rttMs, this.bounds.maxMs);
    let e = this.peers.get(name);
    if (e === undefined) {
      e = { srtt: r, rttvar: this.jitter ?? r / 2 };
      if (this.peers.size >= this.maxPeers) {
        const oldest = this.peers.keys().next();
        if (!oldest.done) this.drop(oldest.value);
      }
    } else {
      const dev = Math.abs(e.srtt - r);
      this.jitter = this.jitter === null ? dev : (1 - BETA) * this.jitter + BETA * dev;
      e.rttvar = (1 - BETA) * e.rttvar + BETA * dev;
      e.srtt = (1 - ALPHA) * e.srtt + ALPHA * r;
      // Re-inserting keeps the map in sample order, so the bound drops the longest unmeasured first.
      this.peers.delete(name);
    }
    this.peers.set(name, e);
    if (this.largest !== null && e.srtt >= this.largest.srtt) this.largest = { name, srtt: e.srtt };
    else if (this.largest !== null && this.largest.name === name) this.largest = null;
  }

  /** Probe timeout for `name`, ms (before the local-health multiplier). */
  rto(name: string): number {
    const e = this.peers.get(name);
    if (e !== undefined) return this.rtoOf(e);
    if (this.peers.size === 0) return this.bounds.initialMs;
    return this.clamp(Math.max(this.bounds.initialMs, UNMEASURED_MARGIN * this.largestSrtt()));
  }

  /** The smoothed round trip to `name`, ms; null before it was measured. */
  srtt(name: string): number | null {
    return this.peers.get(name)?.srtt ?? null;
  }

  /** True when `name` itself has been measured. */
  measured(name: string): boolean {
    return this.peers.has(name);
  }

  /** A member was reaped. */
  forget(name: string): void {
    this.drop(name);
  }

  get size(): number {
    return this.peers.size;
  }

  private drop(name: string): void {
    if (this.peers.delete(name) && this.largest?.name === name) this.largest = null;
  }

  private largestSrtt(): number {
    if (this.largest === null) {
      let best = { name: '', srtt: 0 };
      for (const [name, e] of this.peers) if (e.srtt >= best.srtt) best = { name, srtt: e.srtt };
      this.largest = best;
    }
    return this.largest.srtt;
  }

  private rtoOf(e: Estimate): number {
    return this.clamp(e.srtt + K * e.rttvar);
  }

  private clamp(ms: number): number {
    return Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, ms));
  }
}
