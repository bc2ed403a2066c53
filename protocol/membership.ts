import type { Address } from './address.js';
import { MEMBER_KEY_PREFIX } from './broadcast-queue.js';
import { encodePart } from './codec.js';
import type { Dissemination } from './dissemination.js';
import { LIMITS } from './limits.js';
import { LAST_CHANCE_OFFSETS } from './profiles.js';
import type { ClaimVerdict } from './name-claims.js';
import { isLive, type MemberRecord, viewOf } from './member-table.js';
import type { AliveMsg, DeadMsg, LeaveMsg, MemberState, MemberStatus, SuspectMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { memberStates } from './member-state.js';
import { isNewer, isSameOrNewer, newest, serialDistance, serialNext } from './serial.js';
import { Suspicion, suspicionTimeouts } from './suspicion.js';

/** What membership uses of its node's shared state. */
export type MembershipContext = Readonly<Pick<NodeContext, 'awareness' | 'deadlines' | 'name' | 'now' | 'out' | 'profile' | 'selfRecord' | 'stats' | 'table'>>;

export interface MembershipHooks {
  /** A member's status changed (the catalog adjusts the views of its service instances). */
  onStatusChange(name: string, previous: MemberStatus | undefined, next: MemberStatus): void;
  /** Probe a suspect directly, carrying the suspicion. */
  probeWithSuspicion(r: MemberRecord): void;
  /** True when `name` answered one of our probes at or after `since`. */
  heardFrom(name: string, since: number): boolean;
  /** How long a direct ping of `name` waits for its ack (fixed, or from measured round trips). */
  probeTimeoutFor(name: string): number;
  /** An alive claim of our own name at another address: is it a previous life of ours? */
  claimElsewhere(other: Address, incarnation: number, phase: 'join' | 'running'): ClaimVerdict;
  /** A dead or left member was imported from a peer's state, backdated. */
  imported(r: MemberRecord): void;
}

/**
 * Membership state under SWIM's precedence rules: alive, suspect, dead and left updates, Lifeguard's
 * suspicion timers, refutation of accusations against this node, and merging of a peer's state.
 */
export class Membership {
  /** Set once this node announced its leave: it no longer refutes anything. */
  leaving = false;
  private readonly suspicions = new Map<string, Suspicion>();
  /** While merging a peer's state: the peer, so that a refutation also goes straight back to it. */
  private refuteNotify: Address | null = null;
  /** While merging a peer's state: whether this node knew no other live member before it. */
  private aloneBeforeMerge: boolean | null = null;
  /** While merging a peer's state: the peer's name (its own record there is never stale news). */
  private mergeSource: string | null = null;

  constructor(private readonly ctx: MembershipContext, private readonly diss: Dissemination, private readonly hooks: MembershipHooks) {}

  private get name(): string {
    return this.ctx.name;
  }

  private get now(): number {
    return this.ctx.now;
  }

  private get table(): NodeContext['table'] {
    return this.ctx.table;
  }

  private get selfRecord(): MemberRecord {
    return this.ctx.selfRecord;
  }

  private get profile(): NodeContext['profile'] {
    return this.ctx.profile;
  }

  applyAlive(msg: AliveMsg): void {
    if (msg.name === this.name) {
      this.applyClaimOfSelf(msg);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined) {
      if (this.table.size >= LIMITS.membersMax) {
        this.ctx.out.push({ kind: 'rejected', reason: 'limit', detail: 'member table full' });
        return;
      }
      const rec: MemberRecord = {
        name: this.table.intern(msg.name), host: this.table.intern(msg.host), port: msg.port, incarnation: msg.incarnation, status: 'alive', changedAt: this.now,
      };
      this.table.add(rec);
      this.emit(rec, null);
      this.enqueue(msg, true);
      return;
    }
    if (isLive(r.status) && (msg.host !== r.host || msg.port !== r.port)) {
      // Two processes with one name (cloned hosts): keep the live address, as memberlist does, until
      // that member is dead or left. Taking each claim in turn would flip the address back and forth.
      if (r.status === 'alive' && (isSameOrNewer(msg.incarnation, r.incarnation) || msg.name === this.mergeSource)) {
        this.ctx.out.push({
          kind: 'conflict',
          conflict: { name: r.name, held: { host: r.host, port: r.port }, other: { host: msg.host, port: msg.port }, about: 'member', phase: 'running', stepAside: false },
        });
      }
      return;
    }
    // Not bounded: an alive is the owner's word (or a copy of it), and the owner's answer to a
    // forged claim must be taken however far the claim had pushed the number.
    if (!isNewer(msg.incarnation, r.incarnation)) return;
    const previous = r.status;
    r.host = this.table.intern(msg.host);
    r.port = msg.port;
    this.table.setStatus(r, 'alive', msg.incarnation, this.now);
    this.dropSuspicion(r.name);
    this.emit(r, previous);
    this.enqueue(msg, previous === 'dead' || previous === 'left');
  }

  /**
   * Only we raise our incarnation. A claim of us at our address with a higher incarnation is a
   * previous life whose state we lost: refute it. A claim at another address may be a previous
   * life on an old address or another live process with our name; NameClaims tells them apart.
   */
  private applyClaimOfSelf(msg: AliveMsg): void {
    if (this.leaving) return;
    const s = this.selfRecord;
    if (msg.host === s.host && msg.port === s.port) {
      if (isNewer(msg.incarnation, s.incarnation)) this.refute(msg.incarnation, true);
      return;
    }
    const alone = this.aloneBeforeMerge ?? this.table.liveCount <= 1;
    const verdict = this.hooks.claimElsewhere({ host: msg.host, port: msg.port }, msg.incarnation, alone ? 'join' : 'running');
    if (verdict === 'previous-life') this.refuteClaim(msg.incarnation);
  }

  /** A claim of us at an address found silent: refuted as any stale copy of us. */
  refuteClaim(incarnation: number | null): void {
    if (incarnation !== null && !this.leaving && isSameOrNewer(incarnation, this.selfRecord.incarnation)) this.refute(incarnation, true);
  }

  applySuspect(msg: SuspectMsg): void {
    if (msg.name === this.name) {
      if (this.leaving) return;
      if (isSameOrNewer(msg.incarnation, this.selfRecord.incarnation)) this.refute(msg.incarnation, false, msg.from);
      else this.answerStaleAccusation(msg.from);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined || !isSameOrNewer(msg.incarnation, r.incarnation) || this.implausible(r, msg)) return;
    if ((r.status === 'dead' || r.status === 'left') && !isNewer(msg.incarnation, r.incarnation)) return;
    if (r.status === 'suspect' && msg.incarnation === r.incarnation) {
      const s = this.suspicions.get(r.name);
      if (s !== undefined && s.confirm(msg.from)) {
        this.scheduleSuspicion(r.name, s);
        // Others count confirmations too; pass this one on through the queue (not the fast path).
        this.enqueue(msg, false);
        // Our own confirmation goes straight to the first accuser too: it has held the suspicion
        // longest, so its timeout is the first that can run out, once it has heard enough of them.
        if (msg.from === this.name) this.sendToAccuser(s.accuser, msg);
      }
      return;
    }
    const previous = r.status;
    this.table.setStatus(r, 'suspect', msg.incarnation, this.now);
    this.ctx.stats.suspicionsRaised++;
    const n = this.table.liveCount;
    const expected = Math.max(0, Math.min(this.profile.indirectChecks, n - 2));
    const timeouts = suspicionTimeouts(n, this.profile.probeIntervalMs, this.profile.suspicionMult, this.profile.suspicionMaxMult);
    const s = new Suspicion(this.now, msg.incarnation, msg.from, expected, timeouts);
    this.suspicions.set(r.name, s);
    this.scheduleSuspicion(r.name, s);
    this.emit(r, previous);
    this.enqueue(msg, false);
    // Our own accusation goes straight to the accused too, so it can refute within a round trip.
    if (msg.from === this.name) this.sendParts(r, [encodePart(msg)]);
  }

  applyDead(msg: DeadMsg): void {
    if (msg.name === this.name) {
      if (this.leaving) return;
      if (isSameOrNewer(msg.incarnation, this.selfRecord.incarnation)) this.refute(msg.incarnation, true);
      else this.answerStaleAccusation(msg.from);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined || !isSameOrNewer(msg.incarnation, r.incarnation) || this.implausible(r, msg)) return;
    if ((r.status === 'dead' || r.status === 'left') && !isNewer(msg.incarnation, r.incarnation)) return;
    const previous = r.status;
    this.table.setStatus(r, 'dead', msg.incarnation, this.now);
    this.dropSuspicion(r.name);
    this.emit(r, previous);
    this.enqueue(msg, true);
  }

  applyLeave(msg: LeaveMsg): void {
    if (msg.name === this.name) {
      // A leave from a previous life of ours: we are here, so say so.
      if (!this.leaving && isSameOrNewer(msg.incarnation, this.selfRecord.incarnation)) this.refute(msg.incarnation, true);
      return;
    }
    // Not bounded, like alive: a leave is the owner's own word, and the owner outbids a forged one.
    const r = this.table.get(msg.name);
    if (r === undefined || !isSameOrNewer(msg.incarnation, r.incarnation)) return;
    if (r.status === 'left' && !isNewer(msg.incarnation, r.incarnation)) return;
    const previous = r.status;
    this.table.setStatus(r, 'left', msg.incarnation, this.now);
    this.dropSuspicion(r.name);
    this.emit(r, previous);
    this.enqueue(msg, true);
  }

  /**
   * Raises our incarnation above an accusation. A suspicion is answered through the queue and
   * straight to the accuser; only a death (or a stale leave) takes the fast path, because only then
   * have others stopped routing to us.
   */
  private refute(accused: number, forward: boolean, accuser?: string): void {
    const s = this.selfRecord;
    s.incarnation = serialNext(newest(s.incarnation, accused));
    this.ctx.stats.suspicionsRefuted++;
    // Being accused is a hint that we may be the slow one (Lifeguard).
    this.ctx.awareness.apply(1);
    this.emit(s, s.status);
    const alive = this.aliveOf(s);
    this.enqueue(alive, forward);
    // Across a healing partition the peer that told us is the one side that surely needs to know.
    if (this.refuteNotify !== null) this.sendParts(this.refuteNotify, [encodePart(alive)]);
    const a = accuser === undefined || accuser === this.name ? undefined : this.table.get(accuser);
    if (a !== undefined && isLive(a.status)) this.sendParts(a, [encodePart(alive)]);
  }

  /**
   * An accusation about another member far newer than anything it could have said: no honest
   * member holds it (each takes one step per refutation), so it is forged or corrupt. Taking it
   * would not hurt the accused, which outbids any number, but it would let a stranger push a
   * member's number around the 32-bit circle; refused and counted instead.
   */
  private implausible(r: MemberRecord, msg: SuspectMsg | DeadMsg): boolean {
    const ahead = serialDistance(r.incarnation, msg.incarnation);
    if (!isNewer(msg.incarnation, r.incarnation) || ahead <= LIMITS.incarnationJumpMax) return false;
    this.ctx.out.push({
      kind: 'rejected', reason: 'implausible_incarnation',
      detail: `${msg.type} about ${msg.name} at incarnation ${msg.incarnation}, ${ahead} ahead of the ${r.incarnation} held`,
    });
    return true;
  }

  /**
   * An accuser still holds an incarnation we already refuted: our refutation missed it (lost, or
   * its queue expired before reaching it). Tell it directly; it costs one packet per accusation.
   */
  private answerStaleAccusation(accuser: string): void {
    const a = accuser === this.name ? undefined : this.table.get(accuser);
    if (a !== undefined && isLive(a.status)) this.sendParts(a, [encodePart(this.aliveOf(this.selfRecord))]);
  }

  dropSuspicion(name: string): void {
    if (this.suspicions.delete(name)) {
      this.ctx.deadlines.clear({ kind: 'suspicion', member: name });
      this.ctx.deadlines.clear({ kind: 'last-chance', member: name });
    }
  }

  /**
   * Merges a peer's member list. A peer's `dead` becomes our `suspect`, so a partition that heals
   * gives the accused a chance to refute instead of being killed by stale news.
   */
  mergeFrom(source: string, members: readonly MemberState[]): void {
    const peer = this.table.get(source);
    this.refuteNotify = peer === undefined || peer === this.selfRecord ? null : { host: peer.host, port: peer.port };
    this.aloneBeforeMerge = this.table.liveCount <= 1;
    this.mergeSource = source;
    try {
      this.mergeMembers(source, members);
    } finally {
      this.refuteNotify = null;
      this.aloneBeforeMerge = null;
      this.mergeSource = null;
    }
  }

  private mergeMembers(source: string, members: readonly MemberState[]): void {
    for (const m of members) {
      switch (m.status) {
        case 'alive':
          this.applyAlive({ type: 'alive', name: m.name, host: m.host, port: m.port, incarnation: m.incarnation });
          break;
        case 'suspect':
          if (this.table.get(m.name) === undefined && m.name !== this.name) break;
          this.applySuspect({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: source });
          break;
        case 'dead':
          if (this.table.get(m.name) === undefined && m.name !== this.name) this.importFormer(m, 'dead');
          else this.applySuspect({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: source });
          break;
        case 'left':
          if (this.table.get(m.name) === undefined && m.name !== this.name) this.importFormer(m, 'left');
          else this.applyLeave({ type: 'leave', name: m.name, incarnation: m.incarnation });
          break;
      }
    }
  }

  /**
   * A dead or left member we never knew (it went before we joined). Its record is kept so that its
   * service entries, which arrive with the same state, are reaped together with it; it is backdated
   * by the age the peer reports, so that the record expires here when it expires everywhere,
   * rather than every exchange restarting its reap clock and passing it around for ever. It is not
   * news: nothing is spread.
   */
  private importFormer(m: MemberState, status: 'dead' | 'left'): void {
    // An older agent sends no age: count from now (older agents never import, so this cannot cycle).
    const age = Math.max(0, m.ageMs ?? 0);
    if (age >= this.profile.reapAfterMs) return; // reaped everywhere about now
    if (this.table.size >= LIMITS.membersMax) {
      this.ctx.out.push({ kind: 'rejected', reason: 'limit', detail: 'member table full' });
      return;
    }
    const rec: MemberRecord = {
      name: this.table.intern(m.name), host: this.table.intern(m.host), port: m.port, incarnation: m.incarnation, status, changedAt: this.now - age,
    };
    this.table.add(rec);
    this.emit(rec, null);
    this.hooks.imported(rec);
  }

  /** This node's member list as a push-pull state carries it. */
  fullState(): MemberState[] {
    return memberStates(this.table.values(), this.selfRecord, this.now, this.profile.reapAfterMs);
  }

  // ---- Suspicion timers ---------------------------------------------------------------------

  private scheduleSuspicion(name: string, s: Suspicion): void {
    this.ctx.deadlines.set({ kind: 'suspicion', member: name }, s.deadline());
    this.scheduleLastChance(name, s);
  }

  /**
   * Before a suspicion expires, probe the suspect directly, carrying the suspicion (the buddy
   * system). Gossip leaves about e^−fanout of the cluster without a refutation; these few probes
   * come only from the nodes still suspecting near the end, which are exactly those it missed.
   */
  private scheduleLastChance(name: string, s: Suspicion): void {
    const deadline = s.deadline();
    const timeoutMs = this.hooks.probeTimeoutFor(name);
    for (const k of LAST_CHANCE_OFFSETS) {
      const at = deadline - k * timeoutMs;
      if (at > this.now && at > s.startedAt) {
        this.ctx.deadlines.set({ kind: 'last-chance', member: name }, at);
        return;
      }
    }
    this.ctx.deadlines.clear({ kind: 'last-chance', member: name });
  }

  onLastChance(name: string): void {
    const r = this.table.get(name);
    const s = this.suspicions.get(name);
    if (r === undefined || s === undefined || r.status !== 'suspect') return;
    this.hooks.probeWithSuspicion(r);
    this.scheduleLastChance(name, s);
  }

  onSuspicionTimeout(name: string): void {
    const r = this.table.get(name);
    const s = this.suspicions.get(name);
    this.suspicions.delete(name);
    if (r === undefined || s === undefined || r.status !== 'suspect' || r.incarnation !== s.incarnation) return;
    if (s.postponements < LIMITS.suspicionPostponementsMax && this.hooks.heardFrom(name, s.startedAt)) {
      s.postponements++;
      s.postponedUntil = this.now + this.profile.probeIntervalMs;
      this.suspicions.set(name, s);
      this.ctx.deadlines.set({ kind: 'suspicion', member: name }, s.postponedUntil);
      this.hooks.probeWithSuspicion(r);
      return;
    }
    this.ctx.stats.declaredDead++;
    this.applyDead({ type: 'dead', name, incarnation: r.incarnation, from: this.name });
  }

  /**
   * Spreads an update about a member. Accusations are news only for as long as a suspicion can
   * last: one still queued after that (its sender was cut off, with nobody live to send it to) must
   * not reach the cluster after the network heals and kill a member that never heard of it.
   */
  enqueue(msg: AliveMsg | SuspectMsg | DeadMsg | LeaveMsg, forward: boolean): void {
    let expiresAt: number | undefined;
    if (msg.type === 'suspect' || msg.type === 'dead') {
      const t = suspicionTimeouts(this.table.liveCount, this.profile.probeIntervalMs, this.profile.suspicionMult, this.profile.suspicionMaxMult);
      expiresAt = this.now + t.maxMs;
    }
    this.diss.disseminate(MEMBER_KEY_PREFIX + msg.name, encodePart(msg), forward, expiresAt);
  }

  private sendToAccuser(accuser: string, msg: SuspectMsg): void {
    const a = accuser === this.name ? undefined : this.table.get(accuser);
    if (a !== undefined && isLive(a.status)) this.sendParts(a, [encodePart(msg)]);
  }

  private sendParts(to: Address, parts: Uint8Array[]): void {
    this.diss.send(to, parts);
  }

  aliveOf(r: MemberRecord): AliveMsg {
    return { type: 'alive', name: r.name, host: r.host, port: r.port, incarnation: r.incarnation };
  }

  emit(r: MemberRecord, previous: MemberStatus | null): void {
    this.ctx.out.push({ kind: 'event', event: { type: 'member', member: viewOf(r), previous } });
    if (previous !== r.status) this.hooks.onStatusChange(r.name, previous ?? undefined, r.status);
  }
}
