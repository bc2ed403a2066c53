import { type Address, sameAddress } from './address.js';
import { Awareness } from './awareness.js';
import { Barriers } from './barrier.js';
import type { ServiceSpec } from './catalog.js';
import type { CatalogHost } from './catalog-host.js';
import { decodePacket, decodePushPull, encodePart, encodePushPull } from './codec.js';
import { Dissemination } from './dissemination.js';
import type { Effect, MemberView, ServiceView } from './effects.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberRecord, MemberTable, viewOf } from './member-table.js';
import type {
  AliveMsg, DeadMsg, GossipMsg, Health, LeaveMsg, MemberState, MemberStatus, ServiceMsg, SuspectMsg,
} from './messages.js';
import { NodeContext, type NodeStats, TIMER } from './node-context.js';
import { Prober } from './prober.js';
import type { Profile } from './profiles.js';
import { Rng } from './rng.js';
import { ServiceGossip } from './service-gossip.js';
import { Suspicion, suspicionTimeouts } from './suspicion.js';
import { Deadlines } from './timers.js';

export type { NodeStats } from './node-context.js';

export interface SwimNodeOptions {
  readonly name: string;
  /** The address other members reach this node at (the advertised address). */
  readonly host: string;
  readonly port: number;
  readonly profile: Profile;
  /** Seed of the node's random source. */
  readonly seed: number;
  /** Current time, ms (any monotonic epoch; the simulator starts at 0). */
  readonly now: number;
  /** Lowest incarnation to start from (persisted by the daemon so a restart refutes a stale death). */
  readonly incarnation?: number;
  /** Datagram size limit; defaults to LIMITS.packetBytesDefault. */
  readonly packetBytes?: number;
  /** Version counter of this node's own catalog entries to continue from (persisted by the daemon). */
  readonly catalogRevision?: number;
}

/** Last-chance probes before a suspicion expires, at these multiples of the probe timeout before it. */
const LAST_CHANCE_OFFSETS = [6, 4, 2] as const;
const JOIN_RETRY_MAX_MS = 30_000;

/**
 * The SWIM state machine of one node, with Lifeguard's refinements, and the node's service catalog.
 * Pure: it is handed the time with every input and returns effects; its only randomness is its
 * seeded Rng. Probing lives in prober.ts, spreading updates in dissemination.ts, the catalog in
 * service-gossip.ts and barrier.ts; this file holds membership state and the inputs.
 */
export class SwimNode {
  readonly name: string;
  readonly stats: NodeStats = {
    probesSent: 0, probesFailed: 0, indirectProbesSent: 0, suspicionsRaised: 0, suspicionsRefuted: 0,
    declaredDead: 0, probeRttSumMs: 0, probeRttCount: 0, probesInconclusive: 0,
  };

  private readonly ctx: NodeContext;
  private readonly profile: Profile;
  private readonly table: MemberTable;
  private readonly selfRecord: MemberRecord;
  private readonly deadlines = new Deadlines();
  private readonly awareness: Awareness;
  private readonly diss: Dissemination;
  private readonly prober: Prober;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly catalog: ServiceGossip;
  private readonly barriers: Barriers;
  private leaving = false;
  private joinSeeds: Address[] = [];
  private joined = false;
  private joinAttempts = 0;
  /** While merging a peer's state: the peer, so that a refutation also goes straight back to it. */
  private refuteNotify: Address | null = null;

  constructor(opts: SwimNodeOptions) {
    this.name = opts.name;
    this.profile = opts.profile;
    const packetBytes = Math.min(LIMITS.packetBytesMax, Math.max(LIMITS.packetBytesMin, opts.packetBytes ?? LIMITS.packetBytesDefault));
    const rng = new Rng(opts.seed);
    this.awareness = new Awareness(opts.profile.awarenessMax);
    this.table = new MemberTable(opts.name, rng);
    this.selfRecord = {
      name: opts.name, host: opts.host, port: opts.port, incarnation: opts.incarnation ?? 0,
      status: 'alive', changedAt: opts.now,
    };
    this.table.add(this.selfRecord);
    this.ctx = new NodeContext(opts.name, opts.profile, packetBytes, rng, this.table, this.selfRecord, this.deadlines, this.awareness, this.stats, opts.now);
    this.diss = new Dissemination(this.ctx);
    this.prober = new Prober(this.ctx, this.diss, (t) => this.applySuspect({ type: 'suspect', name: t.name, incarnation: t.incarnation, from: this.name }));
    const host = this.catalogHost();
    this.catalog = new ServiceGossip(host, packetBytes, opts.catalogRevision ?? 0);
    this.barriers = new Barriers(host, this.catalog, 2 * opts.profile.gossipIntervalMs);
    this.enqueue(this.aliveOf(this.selfRecord), false);
    // Stagger the first probe so nodes started together do not probe in lockstep.
    this.deadlines.set(TIMER.probe, opts.now + rng.int(opts.profile.probeIntervalMs));
    this.deadlines.set(TIMER.pushPull, opts.now + this.pushPullInterval() * (0.5 + rng.next()));
    this.deadlines.set(TIMER.reap, opts.now + this.reapCheckInterval());
    this.deadlines.set(TIMER.reconnect, opts.now + opts.profile.reconnectIntervalMs * (0.5 + rng.next()));
  }

