import type { Address } from './address.js';
import type { Effect, MemberView } from './effects.js';

/**
 * What a call into the core gives back: the value it was asked for and the effects the caller must
 * carry out (in order) before anything else reaches the core.
 */
export interface CoreResult<T> {
  readonly value: T;
  readonly effects: Effect[];
}

/**
 * The inputs of one node's core, as its drivers call them: the daemon's Driver on real sockets and
 * time, the simulator on virtual ones. SwimNode implements it; tests plug in small fakes. Every call
 * is handed the current time; timers are reported through nextDeadline() and fired by tick().
 */
export interface CoreNode {
  readonly name: string;
  /** Contact seeds with a push-pull join; the core retries with backoff until one answers. */
  join(now: number, seeds: readonly Address[]): Effect[];
  /** A datagram arrived. */
  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[];
  /** A push-pull stream request arrived; the value is the reply to write back (null: close without reply). */
  handlePushPull(now: number, from: Address, bytes: Uint8Array): CoreResult<Uint8Array | null>;
  /** The reply to a push-pull this node started. */
  handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[];
  /** A push-pull this node started failed (connect error, timeout, bad reply). */
  handlePushPullFailed(now: number, to: Address): Effect[];
  /** Fires every timer due at `now`; call it at or after nextDeadline(). */
  tick(now: number): Effect[];
  /** The earliest pending timer, or null when none is. */
  nextDeadline(): number | null;
  /** Announces a graceful leave. */
  leave(now: number): Effect[];
  /** Every known member, self included. */
  members(): readonly MemberView[];
}
