import type { Address } from './address.js';
import { AntiEntropy } from './anti-entropy.js';
import { Awareness } from './awareness.js';
import { Barriers } from './barrier.js';
import type { ServiceSpec } from './catalog.js';
import { nodeCatalogHost } from './catalog-host.js';
import type { CoreNode, CoreResult } from './core.js';
import { decodePacket, decodePushPull } from './codec.js';
import { Dissemination } from './dissemination.js';
import { FullState } from './full-state.js';
import type { Effect, MemberView, ServiceView } from './effects.js';
import { LIMITS } from './limits.js';
import { type MemberRecord, MemberTable, viewOf } from './member-table.js';
import type { GossipMsg, Health, MemberState, ServiceMsg } from './messages.js';
import { NodeContext, type NodeStats } from './node-context.js';
import { Membership } from './membership.js';
import { NameClaims } from './name-claims.js';
import { Prober } from './prober.js';
import { Proximity } from './proximity.js';
import type { SwimNodeOptions } from './node-options.js';
import { barrierRetryMs, wantRetryMs } from './profiles.js';
import { ReapedAddresses } from './reaped-addresses.js';
import { Reaper } from './reaper.js';
import { Rng } from './rng.js';
import { toSerial } from './serial.js';
import { ServiceGossip } from './service-gossip.js';
import { SplitGossip } from './splits.js';
import { sameDigest } from './state-digest.js';
import type { HlcStamp } from './hlc.js';
import type { SplitMsg } from './messages.js';
import type { SplitView } from './effects.js';
import { Deadlines, type Timer, TIMERS, unknownTimer } from './timers.js';

export type { NodeStats } from './node-context.js';
export type { SwimNodeOptions } from './node-options.js';

/** Separates the barrier's per-process draws from the node's main random stream (same seed). */
const BARRIER_LIFE_SALT = 0x6c69_6665;
/** Separates the draws among near members (relays, gossip targets) from the main stream. */
const PROXIMITY_SALT = 0x6e65_6172;

/**
 * The SWIM state machine of one node, with Lifeguard's refinements, and the node's service catalog.
 * Pure: it is handed the time with every input and returns effects; its only randomness is its
 * seeded Rng. Probing lives in prober.ts, spreading updates in dissemination.ts, membership
 * changes in membership.ts, full-state exchanges in anti-entropy.ts, the catalog in
 * service-gossip.ts and barrier.ts; this file holds the node's state and routes its inputs.
 */
export class SwimNode implements CoreNode {
  readonly name: string;
  readonly stats: NodeStats = {
    probesSent: 0, probesFailed: 0, indirectProbesSent: 0, suspicionsRaised: 0, suspicionsRefuted: 0,
    declaredDead: 0, probeRttSumMs: 0, probeRttCount: 0, probesInconclusive: 0,
  };

  private readonly ctx: NodeContext;
  private readonly table: MemberTable;
  private readonly selfRecord: MemberRecord;
  private readonly deadlines = new Deadlines();
  private readonly awareness: Awareness;
  private readonly diss: Dissemination;
  private readonly prober: Prober;
  private readonly catalog: ServiceGossip;
  private readonly barriers: Barriers;
  private readonly splitTable: SplitGossip;
  private readonly membership: Membership;
  private readonly claims: NameClaims;
  /**
   * Set when this node found, while joining, that another live process already holds its name: it
   * is the newcomer, so it refuses to join and goes quiet (the daemon exits on the conflict effect).
   */
  private yielded = false;
  private readonly antiEntropy: AntiEntropy;
  private readonly fullState: FullState;
  private readonly reapedAddresses = new ReapedAddresses();
  private readonly reaper: Reaper;
  private readonly proximity: Proximity;

