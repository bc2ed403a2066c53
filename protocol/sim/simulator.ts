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
import type { JoinAllOptions, RestartOptions, SimulatedNode } from './types.js';

export class Simulator<N extends SimulatedNode = SwimNode> extends SimEngine<N> {
  // ---- membership of the simulation -------------------------------------------------------------

  /**
   * Adds a running node (not yet joined to anything). Names default to n0, n1, ... `memberName`
   * runs it under another slot's member name (a cloned host); it is still addressed here as `name`.
   */
  addNode(name?: string, memberName?: string): string {
    const index = this.slots.length;
    const nodeName = name ?? `n${index}`;
    if (this.byName.has(nodeName)) throw new Error(`duplicate simulated node name: ${nodeName}`);
    this.network.addNode(index);
    const address: Address = { host: simHost(index), port: this.port };
    const slot: NodeSlot<N> = {
      index, name: nodeName, memberName: memberName ?? nodeName, address,
      node: this.build(memberName ?? nodeName, address, index, 0, undefined),
      epoch: 0, crashed: false, paused: false, pauseGen: 0, wakeGen: 0, wakeAt: Infinity,
      inbox: [], inboxDatagrams: 0, bytesSent: 0, restarts: 0,
    };
    this.slots.push(slot);
    this.byName.set(nodeName, slot);
    this.byHost.set(address.host, slot);
    this.reschedule(slot);
    return nodeName;
  }

  addNodes(count: number): string[] {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(this.addNode());
    return names;
  }

  names(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** The current process of `name` (a new object after each restart). */
  node(name: string): N {
    return this.slot(name).node;
  }

  address(name: string): Address {
    return this.slot(name).address;
  }

  isUp(name: string): boolean {
    return !this.slot(name).crashed;
  }

  isPaused(name: string): boolean {
    return this.slot(name).paused;
  }

  /** Bytes `name` sent in datagrams and push-pull requests and replies, across restarts. */
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
      this.join(s.name, seeds, spread > 0 ? this.ctlRng.next() * spread : 0);
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

  /** A new process with the same name and address and no memory of the old one; crashes the old one first. */
  restart(name: string, opts: RestartOptions = {}): void {
    const s = this.slot(name);
    this.crash(name);
    s.restarts++;
    s.node = this.build(s.memberName, s.address, s.index, s.restarts, opts.incarnation);
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
    for (const s of this.slots) if (!s.crashed) out.set(s.name, s.node.members());
    return out;
  }

  /** Whether `pred` holds for the member list of every running node. */
  allAgree(pred: (members: readonly MemberView[], observer: string) => boolean): boolean {
    for (const s of this.slots) if (!s.crashed && !pred(s.node.members(), s.name)) return false;
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