  private get now(): number {
    return this.ctx.now;
  }

  private set now(t: number) {
    this.ctx.now = t;
  }

  private get out(): Effect[] {
    return this.ctx.out;
  }

  // ---- Inputs -------------------------------------------------------------------------------

  /** Contact seeds with a push-pull join; retries with backoff until one answers. */
  join(now: number, seeds: readonly Address[]): Effect[] {
    this.now = now;
    this.joinSeeds = seeds.filter((s) => !sameAddress(s, this.selfRecord)).slice(0, LIMITS.joinSeedsMax);
    this.joined = false;
    this.joinAttempts = 0;
    this.sendJoin();
    return this.flush();
  }

  /** A datagram arrived. */
  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    this.now = now;
    const decoded = decodePacket(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return this.flush();
    }
    const msg = decoded.value;
    if (msg.type === 'compound') for (const part of msg.parts) this.handleGossip(from, part);
    else this.handleGossip(from, msg);
    return this.flush();
  }

  /** A push-pull stream request arrived; returns the reply to write back (null: close without reply). */
  handlePushPull(now: number, from: Address, bytes: Uint8Array): { reply: Uint8Array | null; effects: Effect[] } {
    this.now = now;
    const decoded = decodePushPull(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return { reply: null, effects: this.flush() };
    }
    this.mergeState(decoded.value.source, decoded.value.members, decoded.value.services);
    const reply = this.pushPullBytes(false);
    void from;
    return { reply, effects: this.flush() };
  }

  /** The reply to a push-pull we started. */
  handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] {
    this.now = now;
    const decoded = decodePushPull(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return this.flush();
    }
    void from;
    this.mergeState(decoded.value.source, decoded.value.members, decoded.value.services);
    if (!this.joined && this.joinSeeds.length > 0) {
      this.joined = true;
      this.deadlines.clear(TIMER.joinRetry);
    }
    return this.flush();
  }

  /** A push-pull we started failed (connect error, timeout, bad reply). The join retry timer covers joins. */
  handlePushPullFailed(now: number, to: Address): Effect[] {
    this.now = now;
    void to;
    return this.flush();
  }

  /** Timers: call tick(now) at or after nextDeadline(). */
  tick(now: number): Effect[] {
    this.now = now;
    for (const { key, at } of this.deadlines.due(now)) {
      if (key === TIMER.probe) this.prober.onProbeTick(at, this.leaving);
      else if (key === TIMER.probeTimeout) this.prober.onProbeTimeout();
      else if (key === TIMER.probeRetry) this.prober.onProbeRetry();
      else if (key === TIMER.gossip) this.diss.onGossipTick();
      else if (key === TIMER.forward) this.diss.flushForward();
      else if (key === TIMER.pushPull) this.onPushPullTick();
      else if (key === TIMER.joinRetry) this.onJoinRetry();
      else if (key === TIMER.reap) this.onReap();
      else if (key === TIMER.reconnect) this.onReconnectTick();
      else if (key.startsWith(TIMER.suspicionPrefix)) this.onSuspicionTimeout(key.slice(TIMER.suspicionPrefix.length));
      else if (key.startsWith(TIMER.lastChancePrefix)) this.onLastChance(key.slice(TIMER.lastChancePrefix.length));
      else if (key.startsWith(TIMER.relayPrefix)) this.prober.onRelayTimeout(Number(key.slice(TIMER.relayPrefix.length)));
      else this.barriers.onTimer(key);
    }
    return this.flush();
  }

  nextDeadline(): number | null {
    return this.deadlines.next();
  }

  /** Announce a graceful leave; afterwards the node stops probing but keeps spreading its leave. */
  leave(now: number): Effect[] {
    this.now = now;
    if (this.leaving) return this.flush();
    this.leaving = true;
    this.prober.stop();
    this.deadlines.clear(TIMER.pushPull);
    this.deadlines.clear(TIMER.joinRetry);
    this.deadlines.clear(TIMER.reconnect);
    const previous = this.selfRecord.status;
    this.table.setStatus(this.selfRecord, 'left', now);
    this.emit(this.selfRecord, previous);
    this.enqueue({ type: 'leave', name: this.name, incarnation: this.selfRecord.incarnation }, true);
    this.diss.flushForward();
    return this.flush();
  }

  /**
   * Adds members as alive without spreading them or emitting events: for simulations that start
   * from an already converged cluster, where a real join of thousands of nodes would dominate the
   * run. Members already known are left as they are.
   */
  preload(members: readonly MemberState[]): void {
    for (const m of members) {
      if (m.name === this.name || this.table.get(m.name) !== undefined || this.table.size >= LIMITS.membersMax) continue;
      this.table.add({ name: m.name, host: m.host, port: m.port, incarnation: m.incarnation, status: 'alive', changedAt: this.now });
    }
  }

  // ---- Queries ------------------------------------------------------------------------------

  /** Every known member including self. */
  members(): MemberView[] {
    const out: MemberView[] = [];
    for (const r of this.table.values()) out.push(viewOf(r));
    return out;
  }

  member(name: string): MemberView | undefined {
    const r = this.table.get(name);
    return r === undefined ? undefined : viewOf(r);
  }

  self(): MemberView {
    return viewOf(this.selfRecord);
  }

  /** Lifeguard local-health score (0 = healthy). */
  localHealth(): number {
    return this.awareness.health;
  }

  /** Members counted as part of the cluster (alive + suspect), including self. */
  liveCount(): number {
    return this.table.liveCount;
  }

  // ---- Service catalog ------------------------------------------------------------------------

  /** Registers (or, with an existing id, updates) a service instance owned by this node. Throws CatalogError. */
  registerService(now: number, spec: ServiceSpec): { service: ServiceView; effects: Effect[] } {
    this.now = now;
    const service = this.catalog.register(spec);
    return { service, effects: this.flush() };
  }

  /** Deregisters an own instance, leaving a tombstone; returns its version. Throws CatalogError. */
  deregisterService(now: number, id: string): { rev: number; effects: Effect[] } {
    this.now = now;
    const rev = this.catalog.deregister(id);
    return { rev, effects: this.flush() };
  }

  /** Sets health and/or draining of an own instance; returns its version. Throws CatalogError. */
  updateService(now: number, id: string, patch: { health?: Health; draining?: boolean }): { rev: number; effects: Effect[] } {
    this.now = now;
    const rev = this.catalog.update(id, patch);
    return { rev, effects: this.flush() };
  }

  /**
   * Waits until every live member holds the current version of own entry `id` (or its tombstone);
   * the outcome arrives as a 'barrier' effect. Throws CatalogError.
   */
  startBarrier(now: number, id: string, timeoutMs: number): { barrierId: number; effects: Effect[] } {
    this.now = now;
    const barrierId = this.barriers.start(id, timeoutMs);
    return { barrierId, effects: this.flush() };
  }

  /** Every visible service instance, own ones included. */
  services(): ServiceView[] {
    return this.catalog.views();
  }

  /** This node's own live entries, as stored (for persistence). */
  ownServices(): ServiceMsg[] {
    return this.catalog.own();
  }

  /** Version counter of own catalog entries (for persistence). */
  catalogRevision(): number {
    return this.catalog.revision;
  }

  /** Version of (owner, id) held here, 0 if none (tombstones count). */
  serviceRevision(owner: string, id: string): number {
    return this.catalog.catalog.get(owner, id)?.rev ?? 0;
  }

  /** Updates waiting in the dissemination queue. */
  pendingBroadcasts(): number {
    return this.diss.pending;
  }

  // ---- Message handling ---------------------------------------------------------------------

  private handleGossip(from: Address, msg: GossipMsg): void {
    switch (msg.type) {
      case 'ping': return this.prober.onPing(from, msg);
      case 'ping-req': return this.prober.onPingReq(from, msg);
      case 'ack': return this.prober.onAck(msg.seq);
      case 'nack': return this.prober.onNack(msg.seq);
      case 'alive': return this.applyAlive(msg);
      case 'suspect': return this.applySuspect(msg);
      case 'dead': return this.applyDead(msg);
      case 'leave': return this.applyLeave(msg);
      case 'service': return this.catalog.onService(msg);
      case 'confirm-request': return this.barriers.onRequest(from, msg, this.name);
      case 'confirm': return this.barriers.onConfirm(msg);
    }
  }

  // ---- State updates (SWIM precedence) ------------------------------------------------------

  private applyAlive(msg: AliveMsg): void {
    if (msg.name === this.name) {
      // Only we raise our incarnation. A copy of us with an incarnation at least ours but another
      // address, or a higher one (from a previous life whose state we lost), must be overridden.
      const s = this.selfRecord;
      if (!this.leaving && (msg.incarnation > s.incarnation ||
          (msg.incarnation === s.incarnation && (msg.host !== s.host || msg.port !== s.port)))) {
        this.refute(msg.incarnation, true);
      }
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined) {
      if (this.table.size >= LIMITS.membersMax) {
        this.out.push({ kind: 'rejected', reason: 'limit', detail: 'member table full' });
        return;
      }
      const rec: MemberRecord = {
        name: msg.name, host: msg.host, port: msg.port, incarnation: msg.incarnation, status: 'alive', changedAt: this.now,
      };
      this.table.add(rec);
      this.emit(rec, null);
      this.enqueue(msg, true);
      return;
    }
    if (msg.incarnation <= r.incarnation) return;
    const previous = r.status;
    r.incarnation = msg.incarnation;
    r.host = msg.host;
    r.port = msg.port;
    this.table.setStatus(r, 'alive', this.now);
    this.dropSuspicion(r.name);
    this.emit(r, previous);
    this.enqueue(msg, previous === 'dead' || previous === 'left');
  }

  private applySuspect(msg: SuspectMsg): void {
    if (msg.name === this.name) {
      if (this.leaving) return;
      if (msg.incarnation >= this.selfRecord.incarnation) this.refute(msg.incarnation, false, msg.from);
      else this.answerStaleAccusation(msg.from);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined || msg.incarnation < r.incarnation) return;
    if ((r.status === 'dead' || r.status === 'left') && msg.incarnation <= r.incarnation) return;
    if (r.status === 'suspect' && msg.incarnation === r.incarnation) {
      const s = this.suspicions.get(r.name);
      if (s !== undefined && s.confirm(msg.from)) {
        this.scheduleSuspicion(r.name, s);
        // Others count confirmations too; pass this one on through the queue (not the fast path).
        this.enqueue(msg, false);
      }
      return;
    }
    const previous = r.status;
    r.incarnation = msg.incarnation;
    this.table.setStatus(r, 'suspect', this.now);
    this.stats.suspicionsRaised++;
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

  private applyDead(msg: DeadMsg): void {
    if (msg.name === this.name) {
      if (this.leaving) return;
      if (msg.incarnation >= this.selfRecord.incarnation) this.refute(msg.incarnation, true);
      else this.answerStaleAccusation(msg.from);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined || msg.incarnation < r.incarnation) return;
    if ((r.status === 'dead' || r.status === 'left') && msg.incarnation <= r.incarnation) return;
    const previous = r.status;
    r.incarnation = msg.incarnation;
    this.table.setStatus(r, 'dead', this.now);
    this.dropSuspicion(r.name);
    this.emit(r, previous);
    this.enqueue(msg, true);
  }

  private applyLeave(msg: LeaveMsg): void {
    if (msg.name === this.name) {
      // A leave from a previous life of ours: we are here, so say so.
      if (!this.leaving && msg.incarnation >= this.selfRecord.incarnation) this.refute(msg.incarnation, true);
      return;
    }
    const r = this.table.get(msg.name);
    if (r === undefined || msg.incarnation < r.incarnation) return;
    if (r.status === 'left' && msg.incarnation <= r.incarnation) return;
    const previous = r.status;
    r.incarnation = msg.incarnation;
    this.table.setStatus(r, 'left', this.now);
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
    s.incarnation = Math.max(s.incarnation, accused) + 1;
    this.stats.suspicionsRefuted++;
    // Being accused is a hint that we may be the slow one (Lifeguard).
    this.awareness.apply(1);
    this.emit(s, s.status);
    const alive = this.aliveOf(s);
    this.enqueue(alive, forward);
    // Across a healing partition the peer that told us is the one side that surely needs to know.
    if (this.refuteNotify !== null) this.sendParts(this.refuteNotify, [encodePart(alive)]);
    const a = accuser === undefined || accuser === this.name ? undefined : this.table.get(accuser);
    if (a !== undefined && isLive(a.status)) this.sendParts(a, [encodePart(alive)]);
  }

  /**
   * An accuser still holds an incarnation we already refuted: our refutation missed it (lost, or
   * its queue expired before reaching it). Tell it directly; it costs one packet per accusation.
   */
  private answerStaleAccusation(accuser: string): void {
    const a = accuser === this.name ? undefined : this.table.get(accuser);
    if (a !== undefined && isLive(a.status)) this.sendParts(a, [encodePart(this.aliveOf(this.selfRecord))]);
  }

  private dropSuspicion(name: string): void {
    if (this.suspicions.delete(name)) {
      this.deadlines.clear(TIMER.suspicionPrefix + name);
      this.deadlines.clear(TIMER.lastChancePrefix + name);
    }
  }

  /**
   * Merges a peer's full state. A peer's `dead` becomes our `suspect`, so a partition that heals
   * gives the accused a chance to refute instead of being killed by stale news.
   */
  private mergeState(source: string, members: readonly MemberState[], services: readonly ServiceMsg[]): void {
    const peer = this.table.get(source);
    this.refuteNotify = peer === undefined || peer === this.selfRecord ? null : { host: peer.host, port: peer.port };
    try {
      this.mergeMembers(source, members);
    } finally {
      this.refuteNotify = null;
    }
    for (const m of services) this.catalog.onService(m);
  }

  private mergeMembers(source: string, members: readonly MemberState[]): void {
    for (const m of members) {
      switch (m.status) {
        case 'alive':
          this.applyAlive({ type: 'alive', name: m.name, host: m.host, port: m.port, incarnation: m.incarnation });
          break;
        case 'suspect':
        case 'dead':
          if (this.table.get(m.name) === undefined && m.name !== this.name) break;
          this.applySuspect({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: source });
          break;
        case 'left':
          this.applyLeave({ type: 'leave', name: m.name, incarnation: m.incarnation });
          break;
      }
    }
  }

  private fullState(): MemberState[] {
    const out: MemberState[] = [];
    for (const r of this.table.values()) {
      if (out.length >= LIMITS.pushPullMembersMax) break;
      out.push({ name: r.name, host: r.host, port: r.port, incarnation: r.incarnation, status: r.status });
    }
    return out;
  }

  // ---- Suspicion timers ---------------------------------------------------------------------

  private scheduleSuspicion(name: string, s: Suspicion): void {
    this.deadlines.set(TIMER.suspicionPrefix + name, s.deadline());
    this.scheduleLastChance(name, s);
  }

  /**
   * Before a suspicion expires, probe the suspect directly, carrying the suspicion (the buddy
   * system). Gossip leaves about e^−fanout of the cluster without a refutation; these few probes
   * come only from the nodes still suspecting near the end, which are exactly those it missed.
   */
  private scheduleLastChance(name: string, s: Suspicion): void {
    const deadline = s.deadline();
    for (const k of LAST_CHANCE_OFFSETS) {
      const at = deadline - k * this.profile.probeTimeoutMs;
      if (at > this.now && at > s.startedAt) {
        this.deadlines.set(TIMER.lastChancePrefix + name, at);
        return;
      }
    }
    this.deadlines.clear(TIMER.lastChancePrefix + name);
  }

  private onLastChance(name: string): void {
    const r = this.table.get(name);
    const s = this.suspicions.get(name);
    if (r === undefined || s === undefined || r.status !== 'suspect') return;
    this.prober.probeWithSuspicion(r);
    this.scheduleLastChance(name, s);
  }

  private onSuspicionTimeout(name: string): void {
    const r = this.table.get(name);
    const s = this.suspicions.get(name);
    this.suspicions.delete(name);
    if (r === undefined || s === undefined || r.status !== 'suspect' || r.incarnation !== s.incarnation) return;
    this.stats.declaredDead++;
    this.applyDead({ type: 'dead', name, incarnation: r.incarnation, from: this.name });
  }

  // ---- Dissemination ------------------------------------------------------------------------

  private enqueue(msg: AliveMsg | SuspectMsg | DeadMsg | LeaveMsg, forward: boolean): void {
    this.diss.disseminate('m:' + msg.name, encodePart(msg), forward);
  }

  private sendParts(to: Address, parts: Uint8Array[]): void {
    this.diss.send(to, parts);
  }

  // ---- Anti-entropy, join, reaping ----------------------------------------------------------

  private pushPullInterval(): number {
    const n = this.table.liveCount;
    const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
    return this.profile.pushPullIntervalMs * scale;
  }

  private onPushPullTick(): void {
    this.deadlines.set(TIMER.pushPull, this.now + this.pushPullInterval());
    if (this.leaving) return;
    const [peer] = this.table.sample(1, (r) => r.status === 'alive');
    if (peer === undefined) return;
    this.out.push({ kind: 'push-pull', to: { host: peer.host, port: peer.port }, bytes: this.pushPullBytes(false), join: false });
  }

  private onReconnectTick(): void {
    this.deadlines.set(TIMER.reconnect, this.now + this.profile.reconnectIntervalMs * (0.5 + this.ctx.rng.next()));
    if (this.leaving) return;
    const [peer] = this.table.sample(1, (r) => r.status === 'dead');
    if (peer === undefined) return;
    this.out.push({ kind: 'push-pull', to: { host: peer.host, port: peer.port }, bytes: this.pushPullBytes(false), join: false });
  }

  private pushPullBytes(join: boolean): Uint8Array {
    return encodePushPull({ type: 'push-pull', join, source: this.name, members: this.fullState(), services: this.catalog.state() });
  }

  private sendJoin(): void {
    if (this.joinSeeds.length === 0 || this.leaving) return;
    const bytes = this.pushPullBytes(true);
    for (const seed of this.joinSeeds) this.out.push({ kind: 'push-pull', to: seed, bytes, join: true });
    const backoff = Math.min(JOIN_RETRY_MAX_MS, this.profile.joinRetryMs * 2 ** Math.min(this.joinAttempts, 10));
    this.joinAttempts++;
    this.deadlines.set(TIMER.joinRetry, this.now + backoff);
  }

  private onJoinRetry(): void {
    if (!this.joined) this.sendJoin();
  }

  private reapCheckInterval(): number {
    return Math.max(1_000, Math.min(60_000, this.profile.reapAfterMs / 10));
  }

  private onReap(): void {
    this.deadlines.set(TIMER.reap, this.now + this.reapCheckInterval());
    this.catalog.collect(this.now, this.profile.reapAfterMs);
    const expired: string[] = [];
    for (const r of this.table.values()) {
      if ((r.status === 'dead' || r.status === 'left') && r !== this.selfRecord && this.now - r.changedAt >= this.profile.reapAfterMs) {
        expired.push(r.name);
      }
    }
    for (const name of expired) {
      this.catalog.dropOwner(name, this.table.get(name)?.status);
      this.table.remove(name);
      this.diss.forget('m:' + name);
      this.dropSuspicion(name);
    }
  }

  // ---- Helpers ------------------------------------------------------------------------------

  private catalogHost(): CatalogHost {
    return {
      name: this.name,
      now: () => this.now,
      memberStatus: (name) => this.table.get(name)?.status,
      memberAddress: (name) => {
        const r = this.table.get(name);
        return r === undefined ? undefined : { host: r.host, port: r.port };
      },
      liveOthers: () => {
        const out: string[] = [];
        for (const r of this.table.values()) if (r !== this.selfRecord && isLive(r.status)) out.push(r.name);
        return out;
      },
      disseminate: (key, part, forward) => this.diss.disseminate(key, part, forward),
      send: (to, parts) => this.sendParts(to, parts),
      serviceEvent: (event) => this.out.push({ kind: 'service', event }),
      barrierEvent: (event) => this.out.push({ kind: 'barrier', event }),
      setTimer: (key, at) => this.deadlines.set(key, at),
      clearTimer: (key) => this.deadlines.clear(key),
      reject: (reason, detail) => this.out.push({ kind: 'rejected', reason, detail }),
    };
  }

  private aliveOf(r: MemberRecord): AliveMsg {
    return { type: 'alive', name: r.name, host: r.host, port: r.port, incarnation: r.incarnation };
  }

  private emit(r: MemberRecord, previous: MemberStatus | null): void {
    this.out.push({ kind: 'event', event: { type: 'member', member: viewOf(r), previous } });
    if (previous !== r.status) this.catalog.onOwnerStatus(r.name, previous ?? undefined, r.status);
  }

  private flush(): Effect[] {
    return this.ctx.flush();
  }
}
