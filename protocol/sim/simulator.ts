/**
 * Deterministic network simulator: drives many instances of the sans-IO core with virtual time and
 * seeded randomness. Same seed and same calls => the same run, event for event.
 */
import type { Address } from '../address.js';
import type { Effect, MemberView } from '../effects.js';
import type { MemberStatus } from '../messages.js';
import type { SwimNode } from '../node.js';
import { SimEngine } from './engine.js';
import type { LinkOverride, NetworkConfig } from './network.js';
import { simHost, type NodeSlot } from './state.js';
import type { CoreNode } from '../core.js';
import type { AddNodeOptions, JoinAllOptions, RestartOptions } from './types.js';

export class Simulator<N extends CoreNode = SwimNode> extends SimEngine<N> {
  // ---- membership of the simulation -------------------------------------------------------------

  /**
   * Adds a running node (not yet joined to anything) and returns its id, by which every other method
   * addresses it. Ids default to n0, n1, ...; the member name is the id unless `opts.memberName`
   * gives another, which may repeat an existing node's name (a cloned machine on another host).
   */
  addNode(id?: string, opts: AddNodeOptions = {}): string {
    const index = this.slots.length;
    const nodeId = id ?? `n${index}`;
    if (this.byId.has(nodeId)) throw new Error(`duplicate simulated node id: ${nodeId}`);
    const memberName = opts.memberName ?? nodeId;
    this.network.addNode(index);
    const address: Address = { host: simHost(index), port: this.port };
    const slot: NodeSlot<N> = {
      index, id: nodeId, memberName, address, node: this.build(memberName, address, index, 0),
      epoch: 0, crashed: false, paused: false, pauseGen: 0, wakeGen: 0, wakeAt: Infinity,
      inbox: [], inboxDatagrams: 0, bytesSent: 0, restarts: 0,
    };
    this.slots.push(slot);
    this.byId.set(nodeId, slot);
    this.byHost.set(address.host, slot);
    this.reschedule(slot);
    return nodeId;
  }

  addNodes(count: number): string[] {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(this.addNode());
    return names;
  }

  /** Ids of every node ever added, crashed ones included. */
  names(): string[] {
    return this.slots.map((s) => s.id);
  }

  /** The member name node `id` goes by in the cluster. */
  memberName(id: string): string {
    return this.slot(id).memberName;
  }

  /** The current process of `name` (a new object after each restart). */
  node(name: string): N {
    return this.slot(name).node;
  }

  address(name: string): Address {
    return this.slot(name).address;
  }

  /** Region of `name` (0 without regions; see SimulatorOptions.regions). */
  regionOf(name: string): number {
    return this.network.region(this.slot(name).index);
  }

  isUp(name: string): boolean {
    return !this.slot(name).crashed;
  }

  isPaused(name: string): boolean {
    return this.slot(name).paused;
  }

  /**
   * Bytes `name` sent in datagrams and push-pull requests and replies, across restarts (requests
   * to a peer that is down or cut off are not counted: the connection is refused first).
   */
  bytesSentBy(name: string): number {
    return this.slot(name).bytesSent;
  }

  // ---- inputs -----------------------------------------------------------------------------------

  /** Makes `name` join through `seeds` (names), `delayMs` from now. */
  join(name: string, seeds: readonly string[], delayMs = 0): void {
    const s = this.slot(name);
    const addrs = seeds.filter((n) => n !== name).map((n) => this.slot(n).address);
    if (addrs.length === 0) return;
    this.queue.schedule(this.time + delayMs, { kind: 'join', node: s.index, epoch: s.epoch, seeds: addrs, time: 0, seq: 0 });
  }

  /** Every running node joins through `seeds`; a seed joins through the other seeds (a lone seed founds the cluster). */
  joinAll(seeds: readonly string[], opts: JoinAllOptions = {}): void {
    const spread = opts.spreadMs ?? 0;
    for (const s of this.slots) {
      if (s.crashed) continue;
      this.join(s.id, seeds, spread > 0 ? this.ctlRng.next() * spread : 0);
    }
  }

  /** Runs an arbitrary input on a running node now and carries out its effects (e.g. leave). */
  act(name: string, input: (node: N, now: number) => Effect[]): void {
    const s = this.slot(name);
    if (s.crashed || s.paused) throw new Error(`${name} is ${s.crashed ? 'crashed' : 'paused'}`);
    this.carry(s, input(s.node, this.time));
    this.reschedule(s);
  }

  // ---- faults -----------------------------------------------------------------------------------

  /** The process dies: nothing more runs, traffic to it is dropped, everything pending for it is void. */
  crash(name: string): void {
    const s = this.slot(name);
    if (s.crashed) return;
    s.crashed = true;
    s.paused = false;
    s.epoch++;
    s.pauseGen++;
    s.wakeGen++;
    s.wakeAt = Infinity;
    s.inbox = [];
    s.inboxDatagrams = 0;
  }

