/**
 * The simulator's internal records: one per simulated process, one per scheduled event. Events are
 * plain data dispatched on `kind` rather than closures, so a run of millions of events allocates one
 * small object per event and nothing else.
 */
import type { Address } from '../address.js';
import type { CoreNode } from '../core.js';

/** A push-pull stream in flight. Whichever of reply, failure or timeout reaches the initiator first wins. */
export interface PushPullOp {
  readonly from: number;
  /** The initiator's epoch: a reply must not reach a later process at the same address. */
  readonly fromEpoch: number;
  /** The address the initiator asked for, handed back on failure. */
  readonly toAddr: Address;
  readonly bytes: Uint8Array;
  readonly start: number;
  done: boolean;
}

interface Base {
  time: number;
  seq: number;
  /** Index of the node the event is for. */
  readonly node: number;
}

export interface WakeEvent extends Base { readonly kind: 'wake'; readonly gen: number }
export interface PacketEvent extends Base { readonly kind: 'packet'; readonly from: Address; readonly bytes: Uint8Array }
export interface PpRequestEvent extends Base { readonly kind: 'pp-request'; readonly op: PushPullOp }
export interface PpReplyEvent extends Base {
  readonly kind: 'pp-reply';
  readonly op: PushPullOp;
  readonly from: Address;
  readonly bytes: Uint8Array;
}
export interface PpFailedEvent extends Base { readonly kind: 'pp-failed'; readonly op: PushPullOp }
export interface ResumeEvent extends Base { readonly kind: 'resume'; readonly gen: number }
export interface JoinEvent extends Base { readonly kind: 'join'; readonly epoch: number; readonly seeds: readonly Address[] }

/** Inputs to a process; these wait in the receive queue while it is paused. */
export type Arrival = PacketEvent | PpRequestEvent | PpReplyEvent | PpFailedEvent | JoinEvent;
export type SimEvent = WakeEvent | ResumeEvent | Arrival;

export interface NodeSlot<N extends CoreNode> {
  readonly index: number;
  /** The simulator's handle of the node: unique in the simulation, and its member name unless given another. */
  readonly id: string;
  /** The name the node goes by in the cluster; two nodes may share one (cloned machines). */
  readonly memberName: string;
  readonly address: Address;
  node: N;
  /** Bumped on crash: events tied to the old process (its wake-ups, its streams, its joins) are void. */
  epoch: number;
  crashed: boolean;
  paused: boolean;
  /** Bumped on every pause and resume so that a superseded resume event is ignored. */
  pauseGen: number;
  /** Bumped whenever the pending wake-up is superseded. */
  wakeGen: number;
  /** Time of the live wake-up, Infinity when none is scheduled. */
  wakeAt: number;
  /** Inputs held while paused, in arrival order. */
  inbox: Arrival[];
  inboxDatagrams: number;
  bytesSent: number;
  restarts: number;
}

/** A 32-bit seed derived from the simulation seed and two small integers (splitmix-style finaliser). */
export function deriveSeed(seed: number, a: number, b: number): number {
  let h = (seed >>> 0) ^ Math.imul(a + 1, 0x9e3779b1) ^ Math.imul(b + 0x51ed, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A unique IPv4 literal per node index (10.0.0.1, 10.0.0.2, ...), valid for any address check. */
export function simHost(index: number): string {
  const n = index + 1;
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
