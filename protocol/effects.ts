import type { Address } from './address.js';
import type { DecodeErrorReason, Health, MemberStatus } from './messages.js';

/** A member as the local node sees it. */
export interface MemberView {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
}

/** A change in the local view of one member (including the first time it is seen). */
export interface MemberEvent {
  readonly type: 'member';
  readonly member: MemberView;
  /** Status before this change; null when the member was unknown. */
  readonly previous: MemberStatus | null;
  /**
   * True when a dead or left member was forgotten (reaped): it is no longer in the view. `member`
   * is its last state and `previous` that state's status.
   */
  readonly reaped?: boolean;
}

/** A service instance as the local node sees it (its owner's death shows as critical health). */
export interface ServiceView {
  readonly node: string;
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly version: string;
  readonly weight: number;
  readonly health: Health;
  readonly draining: boolean;
  /** The owner's version of this entry. */
  readonly rev: number;
}

export type ServiceChange = 'registered' | 'updated' | 'deregistered';

/** A change in the local view of one service instance. */
export interface ServiceEvent {
  readonly type: 'service';
  readonly change: ServiceChange;
  /** The entry after the change (for a deregistration: as it was last seen). */
  readonly service: ServiceView;
  readonly previous: ServiceView | null;
}

/** A service's traffic split as the local node holds it. */
export interface SplitView {
  readonly service: string;
  /** Version label → whole percent; the values sum to 100. */
  readonly weights: Readonly<Record<string, number>>;
  /** The member that wrote it, and its hybrid clock stamp (hlc.ts). */
  readonly writer: string;
  readonly wallMs: number;
  readonly counter: number;
}

/** The split of one service changed here: set, replaced, or cleared (`split` null). */
export interface SplitEvent {
  readonly type: 'split';
  readonly service: string;
  readonly split: SplitView | null;
  readonly previous: SplitView | null;
  /** The write that made the change (for a clearing: who cleared it, and when). */
  readonly writer: string;
  readonly wallMs: number;
  readonly counter: number;
}

/** How a member alive at some point of a wait stopped holding it up without confirming. */
export type BarrierExclusion = 'dead' | 'left';

/** A member that was alive at some point of a wait, did not confirm, and is no longer waited for. */
export interface BarrierExcluded {
  readonly name: string;
  /** Declared dead, or left, during the wait. */
  readonly status: BarrierExclusion;
}

/**
 * A propagation barrier finished: every member still alive confirmed (done) or time ran out. The
 * members asked follow the membership during the wait; "confirmed by all" holds only when
 * `excluded` is empty as well.
 */
export interface BarrierEvent {
  readonly type: 'barrier';
  readonly barrierId: number;
  readonly serviceId: string;
  readonly rev: number;
  readonly done: boolean;
  /** Members that confirmed. */
  readonly confirmed: readonly string[];
  /** Members that had not confirmed when time ran out (empty when done). */
  readonly pending: readonly string[];
  /** Members alive at some point of the wait that were declared dead or left without confirming. */
  readonly excluded: readonly BarrierExcluded[];
  readonly elapsedMs: number;
  /** Set when the wait was for a service's split, not an entry (serviceId is then '' and rev 0). */
  readonly split?: string;
}

/**
 * Two processes claim one member name at different addresses (cloned hosts keep the host name).
 * The live address already held is kept; the other claim is refused.
 */
export interface NameConflict {
  readonly name: string;
  /** The address kept for `name`: this node's own when `about` is 'self'. */
  readonly held: Address;
  /** The address of the refused claim. */
  readonly other: Address;
  /**
   * 'self': another live process answered to this node's own name at `other`.
   * 'member': an alive claim for another member at a second address, while the first is still live.
   */
  readonly about: 'self' | 'member';
  /**
   * For 'self': 'join' when this node met the other process while joining (it must not stay: it
   * is the newcomer), 'running' when both were already members (it keeps its state and reports).
   */
  readonly phase: 'join' | 'running';
  /**
   * For 'self': this node is the newer of the two processes (or, started together, the one at the
   * higher address): it refuses to stay, sends nothing more, and the daemon exits. Always false
   * for 'member'.
   */
  readonly stepAside: boolean;
}

/**
 * What the core asks its driver to do. The driver carries effects out in order and never
 * interprets them beyond that.
 */
export type Effect =
  /** Send one datagram. */
  | { readonly kind: 'send'; readonly to: Address; readonly bytes: Uint8Array }
  /**
   * Open a reliable stream to `to`, write `bytes`, read the peer's reply and hand it to
   * `handlePushPullReply`; on any failure call `handlePushPullFailed`.
   */
  | { readonly kind: 'push-pull'; readonly to: Address; readonly bytes: Uint8Array; readonly join: boolean }
  /** The local view of a member changed. */
  | { readonly kind: 'event'; readonly event: MemberEvent }
  /** The local view of a service instance changed. */
  | { readonly kind: 'service'; readonly event: ServiceEvent }
  /** The local view of a service's traffic split changed. */
  | { readonly kind: 'split'; readonly event: SplitEvent }
  /** A propagation barrier finished. */
  | { readonly kind: 'barrier'; readonly event: BarrierEvent }
  /** A name claimed by two processes; the driver logs and counts it, and stops a joining node. */
  | { readonly kind: 'conflict'; readonly conflict: NameConflict }
  /** An input was dropped; the driver counts it by reason. */
  | { readonly kind: 'rejected'; readonly reason: DecodeErrorReason | PolicyRejectReason; readonly detail: string };

/**
 * Inputs that decode fine but that the core refuses. `internal_error`: a timer handler failed; the
 * core dropped what that handler had begun and went on with the other timers.
 */
export type PolicyRejectReason = 'not_for_us' | 'stale_seq' | 'from_self' | 'limit' | 'implausible_incarnation' | 'internal_error';
