/**
 * The simulator's event loop: dispatches scheduled events to node processes and carries out the
 * effects they return. The public API (adding nodes, faults, observing) is Simulator, built on this.
 *
 * Each node is treated as one process: it has a single wake-up (re-read from nextDeadline() after
 * every input), a receive queue used only while paused, and an epoch that voids everything tied to
 * its previous life when it crashes.
 */
import type { Address } from '../address.js';
import type { Effect } from '../effects.js';
import { MemberNames } from '../member-index.js';
import { SwimNode } from '../node.js';
import { PROFILES, type Profile } from '../profiles.js';
import { Rng } from '../rng.js';
import { EventQueue } from './event-queue.js';
import { Network, type NetworkConfig } from './network.js';
import { deriveSeed, type Arrival, type NodeSlot, type PushPullOp, type SimEvent } from './state.js';
import {
  SimRunawayError,
  type NodeFactory,
  type SimBarrierRecord,
  type RestartOptions,
  type SimEventRecord,
  type SimStats,
  type SimulatorOptions,
} from './types.js';
import type { CoreNode } from '../core.js';

/** The request of a stream that never connected: nothing was sent. */
const NOT_SENT = new Uint8Array(0);

const defaultFactory: NodeFactory<SwimNode> = (opts) => new SwimNode(opts);

export class SimEngine<N extends CoreNode = SwimNode> {
  readonly profile: Profile;
  readonly stats: SimStats = {
    events: 0, packetsSent: 0, bytesSent: 0, packetsDelivered: 0, bytesDelivered: 0, packetsDropped: 0,
    drops: { loss: 0, partition: 0, down: 0, noRoute: 0, overflow: 0 },
    pushPullsStarted: 0, pushPullsCompleted: 0, pushPullsFailed: 0, pushPullBytes: 0,
    memberEvents: 0, eventsNotRecorded: 0, serviceEvents: 0, barrierEvents: 0, injected: 0, nodeErrors: 0, rejected: new Map(), nameConflicts: 0,
  };
  /** Member events in emission order (when recording is on). */
  readonly events: SimEventRecord[] = [];
  /** Propagation barriers that finished, in order (always kept: one per barrier started). */
  readonly barriers: SimBarrierRecord[] = [];

  protected readonly seed: number;
  protected readonly opts: SimulatorOptions<N>;
  protected readonly factory: NodeFactory<N>;
  protected readonly port: number;
  protected readonly network: Network;
  /** Draws for the simulator's own choices (join spreading), kept apart from the network's draws. */
  protected readonly ctlRng: Rng;
  protected readonly queue = new EventQueue<SimEvent>();
  protected readonly slots: NodeSlot<N>[] = [];
  protected readonly byId = new Map<string, NodeSlot<N>>();
  protected readonly byHost = new Map<string, NodeSlot<N>>();
  protected time = 0;
  /** One copy of each member name and host for every node's member records. */
  private readonly strings = new Map<string, string>();
  private readonly intern = (s: string): string => {
    const kept = this.strings.get(s);
    if (kept !== undefined) return kept;
    this.strings.set(s, s);
    return s;
  };

  /** One numbering of member names for every node's member table. */
  private readonly memberNames = new MemberNames();

  constructor(opts: SimulatorOptions<N>) {
    this.opts = opts;
    this.seed = opts.seed >>> 0;
    const p = opts.profile ?? 'lan';
    this.profile = typeof p === 'string' ? PROFILES[p] : p;
    // Without a factory N is the default, SwimNode; the options doc makes the factory mandatory otherwise.
    this.factory = opts.factory ?? (defaultFactory as unknown as NodeFactory<N>);
    this.port = opts.port ?? 7946;
    const cfg: NetworkConfig = { latencyMs: opts.latencyMs ?? 1, jitterMs: opts.jitterMs ?? 0, loss: opts.loss ?? 0 };
    this.network = new Network(new Rng(deriveSeed(this.seed, -1, 0)), cfg);
    if (opts.regions !== undefined) this.network.setRegions(opts.regions);
    this.ctlRng = new Rng(deriveSeed(this.seed, -2, 0));
  }

