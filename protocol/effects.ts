import type { Address } from './address.js';
import type { DecodeErrorReason, MemberStatus } from './messages.js';

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
  /** An input was dropped; the driver counts it by reason. */
  | { readonly kind: 'rejected'; readonly reason: DecodeErrorReason | PolicyRejectReason; readonly detail: string };

/** Inputs that decode fine but that the core refuses. */
export type PolicyRejectReason = 'not_for_us' | 'stale_seq' | 'from_self' | 'limit';
