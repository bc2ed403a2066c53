import { type Address, sameAddress } from './address.js';
import { encodePart } from './codec.js';
import type { Dissemination } from './dissemination.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberRecord } from './member-table.js';
import type { AckMsg, PingMsg, PingReqMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { TIMERS } from './timers.js';
import { RELAY_NACK_SHARE, relayBudgetDefaultMs } from './profiles.js';
import { RttTable } from './rtt.js';

/** What probing uses of its node's shared state. */
export type ProberContext = Readonly<Pick<NodeContext, 'awareness' | 'deadlines' | 'name' | 'nextSeq' | 'now' | 'out' | 'profile' | 'selfRecord' | 'stats' | 'table' | 'uptimeMs'>>;

interface ActiveProbe {
  readonly seq: number;
  readonly target: string;
  readonly startedAt: number;
  expectedNacks: number;
  nacks: number;
  /**
   * The resent direct ping, under its own sequence number: an ack then says which send it answers,
   * and, coming from the target's own address, that it took no relay (Karn's ambiguity removed,
   * as TCP's timestamps do). Null before the resend.
   */
  resend: { readonly seq: number; readonly at: number } | null;
  /** The direct timeout has been handled: relays were asked (or there were none to ask). */
  timedOut: boolean;
  /** Adaptive: no verdict before this (the direct timeout, then the relays' windows). */
  verdictAt: number;
  /** When an ack to the resent direct ping is due at the latest. */
  resendAckBy: number;
}

interface Relay {
  readonly requester: Address;
  readonly requesterSeq: number;
  /** True while a nack is still owed: the requester asked for one and it has not been sent. */
  nackDue: boolean;
  /** End of the requester's window: an ack forwarded later would arrive after its verdict. */
  readonly expiresAt: number;
  /** The relayed ping went out once, then: its ack is a round-trip sample to the target. */
  readonly target: string;
  readonly sentAt: number;
}

interface SuspicionProbe {
  readonly target: string;
  readonly sentAt: number;
}

/**
 * The probe cycle: one member per (awareness-scaled) probe interval in shuffled round-robin order;
 * a direct ping, then indirect pings through k members after the probe timeout; a verdict at the
 * end of the interval. Also the other side: answering pings and relaying indirect ones, with a nack
 * when the target stays silent (Lifeguard).
 *
 * With adaptive timeouts (the profile's `rto`), each wait comes from measured round trips instead
 * of the profile's fixed probe timeout: the direct ping waits the target's RTO; a relay r is given
 * RTO(r) + RTO(target) for its own ping of the target — its round trip to the target is unknown
 * here, but by the triangle inequality of network paths it is at most RTT(r) + RTT(target) — and
 * the verdict waits for the slowest relay's answer, RTO(r) + its window, pushing the next probe
 * back when that is later than the probe interval. Once every relay has nacked, the target stayed
 * silent on every path: the verdict comes at once. Lifeguard's local-health multiplier scales
 * every wait.
 */
export class Prober {
  private probe: ActiveProbe | null = null;
  private readonly relays = new Map<number, Relay>();
  /** Probes that carry a suspicion, by sequence number. */
  private readonly suspicionProbes = new Map<number, SuspicionProbe>();
  /** When each member last answered one of our direct probes. */
  private readonly lastAnswer = new Map<string, number>();
  /** Measured round trips; null with fixed timeouts. */
  private readonly rtt: RttTable | null;

  constructor(
    private readonly ctx: ProberContext,
    private readonly diss: Dissemination,
    /** Called when a probe of a live member failed: the node raises the suspicion. */
    private readonly onFailed: (target: MemberRecord) => void,
    /**
     * Called with the round trip of each direct probe answered (dissemination's proximity). The two
     * measure the same round trips for now; proximity.ts could read the RttTable's estimates instead.
     */
    private readonly onRoundTrip: (name: string, ms: number) => void = () => undefined,
  ) {
    this.rtt = ctx.profile.rto === null ? null : new RttTable(ctx.profile.rto, LIMITS.membersMax);
  }

  /** How long a direct ping of `name` waits for its ack, before the local-health multiplier. */
  probeTimeoutFor(name: string): number {
    return this.rtt === null ? this.ctx.profile.probeTimeoutMs : this.rtt.rto(name);
  }

  /**
   * The timeout with Lifeguard's local-health multiplier. Adaptive, the multiplier stretches it up
   * to the upper bound and no further: a doubting node with far members would otherwise wait tens
   * of seconds for one verdict, and judge a member on a network it saw that long ago.
   */
  private scaledTimeoutFor(name: string): number {
    const scaled = this.ctx.awareness.scale(this.probeTimeoutFor(name));
    const rto = this.ctx.profile.rto;
    return rto === null ? scaled : Math.min(Math.max(rto.maxMs, this.probeTimeoutFor(name)), scaled);
  }

  /** The smoothed round trip to `name` (or to members at large, before it was measured); null: none yet. */
  srttOf(name: string): number | null {
    return this.rtt === null ? null : this.rtt.srtt(name);
  }

  stop(): void {
    this.probe = null;
    this.ctx.deadlines.clear(TIMERS.probe);
    this.ctx.deadlines.clear(TIMERS.probeTimeout);
    this.ctx.deadlines.clear(TIMERS.probeRetry);
  }

  onProbeTick(scheduledAt: number, leaving: boolean): void {
    const { ctx } = this;
    const late = ctx.now - scheduledAt > ctx.profile.probeIntervalMs;
    // A far member's answer may still be on its way: the probe's verdict, not the clock, ends it.
    // A direct timeout due at this very tick is handled first: without it the target would be
    // judged on the direct ping alone, with no relay asked.
    if (this.probe !== null && this.rtt !== null && !late && !this.probe.timedOut && ctx.now >= this.probe.verdictAt) {
      ctx.deadlines.clear(TIMERS.probeTimeout);
      this.onProbeTimeout();
    }
    if (this.probe !== null && this.rtt !== null && !late && ctx.now < this.probe.verdictAt) {
      ctx.deadlines.set(TIMERS.probe, this.probe.verdictAt);
      return;
    }
    if (this.probe !== null) this.finishFailedProbe(late);
    if (leaving) return;
    ctx.deadlines.set(TIMERS.probe, ctx.now + ctx.awareness.scale(ctx.profile.probeIntervalMs));
    const target = ctx.table.nextProbeTarget();
    if (target === null) return;
    const seq = ctx.nextSeq();
    const timeout = this.scaledTimeoutFor(target.name);
    const resendAt = ctx.now + this.retryAfter(target.name, timeout);
    this.probe = {
      seq, target: target.name, startedAt: ctx.now, expectedNacks: 0, nacks: 0, resend: null, timedOut: false,
      verdictAt: ctx.now + timeout, resendAckBy: resendAt + timeout,
    };
    ctx.stats.probesSent++;
    const parts = [encodePart(this.ping(seq, target.name))];
    // Buddy system: tell a suspect it is suspected so it can refute at once (first, so that its
    // refutation is queued before the ack and can ride on it).
    if (target.status === 'suspect') {
      parts.unshift(encodePart({ type: 'suspect', name: target.name, incarnation: target.incarnation, from: ctx.name }));
    }
    this.diss.send(target, parts);
    ctx.deadlines.set(TIMERS.probeTimeout, ctx.now + timeout);
    ctx.deadlines.set(TIMERS.probeRetry, resendAt);
  }

  /**
   * When the one resend of a direct ping goes out: halfway through a fixed timeout; with measured
   * round trips, halfway between the expected answer and the timeout — a resend at half an RTO
   * would often go out before a far member's ack could arrive, and spoil the sample (Karn).
   */
  private retryAfter(name: string, timeout: number): number {
    const srtt = this.srttOf(name);
    if (srtt === null) return timeout / 2;
    return Math.max(timeout / 2, (timeout + this.ctx.awareness.scale(srtt)) / 2);
  }

  /**
   * Halfway through the probe timeout without an ack, ping once more. On a lossy link this turns
   * most lost pings or acks into a late ack instead of a round of indirect probes and a suspicion;
   * on a healthy one the ack has long arrived and nothing is sent.
   */
  onProbeRetry(): void {
    const p = this.probe;
    if (p === null) return;
    const target = this.ctx.table.get(p.target);
    if (target === undefined || !isLive(target.status)) return;
    const seq = this.ctx.nextSeq();
    p.resend = { seq, at: this.ctx.now };
    this.diss.send(target, [encodePart(this.ping(seq, target.name))]);
  }

  onProbeTimeout(): void {
    const { ctx } = this;
    const p = this.probe;
    if (p === null || p.timedOut) return;
    p.timedOut = true;
    const target = ctx.table.get(p.target);
    if (target === undefined || !isLive(target.status)) {
      this.probe = null;
      return;
    }
    const helpers = this.pickRelays(p.target);
    p.expectedNacks = helpers.length;
    ctx.stats.indirectProbesSent += helpers.length;
    if (this.rtt !== null) {
      this.askRelaysAdaptive(p, target, helpers);
      return;
    }
    // The verdict comes at the next probe tick; the relays must answer (even with a nack) before it.
    const verdictAt = ctx.deadlines.at(TIMERS.probe) ?? ctx.now;
    const budgetMs = Math.min(LIMITS.probeBudgetMsMax, Math.max(0, Math.floor(verdictAt - ctx.now)));
    const req: PingReqMsg = {
      type: 'ping-req', seq: p.seq, target: target.name, targetHost: target.host, targetPort: target.port,
      source: ctx.name, sourceHost: ctx.selfRecord.host, sourcePort: ctx.selfRecord.port, wantNack: true, budgetMs,
    };
    const part = encodePart(req);
    for (const h of helpers) this.diss.send(h, [part]);
  }

  /**
   * The members asked to probe indirectly: k at random; adaptive, the k nearest (by measured round
   * trip) of 2k at random — still chosen at random, so no member is everyone's relay, but a near
   * relay's answer (or nack) comes back sooner, and so does the verdict.
   */
  private pickRelays(target: string): MemberRecord[] {
    const { ctx } = this;
    const k = ctx.profile.indirectChecks;
    const alive = (r: MemberRecord): boolean => r.status === 'alive';
    if (this.rtt === null) return ctx.table.sample(k, alive, target);
    const rtt = this.rtt;
    return ctx.table.sample(2 * k, alive, target)
      .map((r) => ({ r, rto: rtt.rto(r.name) }))
      .sort((a, b) => a.rto - b.rto)
      .slice(0, k)
      .map((x) => x.r);
  }

  /** Each relay gets a window for its own ping of the target; the verdict waits for the slowest. */
  private askRelaysAdaptive(p: ActiveProbe, target: MemberRecord, helpers: readonly MemberRecord[]): void {
    const { ctx } = this;
    const targetMs = this.scaledTimeoutFor(target.name);
    let waitMs = 0;
    for (const h of helpers) {
      const relayMs = this.scaledTimeoutFor(h.name);
      const budgetMs = Math.min(LIMITS.probeBudgetMsMax, Math.ceil(relayMs + targetMs));
      waitMs = Math.max(waitMs, relayMs + budgetMs);
      this.diss.send(h, [encodePart({
        type: 'ping-req', seq: p.seq, target: target.name, targetHost: target.host, targetPort: target.port,
        source: ctx.name, sourceHost: ctx.selfRecord.host, sourcePort: ctx.selfRecord.port, wantNack: true, budgetMs,
      })]);
    }
    p.verdictAt = ctx.now + Math.ceil(waitMs);
  }

  private finishFailedProbe(late: boolean): void {
    const { ctx } = this;
    const p = this.probe as ActiveProbe;
    this.probe = null;
    ctx.deadlines.clear(TIMERS.probeTimeout);
    ctx.deadlines.clear(TIMERS.probeRetry);
    if (late) {
      // We were not running when the answer was due (paused, overloaded): no verdict on the target.
      ctx.stats.probesInconclusive++;
      ctx.awareness.apply(1);
      return;
    }
    // Lifeguard: missing nacks mean our own links or process are unhealthy.
    if (p.expectedNacks > 0) {
      if (p.nacks < p.expectedNacks) ctx.awareness.apply(p.expectedNacks - p.nacks);
    } else {
      ctx.awareness.apply(1);
    }
    ctx.stats.probesFailed++;
    const target = ctx.table.get(p.target);
    if (target !== undefined && isLive(target.status)) this.onFailed(target);
  }

  onPing(from: Address, msg: PingMsg): void {
    if (msg.target !== this.ctx.name) {
      this.ctx.out.push({ kind: 'rejected', reason: 'not_for_us', detail: `ping for ${msg.target}` });
      return;
    }
    // A ping from a process with our own name checks its claim to the name: tell it how long we
    // have run, so that the newer of the two steps aside.
    const ack: AckMsg = msg.source === this.ctx.name ? { type: 'ack', seq: msg.seq, uptimeMs: this.ctx.uptimeMs() } : { type: 'ack', seq: msg.seq };
    this.diss.send(from, [encodePart(ack)]);
  }

  onPingReq(from: Address, msg: PingReqMsg): void {
    const { ctx } = this;
    if (this.relays.size >= LIMITS.pendingProbesMax) {
      ctx.out.push({ kind: 'rejected', reason: 'limit', detail: 'too many relayed probes' });
      return;
    }
    const seq = ctx.nextSeq();
    const budget = msg.budgetMs ?? relayBudgetDefaultMs(ctx.profile);
    const expiresAt = ctx.now + budget;
    this.relays.set(seq, { requester: from, requesterSeq: msg.seq, nackDue: msg.wantNack, expiresAt, target: msg.target, sentAt: ctx.now });
    this.diss.send({ host: msg.targetHost, port: msg.targetPort }, [encodePart(this.ping(seq, msg.target))]);
    // The nack must reach the requester before its verdict, or it counts against the requester's
    // own health as if this relay had never answered. Adaptive: once our own timeout for the target
    // has passed, if that comes first — the requester's window allows for its own round trips too.
    let nackAt = ctx.now + budget * RELAY_NACK_SHARE;
    if (this.rtt !== null) nackAt = Math.min(nackAt, ctx.now + this.scaledTimeoutFor(msg.target));
    ctx.deadlines.set({ kind: 'relay', seq }, msg.wantNack ? nackAt : expiresAt);
  }

  onAck(seq: number, from: Address): void {
    const { ctx } = this;
    const p = this.probe;
    const suspect = this.suspicionProbes.get(seq);
    if (suspect !== undefined) {
      this.suspicionProbes.delete(seq);
      this.noteAnswer(suspect.target);
      this.rtt?.sample(suspect.target, ctx.now - suspect.sentAt);
      return;
    }
    if (p !== null && (p.seq === seq || p.resend?.seq === seq)) {
      this.noteAnswer(p.target);
      // A relay forwards its ack under our first sequence number, from its own address.
      const sentAt = p.seq === seq ? p.startedAt : p.resend?.at;
      const target = ctx.table.get(p.target);
      if (sentAt !== undefined && target !== undefined && sameAddress(target, from)) {
        this.rtt?.sample(p.target, ctx.now - sentAt);
      }
      this.onRoundTrip(p.target, ctx.now - p.startedAt);
      ctx.stats.probeRttSumMs += ctx.now - p.startedAt;
      ctx.stats.probeRttCount++;
      ctx.awareness.apply(-1);
      this.probe = null;
      ctx.deadlines.clear(TIMERS.probeTimeout);
      ctx.deadlines.clear(TIMERS.probeRetry);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      this.relays.delete(seq);
      this.rtt?.sample(relay.target, ctx.now - relay.sentAt);
      ctx.deadlines.clear({ kind: 'relay', seq });
      this.diss.send(relay.requester, [encodePart({ type: 'ack', seq: relay.requesterSeq })]);
    }
    // Any other ack is late or duplicated: harmless, not counted as hostile.
  }

  onNack(seq: number): void {
    const p = this.probe;
    if (p === null || p.seq !== seq) return;
    p.nacks++;
    // Adaptive: every relay reports the target silent, after its window on top of ours — on every
    // path we tried, it is: no need to wait out the relays' windows. The resent direct ping still
    // gets its own timeout to be answered in.
    if (this.rtt === null || p.nacks < p.expectedNacks) return;
    const { ctx } = this;
    // Past the planned verdict the nacks are no news: we ran late ourselves (paused, overloaded),
    // and the probe tick judges that case.
    if (ctx.now > p.verdictAt) return;
    if (ctx.now < p.resendAckBy) {
      p.verdictAt = Math.min(p.verdictAt, p.resendAckBy);
      if (p.verdictAt < (ctx.deadlines.at(TIMERS.probe) ?? Number.POSITIVE_INFINITY)) ctx.deadlines.set(TIMERS.probe, p.verdictAt);
      return;
    }
    this.finishFailedProbe(false);
    const next = Math.max(ctx.now, p.startedAt + ctx.awareness.scale(ctx.profile.probeIntervalMs));
    if (next < (ctx.deadlines.at(TIMERS.probe) ?? Number.POSITIVE_INFINITY)) ctx.deadlines.set(TIMERS.probe, next);
  }

  /** First the nack (when one is owed), then, at the end of the window, the relay is forgotten. */
  onRelayTimeout(seq: number): void {
    const relay = this.relays.get(seq);
    if (relay === undefined) return;
    if (relay.nackDue) {
      relay.nackDue = false;
      this.diss.send(relay.requester, [encodePart({ type: 'nack', seq: relay.requesterSeq })]);
      // A late ack can still beat the verdict: keep forwarding until the window closes.
      if (relay.expiresAt > this.ctx.now) {
        this.ctx.deadlines.set({ kind: 'relay', seq }, relay.expiresAt);
        return;
      }
    }
    this.relays.delete(seq);
  }

  /**
   * A direct probe that carries a suspicion (used before a suspicion expires). The suspicion goes
   * first in the packet, so the suspect's refutation can ride on its ack.
   */
  probeWithSuspicion(r: MemberRecord): void {
    const { ctx } = this;
    const seq = ctx.nextSeq();
    // Bounded: the oldest entries are those whose answers would long have arrived.
    if (this.suspicionProbes.size >= LIMITS.pendingProbesMax) {
      const oldest = this.suspicionProbes.keys().next();
      if (!oldest.done) this.suspicionProbes.delete(oldest.value);
    }
    this.suspicionProbes.set(seq, { target: r.name, sentAt: ctx.now });
    const buddy = encodePart({ type: 'suspect', name: r.name, incarnation: r.incarnation, from: ctx.name });
    this.diss.send(r, [buddy, encodePart(this.ping(seq, r.name))]);
  }

  /** True when `name` answered one of our direct probes at or after `since`. */
  heardFrom(name: string, since: number): boolean {
    const t = this.lastAnswer.get(name);
    return t !== undefined && t >= since;
  }

  /** A member was reaped. */
  forget(name: string): void {
    this.lastAnswer.delete(name);
    this.rtt?.forget(name);
  }

  private noteAnswer(name: string): void {
    // Re-inserting keeps the map in answer order, so the bound drops the longest silent first.
    this.lastAnswer.delete(name);
    this.lastAnswer.set(name, this.ctx.now);
    if (this.lastAnswer.size > LIMITS.membersMax) {
      const oldest = this.lastAnswer.keys().next();
      if (!oldest.done) this.lastAnswer.delete(oldest.value);
    }
  }

  private ping(seq: number, target: string): PingMsg {
    const { ctx } = this;
    return { type: 'ping', seq, target, source: ctx.name, sourceHost: ctx.selfRecord.host, sourcePort: ctx.selfRecord.port };
  }
}
