import type { Address } from './address.js';
import { encodePart } from './codec.js';
import type { Dissemination } from './dissemination.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberRecord } from './member-table.js';
import type { AckMsg, PingMsg, PingReqMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { TIMERS } from './timers.js';
import { RELAY_NACK_SHARE, relayBudgetDefaultMs } from './profiles.js';

/** What probing uses of its node's shared state. */
export type ProberContext = Readonly<Pick<NodeContext, 'awareness' | 'deadlines' | 'name' | 'nextSeq' | 'now' | 'out' | 'profile' | 'selfRecord' | 'stats' | 'table' | 'uptimeMs'>>;

interface ActiveProbe {
  readonly seq: number;
  readonly target: string;
  readonly startedAt: number;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly requester: Address;
  readonly requesterSeq: number;
  /** True while a nack is still owed: the requester asked for one and it has not been sent. */
  nackDue: boolean;
  /** End of the requester's window: an ack forwarded later would arrive after its verdict. */
  readonly expiresAt: number;
}

/**
 * The probe cycle: one member per (awareness-scaled) probe interval in shuffled round-robin order;
 * a direct ping, then indirect pings through k members after the probe timeout; a verdict at the
 * end of the interval. Also the other side: answering pings and relaying indirect ones, with a nack
 * when the target stays silent (Lifeguard).
 */
export class Prober {
  private probe: ActiveProbe | null = null;
  private readonly relays = new Map<number, Relay>();
  /** Sequence numbers of probes that carry a suspicion, by target. */
  private readonly suspicionProbes = new Map<number, string>();
  /** When each member last answered one of our direct probes. */
  private readonly lastAnswer = new Map<string, number>();

  constructor(
    private readonly ctx: ProberContext,
    private readonly diss: Dissemination,
    /** Called when a probe of a live member failed: the node raises the suspicion. */
    private readonly onFailed: (target: MemberRecord) => void,
    /** Called with the round trip of each direct probe answered (dissemination's proximity). */
    private readonly onRoundTrip: (name: string, ms: number) => void = () => undefined,
  ) {}

  stop(): void {
    this.probe = null;
    this.ctx.deadlines.clear(TIMERS.probe);
    this.ctx.deadlines.clear(TIMERS.probeTimeout);
    this.ctx.deadlines.clear(TIMERS.probeRetry);
  }

  onProbeTick(scheduledAt: number, leaving: boolean): void {
    const { ctx } = this;
    const late = ctx.now - scheduledAt > ctx.profile.probeIntervalMs;
    if (this.probe !== null) this.finishFailedProbe(late);
    if (leaving) return;
    ctx.deadlines.set(TIMERS.probe, ctx.now + ctx.awareness.scale(ctx.profile.probeIntervalMs));
    const target = ctx.table.nextProbeTarget();
    if (target === null) return;
    const seq = ctx.nextSeq();
    this.probe = { seq, target: target.name, startedAt: ctx.now, expectedNacks: 0, nacks: 0 };
    ctx.stats.probesSent++;
    const parts = [encodePart(this.ping(seq, target.name))];
    // Buddy system: tell a suspect it is suspected so it can refute at once (first, so that its
    // refutation is queued before the ack and can ride on it).
    if (target.status === 'suspect') {
      parts.unshift(encodePart({ type: 'suspect', name: target.name, incarnation: target.incarnation, from: ctx.name }));
    }
    this.diss.send(target, parts);
    const timeout = ctx.awareness.scale(ctx.profile.probeTimeoutMs);
    ctx.deadlines.set(TIMERS.probeTimeout, ctx.now + timeout);
    ctx.deadlines.set(TIMERS.probeRetry, ctx.now + timeout / 2);
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
    this.diss.send(target, [encodePart(this.ping(p.seq, target.name))]);
  }

  onProbeTimeout(): void {
    const { ctx } = this;
    const p = this.probe;
    if (p === null) return;
    const target = ctx.table.get(p.target);
    if (target === undefined || !isLive(target.status)) {
      this.probe = null;
      return;
    }
    const helpers = ctx.table.sample(ctx.profile.indirectChecks, (r) => r.status === 'alive', p.target);
    // The verdict comes at the next probe tick; the relays must answer (even with a nack) before it.
    const verdictAt = ctx.deadlines.at(TIMERS.probe) ?? ctx.now;
    const budgetMs = Math.min(LIMITS.probeBudgetMsMax, Math.max(0, Math.floor(verdictAt - ctx.now)));
    const req: PingReqMsg = {
      type: 'ping-req', seq: p.seq, target: target.name, targetHost: target.host, targetPort: target.port,
      source: ctx.name, sourceHost: ctx.selfRecord.host, sourcePort: ctx.selfRecord.port, wantNack: true, budgetMs,
    };
    const part = encodePart(req);
    for (const h of helpers) this.diss.send(h, [part]);
    p.expectedNacks = helpers.length;
    ctx.stats.indirectProbesSent += helpers.length;
  }

  private finishFailedProbe(late: boolean): void {
    const { ctx } = this;
    const p = this.probe as ActiveProbe;
    this.probe = null;
    ctx.deadlines.clear(TIMERS.probeTimeout);
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
    this.relays.set(seq, { requester: from, requesterSeq: msg.seq, nackDue: msg.wantNack, expiresAt });
    this.diss.send({ host: msg.targetHost, port: msg.targetPort }, [encodePart(this.ping(seq, msg.target))]);
    // The nack must reach the requester before its verdict, or it counts against the requester's
    // own health as if this relay had never answered.
    ctx.deadlines.set({ kind: 'relay', seq }, msg.wantNack ? ctx.now + budget * RELAY_NACK_SHARE : expiresAt);
  }

  onAck(seq: number): void {
    const { ctx } = this;
    const p = this.probe;
    const suspect = this.suspicionProbes.get(seq);
    if (suspect !== undefined) {
      this.suspicionProbes.delete(seq);
      this.noteAnswer(suspect);
      return;
    }
    if (p !== null && p.seq === seq) {
      this.noteAnswer(p.target);
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
      ctx.deadlines.clear({ kind: 'relay', seq });
      this.diss.send(relay.requester, [encodePart({ type: 'ack', seq: relay.requesterSeq })]);
    }
    // Any other ack is late or duplicated: harmless, not counted as hostile.
  }

  onNack(seq: number): void {
    if (this.probe !== null && this.probe.seq === seq) this.probe.nacks++;
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
    this.suspicionProbes.set(seq, r.name);
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