  /** Current virtual time, ms. */
  get now(): number {
    return this.time;
  }

  /** Events waiting in the queue (including superseded wake-ups not yet discarded). */
  get pendingEvents(): number {
    return this.queue.size;
  }

  /** Processes every event due at or before `timeMs`, then sets the clock to `timeMs`. */
  runUntil(timeMs: number): void {
    const max = this.opts.maxEventsPerRun ?? 50_000_000;
    let count = 0;
    for (;;) {
      const t = this.queue.peekTime();
      if (t === null || t > timeMs) break;
      const ev = this.queue.pop() as SimEvent;
      this.time = ev.time;
      if (++count > max) throw new SimRunawayError(count - 1, this.time);
      this.stats.events++;
      this.dispatch(ev);
    }
    if (timeMs > this.time) this.time = timeMs;
  }

  protected slot(id: string): NodeSlot<N> {
    const s = this.byId.get(id);
    if (s === undefined) throw new Error(`no simulated node ${id}`);
    return s;
  }

  /** A new process for a slot; `kept` is the state it recovers from disk (none: a fresh start). */
  protected build(name: string, address: Address, index: number, life: number, kept: RestartOptions = {}): N {
    return this.factory({
      name, host: address.host, port: address.port, profile: this.profile,
      seed: deriveSeed(this.seed, index, life), now: this.time,
      ...(kept.incarnation !== undefined ? { incarnation: kept.incarnation } : {}),
      ...(kept.catalogRevision !== undefined ? { catalogRevision: kept.catalogRevision } : {}),
      ...(kept.splits !== undefined ? { splits: kept.splits } : {}),
      ...(kept.splitClock !== undefined ? { splitClock: kept.splitClock } : {}),
      ...(this.opts.packetBytes !== undefined ? { packetBytes: this.opts.packetBytes } : {}),
      // A reconnect request to a peer that is down is never read here (startPushPull): not encoded.
      lazyReconnectState: true,
      intern: this.intern,
      memberNames: this.memberNames,
    });
  }

  /**
   * A datagram from `from`, an address that need not belong to any simulated node (an attacker, a
   * stray host), lands at `to` after `delayMs`. It bypasses loss and partitions: the sender is not
   * part of the modelled network. Replies to an address no node has are dropped as noRoute.
   */
  protected inject(to: NodeSlot<N>, from: Address, bytes: Uint8Array, delayMs: number): void {
    this.stats.injected++;
    this.queue.schedule(this.time + delayMs, { kind: 'packet', node: to.index, from, bytes, time: 0, seq: 0 });
  }

  private dispatch(ev: SimEvent): void {
    const s = this.slots[ev.node] as NodeSlot<N>;
    switch (ev.kind) {
      case 'wake':
        if (ev.gen !== s.wakeGen) return; // superseded, or the node crashed or paused since
        s.wakeAt = Infinity;
        this.tickIfDue(s);
        return;
      case 'resume':
        if (ev.gen === s.pauseGen && s.paused) this.wakeUp(s);
        return;
      case 'pp-request':
        if (s.crashed) {
          // The peer died with the request in flight: the initiator's connect attempt times out.
          this.failPushPull(ev.op, ev.op.start + (this.opts.connectTimeoutMs ?? 1000));
          return;
        }
        break;
      case 'packet':
        if (s.crashed) {
          this.drop('down');
          return;
        }
        break;
      case 'join':
      case 'pp-reply':
      case 'pp-failed': {
        const epoch = ev.kind === 'join' ? ev.epoch : ev.op.fromEpoch;
        if (s.crashed || epoch !== s.epoch) return; // meant for a process that no longer exists
        break;
      }
    }
    if (s.paused) this.hold(s, ev);
    else this.handle(s, ev);
  }

  private hold(s: NodeSlot<N>, ev: Arrival): void {
    if (ev.kind === 'packet') {
      if (s.inboxDatagrams >= (this.opts.recvQueueMax ?? 1024)) {
        this.drop('overflow');
        return;
      }
      s.inboxDatagrams++;
    }
    s.inbox.push(ev);
  }