  /**
   * A new process with the same name and address; crashes the old one first. It remembers nothing of
   * the old one but what `opts` hands it (see RestartOptions).
   */
  restart(name: string, opts: RestartOptions = {}): void {
    const s = this.slot(name);
    this.crash(name);
    s.restarts++;
    s.node = this.build(s.memberName, s.address, s.index, s.restarts, opts);
    s.crashed = false;
    this.reschedule(s);
    if (opts.seeds !== undefined) this.join(name, opts.seeds);
  }

  /**
   * Freezes the process for `durationMs` (SIGSTOP): no ticks and no input; arrivals queue up (datagrams
   * beyond recvQueueMax are dropped) and are handled in order on resume, then an overdue timer fires late.
   * Pausing a paused node restarts the pause from now.
   */
  pause(name: string, durationMs: number): void {
    const s = this.slot(name);
    if (s.crashed) throw new Error(`${name} is crashed`);
    s.paused = true;
    s.pauseGen++;
    s.wakeGen++;
    s.wakeAt = Infinity;
    this.queue.schedule(this.time + durationMs, { kind: 'resume', node: s.index, gen: s.pauseGen, time: 0, seq: 0 });
  }

  /** Ends a pause now (before its scheduled end). */
  resume(name: string): void {
    const s = this.slot(name);
    if (s.paused) this.wakeUp(s);
  }

  /**
   * Delivers raw bytes to running node `to` as a datagram from `from`, `delayMs` from now: forged or
   * malformed input from a host outside the simulation (no partition or loss applies to it).
   */
  injectDatagram(to: string, from: Address, bytes: Uint8Array, delayMs = 0): void {
    if (this.byHost.has(from.host)) throw new Error(`${from.host} belongs to a simulated node; inject from an outside address`);
    this.inject(this.slot(to), from, bytes, delayMs);
  }

  // ---- network ----------------------------------------------------------------------------------

  /** Changes global latency, jitter or loss from now on. */
  configure(patch: Partial<NetworkConfig>): void {
    this.network.setGlobal(patch);
  }

  /** Overrides (or, with null, clears) the settings of the link from -> to; `both` also sets to -> from. */
  setLink(from: string, to: string, o: LinkOverride | null, both = false): void {
    const a = this.slot(from).index;
    const b = this.slot(to).index;
    this.network.setLink(a, b, o);
    if (both) this.network.setLink(b, a, o);
  }

  /** Loss applied to every datagram `name` sends or receives. */
  setNodeLoss(name: string, loss: number): void {
    this.network.setNodeLoss(this.slot(name).index, loss);
  }

  /** Symmetric partition; nodes not named form one more group. Replaces any previous grouping. */
  partition(groups: readonly (readonly string[])[]): void {
    this.network.partition(groups.map((g) => g.map((n) => this.slot(n).index)));
  }

  /** `from` can no longer reach `to`; `to` still reaches `from`. */
  blockOneWay(from: string, to: string): void {
    this.network.blockOneWay(this.slot(from).index, this.slot(to).index);
  }

  unblockOneWay(from: string, to: string): void {
    this.network.unblockOneWay(this.slot(from).index, this.slot(to).index);
  }

  /** Removes all partitions and one-way blocks. */
  heal(): void {
    this.network.heal();
  }

  // ---- running ----------------------------------------------------------------------------------

  runFor(ms: number): void {
    this.runUntil(this.time + ms);
  }

  /**
   * Runs until `pred` holds, checking every `checkEveryMs`; returns the time it was first seen true
   * (so the answer is precise to one check interval), or null if `maxMs` passed first.
   */
  runUntilCondition(pred: (sim: this) => boolean, maxMs: number, checkEveryMs = 10): number | null {
    const end = this.time + maxMs;
    for (;;) {
      if (pred(this)) return this.time;
      if (this.time >= end) return null;
      this.runUntil(Math.min(end, this.time + checkEveryMs));
    }
  }

  // ---- observing --------------------------------------------------------------------------------

  /** Each running (not crashed) node's member list, paused nodes included. */
  views(): Map<string, readonly MemberView[]> {
    const out = new Map<string, readonly MemberView[]>();
    for (const s of this.slots) if (!s.crashed) out.set(s.id, s.node.members());
    return out;
  }

  /** Whether `pred` holds for the member list of every running node. */
  allAgree(pred: (members: readonly MemberView[], observer: string) => boolean): boolean {
    for (const s of this.slots) if (!s.crashed && !pred(s.node.members(), s.id)) return false;
    return true;
  }

  /** How `observer` currently sees `target`; null if unknown to it (or observer is crashed). */
  membersStatusAt(observer: string, target: string): MemberStatus | null {
    const s = this.slot(observer);
    if (s.crashed) return null;
    for (const m of s.node.members()) if (m.name === target) return m.status;
    return null;
  }
}