  constructor(opts: SwimNodeOptions) {
    this.name = opts.name;
    const packetBytes = Math.min(LIMITS.packetBytesMax, Math.max(LIMITS.packetBytesMin, opts.packetBytes ?? LIMITS.packetBytesDefault));
    const rng = new Rng(opts.seed);
    this.awareness = new Awareness(opts.profile.awarenessMax);
    this.table = new MemberTable(opts.name, rng, opts.intern, opts.memberNames);
    this.selfRecord = this.table.add({
      name: opts.name, host: opts.host, port: opts.port, incarnation: toSerial(opts.incarnation ?? 0),
      status: 'alive', changedAt: opts.now,
    });
    this.ctx = new NodeContext(opts.name, opts.profile, packetBytes, rng, this.table, this.selfRecord, this.deadlines, this.awareness, this.stats, opts.now);
    // Drawn from a stream of its own so the node's other random choices stay as they were.
    this.proximity = new Proximity(new Rng(opts.seed ^ PROXIMITY_SALT));
    this.ctx.proximity = this.proximity;
    this.diss = new Dissemination(this.ctx);
    this.membership = new Membership(this.ctx, this.diss, {
      onStatusChange: (name, previous, next) => {
        this.catalog.onOwnerStatus(name, previous, next);
        this.barriers.onMemberStatus(name, next);
      },
      imported: (r) => this.reaper.dueAt(r.changedAt),
      probeWithSuspicion: (r) => this.prober.probeWithSuspicion(r),
      heardFrom: (name, since) => this.prober.heardFrom(name, since),
      probeTimeoutFor: (name) => this.prober.probeTimeoutFor(name),
      claimElsewhere: (other, incarnation, phase) => this.claims.claim(other, incarnation, phase),
    });
    this.claims = new NameClaims(this.ctx, this.diss, () => this.catalog.withholdOwn(), (incarnation) => {
      this.membership.refuteClaim(incarnation);
      if (!this.claims.contested) this.catalog.spreadOwn();
      // Copies of our entries that arrived while we were checking were set aside: fetch them again.
      this.antiEntropy.exchangeNow();
    }, () => this.stepAside());
    this.prober = new Prober(this.ctx, this.diss, (t) => this.membership.applySuspect({ type: 'suspect', name: t.name, incarnation: t.incarnation, from: this.name }),
      // Only the update tree picks relays by proximity: with it off, the probe path keeps no second table.
      opts.profile.updateTree ? (name, ms) => this.proximity.observe(name, ms) : undefined);
    const host = nodeCatalogHost(this.ctx, this.diss, () => this.claims.contested);
    const stateBytes = Math.max(1, Math.min(LIMITS.pushPullServiceBytesMax, opts.pushPullServiceBytes ?? LIMITS.pushPullServiceBytesMax));
    this.catalog = new ServiceGossip(host, packetBytes, toSerial(opts.catalogRevision ?? 0), stateBytes, wantRetryMs(opts.profile));
    // Drawn from a stream of its own so the node's other random choices stay as they were.
    const lifeRng = new Rng(opts.seed ^ BARRIER_LIFE_SALT);
    this.splitTable = new SplitGossip({ ...host, splitEvent: (event) => this.out.push({ kind: 'split', event }) }, {
      ...(opts.splits === undefined ? {} : { splits: opts.splits }), ...(opts.splitClock === undefined ? {} : { clock: opts.splitClock }),
    });
    this.barriers = new Barriers(host, this.catalog, barrierRetryMs(opts.profile), { life: lifeRng.nextU32(), firstRequestId: lifeRng.nextU32() }, this.splitTable);
    this.fullState = new FullState(opts.name, this.table, this.membership, this.catalog, this.splitTable, this.ctx);
    this.antiEntropy = new AntiEntropy(this.ctx, (request) => this.fullState.encode(request),
      (pageFrom) => this.fullState.encodeDigestRequest(pageFrom), () => this.membership.leaving, this.reapedAddresses,
      opts.lazyReconnectState === true ? (request) => this.fullState.encodeLater(request) : undefined);
    this.membership.enqueue(this.membership.aliveOf(this.selfRecord), false);
    // Stagger the first probe so nodes started together do not probe in lockstep.
    this.deadlines.set(TIMERS.probe, opts.now + rng.int(opts.profile.probeIntervalMs));
    this.antiEntropy.start(opts.now);
    this.reaper = new Reaper(this.ctx, this.catalog, this.diss, this.membership, this.prober, this.reapedAddresses);
    this.reaper.start(opts.now);
  }