  /** End of a pause: queued input first, as a stopped process reads its sockets, then the late timer. */
  protected wakeUp(s: NodeSlot<N>): void {
    s.paused = false;
    s.pauseGen++;
    const inbox = s.inbox;
    s.inbox = [];
    s.inboxDatagrams = 0;
    for (const ev of inbox) {
      if (s.crashed || s.paused) break; // a callback changed the process state mid-drain
      this.handle(s, ev);
    }
    if (!s.crashed && !s.paused) this.tickIfDue(s);
  }

  private handle(s: NodeSlot<N>, ev: Arrival): void {
    const now = this.time;
    let effects: Effect[];
    switch (ev.kind) {
      case 'packet':
        this.stats.packetsDelivered++;
        this.stats.bytesDelivered += ev.bytes.length;
        effects = this.guarded(s, 'packet', () => s.node.handlePacket(now, ev.from, ev.bytes));
        break;
      case 'join':
        effects = this.guarded(s, 'join', () => s.node.join(now, ev.seeds));
        break;
      case 'pp-request': {
        const from = this.slots[ev.op.from] as NodeSlot<N>;
        let reply: Uint8Array | null = null;
        const requestEffects = this.guarded(s, 'push-pull request', () => {
          const r = s.node.handlePushPull(now, from.address, ev.op.bytes);
          reply = r.value;
          return r.effects;
        });
        this.carry(s, requestEffects);
        this.answerPushPull(s, from, ev.op, reply);
        this.reschedule(s);
        return;
      }
      case 'pp-reply':
        if (ev.op.done) return;
        ev.op.done = true;
        this.stats.pushPullsCompleted++;
        effects = this.guarded(s, 'push-pull reply', () => s.node.handlePushPullReply(now, ev.from, ev.bytes));
        break;
      case 'pp-failed':
        if (ev.op.done) return;
        ev.op.done = true;
        this.stats.pushPullsFailed++;
        effects = this.guarded(s, 'push-pull failure', () => s.node.handlePushPullFailed(now, ev.op.toAddr));
        break;
    }
    this.carry(s, effects);
    this.reschedule(s);
  }

  private tickIfDue(s: NodeSlot<N>): void {
    const d = s.node.nextDeadline();
    if (d !== null && d <= this.time) this.carry(s, this.guarded(s, 'timer', () => s.node.tick(this.time)));
    this.reschedule(s);
  }

  /**
   * Runs one input of a node. An error it throws ends the run, unless onNodeError is set: then, as
   * the daemon's driver does, the input and its effects are lost, the error is counted and reported,
   * and the process goes on with whatever state the input left behind.
   */
  private guarded(s: NodeSlot<N>, input: string, call: () => Effect[]): Effect[] {
    const onError = this.opts.onNodeError;
    if (onError === undefined) return call();
    try {
      return call();
    } catch (err) {
      this.stats.nodeErrors++;
      onError(this.time, s.id, input, err);
      return [];
    }
  }

  /** Keeps exactly one live wake-up per node, at its deadline; a later deadline reuses the earlier wake-up. */
  protected reschedule(s: NodeSlot<N>): void {
    if (s.crashed || s.paused) return;
    const d = s.node.nextDeadline();
    if (d === null) return;
    const at = d > this.time ? d : this.time;
    if (at >= s.wakeAt) return;
    s.wakeGen++;
    s.wakeAt = at;
    this.queue.schedule(at, { kind: 'wake', node: s.index, gen: s.wakeGen, time: 0, seq: 0 });
  }

  protected carry(s: NodeSlot<N>, effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.send(s, e.to, e.bytes);
          break;
        case 'push-pull':
          this.startPushPull(s, e);
          break;
        case 'event':
          this.stats.memberEvents++;
          if ((this.opts.recordEvents ?? true) && this.events.length < (this.opts.eventLogMax ?? 1_000_000)) {
            this.events.push({ time: this.time, observer: s.id, event: e.event });
          } else {
            this.stats.eventsNotRecorded++;
          }
          this.opts.onEvent?.(this.time, s.id, e.event);
          break;
        case 'conflict':
          this.stats.nameConflicts++;
          this.opts.onConflict?.(this.time, s.id, e.conflict);
          break;
        case 'barrier':
          this.stats.barrierEvents++;
          this.barriers.push({ time: this.time, observer: s.id, event: e.event });
          this.opts.onBarrier?.(this.time, s.id, e.event);
          break;
        case 'rejected': {
          const r = this.stats.rejected;
          r.set(e.reason, (r.get(e.reason) ?? 0) + 1);
          break;
        }
        case 'service':
          this.stats.serviceEvents++;
          break;
      }
      this.opts.onEffect?.(this.time, s.id, e);
    }
  }

  private send(s: NodeSlot<N>, to: Address, bytes: Uint8Array): void {
    const st = this.stats;
    st.packetsSent++;
    st.bytesSent += bytes.length;
    s.bytesSent += bytes.length;
    const dst = this.byHost.get(to.host);
    if (dst === undefined || dst.address.port !== to.port) {
      this.drop('noRoute');
      return;
    }
    // Loss and partitions are decided at send time: a datagram already in flight when a partition
    // starts still lands, as it would within one latency on a real network.
    const fate = this.network.datagramFate(s.index, dst.index);
    if (fate !== null) {
      this.drop(fate);
      return;
    }
    // The receiver gets the sender's buffer itself (no copy); the core must not mutate input bytes.
    const at = this.time + this.network.latency(s.index, dst.index);
    this.queue.schedule(at, { kind: 'packet', node: dst.index, from: s.address, bytes, time: 0, seq: 0 });
  }

  /**
   * `effect` is read for its bytes only once the stream connects: a request to a peer that is down
   * or cut off is neither encoded (see SwimNodeOptions.lazyReconnectState) nor counted.
   */
  private startPushPull(s: NodeSlot<N>, effect: { readonly to: Address; readonly bytes: Uint8Array }): void {
    const st = this.stats;
    st.pushPullsStarted++;
    const to = effect.to;
    const dst = this.byHost.get(to.host);
    const net = this.network;
    // A stream needs both directions; an unreachable or dead peer shows up as a connect timeout.
    if (dst === undefined || dst.address.port !== to.port || dst.crashed ||
        !net.reachable(s.index, dst.index) || !net.reachable(dst.index, s.index)) {
      const refused: PushPullOp = { from: s.index, fromEpoch: s.epoch, toAddr: to, bytes: NOT_SENT, start: this.time, done: false };
      this.failPushPull(refused, this.time + (this.opts.connectTimeoutMs ?? 1000));
      return;
    }
    const bytes = effect.bytes;
    st.pushPullBytes += bytes.length;
    s.bytesSent += bytes.length;
    const op: PushPullOp = { from: s.index, fromEpoch: s.epoch, toAddr: to, bytes, start: this.time, done: false };
    this.queue.schedule(this.time + net.latency(s.index, dst.index), { kind: 'pp-request', node: dst.index, op, time: 0, seq: 0 });
    this.failPushPull(op, this.time + (this.opts.streamTimeoutMs ?? 10_000));
  }

  private answerPushPull(peer: NodeSlot<N>, initiator: NodeSlot<N>, op: PushPullOp, reply: Uint8Array | null): void {
    const back = this.time + this.network.latency(peer.index, initiator.index);
    if (reply === null) {
      // Closed without a reply: the initiator sees the close one trip later.
      this.failPushPull(op, back);
      return;
    }
    this.stats.pushPullBytes += reply.length;
    peer.bytesSent += reply.length;
    // A reply cut off by a partition never arrives; the stream timeout already pending ends it.
    if (!this.network.reachable(peer.index, initiator.index)) return;
    this.queue.schedule(back, { kind: 'pp-reply', node: op.from, op, from: peer.address, bytes: reply, time: 0, seq: 0 });
  }

  private failPushPull(op: PushPullOp, at: number): void {
    this.queue.schedule(at > this.time ? at : this.time, { kind: 'pp-failed', node: op.from, op, time: 0, seq: 0 });
  }

  private drop(cause: keyof SimStats['drops']): void {
    this.stats.packetsDropped++;
    this.stats.drops[cause]++;
  }
}