  private get now(): number {
    return this.ctx.now;
  }

  /**
   * Starts one input at `now`. Effects still queued belong to an input that threw: they are
   * dropped with it, never carried out as part of this one.
   */
  private begin(now: number): void {
    this.ctx.now = now;
    this.ctx.out = [];
  }

  private get out(): Effect[] {
    return this.ctx.out;
  }

  // ---- Inputs -------------------------------------------------------------------------------

  /** Contact seeds with a push-pull join; retries with backoff until one answers. */
  join(now: number, seeds: readonly Address[]): Effect[] {
    if (this.yielded) return [];
    this.begin(now);
    this.antiEntropy.join(seeds, this.selfRecord);
    return this.flush();
  }

  /** A datagram arrived. */
  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    if (this.yielded) return [];
    this.begin(now);
    const decoded = decodePacket(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return this.flush();
    }
    const msg = decoded.value;
    const parts = msg.type === 'compound' ? msg.parts : [msg];
    // A relay arc leads the packet; it applies to the catalog updates after it.
    const head = parts[0];
    this.diss.beginPacket(head !== undefined && head.type === 'relay' ? { lo: head.lo, hi: head.hi } : null);
    try {
      for (const part of parts) this.handleGossip(from, part);
    } finally {
      this.diss.endPacket();
    }
    return this.flush();
  }

  /** A push-pull stream request arrived; returns the reply to write back (null: close without reply). */
  handlePushPull(now: number, from: Address, bytes: Uint8Array): CoreResult<Uint8Array | null> {
    if (this.yielded) return { value: null, effects: [] };
    this.begin(now);
    const decoded = decodePushPull(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return { value: null, effects: this.flush() };
    }
    const msg = decoded.value;
    if (msg.inSync === true) this.out.push({ kind: 'rejected', reason: 'bad_field', detail: 'push-pull.inSync: set in a request (ignored)' });
    this.fullState.merge(msg.source, msg.members, msg.services, msg.splits);
    // Equal digests: nothing to repair either way. Otherwise the page asked for (an older agent asks for none: the first).
    const value = msg.digest !== undefined && sameDigest(msg.digest, this.fullState.digest())
      ? this.fullState.encodeInSync()
      : this.fullState.encode({ join: false, pageFrom: msg.pageFrom, withOwnState: true }).bytes;
    void from;
    return { value, effects: this.flush() };
  }

  /** The reply to a push-pull we started. */
  handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] {
    if (this.yielded) return [];
    this.begin(now);
    const decoded = decodePushPull(bytes);
    if (!decoded.ok) {
      this.out.push({ kind: 'rejected', reason: decoded.reason, detail: decoded.detail });
      return this.flush();
    }
    if (decoded.value.inSync === true) {
      if (!this.antiEntropy.onInSync(from, decoded.value.source)) {
        this.out.push({ kind: 'rejected', reason: 'bad_field', detail: 'push-pull.inSync: answers no digest this node sent' });
        this.antiEntropy.onFailed(from);
      }
      return this.flush();
    }
    this.fullState.merge(decoded.value.source, decoded.value.members, decoded.value.services, decoded.value.splits);
    this.antiEntropy.onReply(from, decoded.value.source, decoded.value.moreAfter);
    return this.flush();
  }

  /** A push-pull we started failed (connect error, timeout, bad reply). The join retry timer covers joins. */
  handlePushPullFailed(now: number, to: Address): Effect[] {
    if (this.yielded) return [];
    this.begin(now);
    this.antiEntropy.onFailed(to);
    return this.flush();
  }

  /** Timers: call tick(now) at or after nextDeadline(). */
  tick(now: number): Effect[] {
    if (this.yielded) return [];
    this.begin(now);
    // Every deadline popped here is handled even if one handler throws: its own half-built
    // effects are dropped, the failure is reported as an effect, and the rest still run.
    for (const { timer, key, at } of this.deadlines.due(now)) {
      const mark = this.out.length;
      try {
        this.onDeadline(timer, at);
      } catch (err) {
        this.out.length = mark;
        this.out.push({ kind: 'rejected', reason: 'internal_error', detail: `timer ${key}: ${describeError(err)}` });
      }
    }
    return this.flush();
  }

  private onDeadline(timer: Timer, at: number): void {
    switch (timer.kind) {
      case 'probe': return this.prober.onProbeTick(at, this.membership.leaving);
      case 'probe-timeout': return this.prober.onProbeTimeout();
      case 'probe-retry': return this.prober.onProbeRetry();
      case 'gossip': return this.diss.onGossipTick();
      case 'forward': return this.diss.flushForward();
      case 'push-pull': return this.antiEntropy.onPushPullTick();
      case 'join-retry': return this.antiEntropy.onJoinRetry();
      case 'reap':
        this.splitTable.collect(this.now);
        return this.reaper.onReap();
      case 'reconnect': return this.antiEntropy.onReconnectTick();
      case 'suspicion': return this.membership.onSuspicionTimeout(timer.member);
      case 'last-chance': return this.membership.onLastChance(timer.member);
      case 'relay': return this.prober.onRelayTimeout(timer.seq);
      case 'claim-timeout': return this.claims.onTimeout(timer.seq);
      case 'claim-retry': return this.claims.onRetry(timer.seq);
      case 'claim-recheck': return this.claims.onRecheck(timer.address);
      case 'barrier-retry': return this.barriers.onRetry(timer.barrierId);
      case 'want-retry': return this.catalog.onWantRetry();
      default: return unknownTimer(timer);
    }
  }

  /**
   * Steps aside for the other process with our name: what this input produced still goes out (the
   * ack the other process settles on among it), then nothing more is sent, no timer fires, and
   * every later input is ignored.
   */
  private stepAside(): void {
    this.yielded = true;
    this.prober.stop();
    this.antiEntropy.stop();
  }

  nextDeadline(): number | null {
    return this.yielded ? null : this.deadlines.next();
  }

  /** Announce a graceful leave; afterwards the node stops probing but keeps spreading its leave. */
  leave(now: number): Effect[] {
    this.begin(now);
    if (this.membership.leaving) return this.flush();
    this.membership.leaving = true;
    this.prober.stop();
    this.antiEntropy.stop();
    const previous = this.selfRecord.status;
    this.table.setStatus(this.selfRecord, 'left', this.selfRecord.incarnation, now);
    this.membership.emit(this.selfRecord, previous);
    this.membership.enqueue({ type: 'leave', name: this.name, incarnation: this.selfRecord.incarnation }, true);
    this.diss.flushForward();
    return this.flush();
  }

  /**
   * Adds members as alive without spreading them or emitting events: for simulations that start
   * from an already converged cluster, where a real join of thousands of nodes would dominate the
   * run. Members already known are left as they are.
   */
  preload(members: readonly MemberState[]): void {
    this.table.preloadAlive(members, this.now, LIMITS.membersMax);
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

  /** How long a direct ping of `name` waits for its ack now, ms (measured round trips and local health). */
  probeTimeoutMs(name: string): number {
    return this.awareness.scale(this.prober.probeTimeoutFor(name));
  }

  /** Members counted as part of the cluster (alive + suspect), including self. */
  liveCount(): number {
    return this.table.liveCount;
  }

  // ---- Service catalog ------------------------------------------------------------------------

  /** Registers (or, with an existing id, updates) a service instance owned by this node. Throws CatalogError. */
  registerService(now: number, spec: ServiceSpec): CoreResult<ServiceView> {
    this.begin(now);
    const value = this.catalog.register(spec);
    return { value, effects: this.flush() };
  }

  /** Deregisters an own instance, leaving a tombstone; returns its version. Throws CatalogError. */
  deregisterService(now: number, id: string): CoreResult<number> {
    this.begin(now);
    const value = this.catalog.deregister(id);
    return { value, effects: this.flush() };
  }

  /** Sets health and/or draining of an own instance; returns its version. Throws CatalogError. */
  updateService(now: number, id: string, patch: { health?: Health; draining?: boolean }): CoreResult<number> {
    this.begin(now);
    const value = this.catalog.update(id, patch);
    return { value, effects: this.flush() };
  }

  /**
   * Waits until every live member holds the current version of own entry `id` (or its tombstone);
   * the outcome arrives as a 'barrier' effect. Throws CatalogError.
   */
  startBarrier(now: number, id: string, timeoutMs: number): CoreResult<number> {
    this.begin(now);
    const value = this.barriers.start(id, timeoutMs);
    return { value, effects: this.flush() };
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

  /** Version of (owner, id) held here, 0 if none (tombstones count); a 32-bit serial number. */
  serviceRevision(owner: string, id: string): number {
    return this.catalog.catalog.get(owner, id)?.rev ?? 0;
  }

  /** Updates waiting in the dissemination queue. */
  pendingBroadcasts(): number {
    return this.diss.pending;
  }

  // ---- Traffic splits (splits.ts) -------------------------------------------------------------

  /** Sets `service`'s split (weights: version → percent), or clears it (null), at wall-clock `wallMs`. Throws SplitError. */
  writeSplit(now: number, wallMs: number, service: string, weights: Readonly<Record<string, unknown>> | null): CoreResult<SplitMsg> {
    this.begin(now);
    const value = this.splitTable.write(service, weights, wallMs);
    return { value, effects: this.flush() };
  }

  /** Waits until every live member holds `service`'s current split write; the verdict is a 'barrier' effect. */
  startSplitBarrier(now: number, service: string, timeoutMs: number): CoreResult<number> {
    this.begin(now);
    const value = this.barriers.startSplit(service, timeoutMs);
    return { value, effects: this.flush() };
  }

  /** Live splits, by service name. */
  splits(): SplitView[] {
    return this.splitTable.views();
  }

  /** `service`'s live split as percentages; undefined when it has none. */
  split(service: string): Readonly<Record<string, number>> | undefined {
    return this.splitTable.percentages(service);
  }

  /** Split records with tombstones, and the hybrid clock (for persistence). */
  splitState(): { readonly splits: SplitMsg[]; readonly clock: HlcStamp } {
    return { splits: this.splitTable.records(), clock: this.splitTable.clock.latest };
  }

  // ---- Message handling ---------------------------------------------------------------------

  private handleGossip(from: Address, msg: GossipMsg): void {
    switch (msg.type) {
      case 'ping':
        this.prober.onPing(from, msg);
        // The ack went first: the namesake settles the conflict on it, as we do here.
        if (msg.source === this.name && msg.uptimeMs !== undefined && msg.target === this.name &&
            (msg.sourceHost !== this.selfRecord.host || msg.sourcePort !== this.selfRecord.port)) {
          this.claims.onNamesakePing({ host: msg.sourceHost, port: msg.sourcePort }, msg.uptimeMs);
        }
        return;
      case 'ping-req': return this.prober.onPingReq(from, msg);
      case 'ack':
        if (!this.claims.onAck(msg.seq, msg.uptimeMs)) this.prober.onAck(msg.seq, from);
        return;
      case 'nack': return this.prober.onNack(msg.seq);
      case 'alive': return this.membership.applyAlive(msg);
      case 'suspect': return this.membership.applySuspect(msg);
      case 'dead': return this.membership.applyDead(msg);
      case 'leave': return this.membership.applyLeave(msg);
      case 'service': return this.catalog.onService(msg);
      case 'confirm-request': return this.barriers.onRequest(from, msg, this.name);
      case 'confirm': return this.barriers.onConfirm(msg);
      // Read with the packet it leads (handlePacket); anywhere else it means nothing.
      case 'relay': return;
      case 'have': return this.catalog.onHave(from, msg);
      case 'want': return this.catalog.onWant(from, msg);
      case 'split': return this.splitTable.onSplit(msg);
      case 'split-confirm-request': return this.barriers.onSplitRequest(from, msg, this.name);
      case 'split-confirm': return this.barriers.onSplitConfirm(msg);
    }
  }

  // ---- Helpers ------------------------------------------------------------------------------

  private flush(): Effect[] {
    return this.ctx.flush();
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
