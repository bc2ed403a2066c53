// PUBLIC API SKELETON — implementation in progress.
import type { Address } from './address.js';
import type { Effect, MemberView } from './effects.js';
import type { Profile } from './profiles.js';

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
}

export interface NodeStats {
  probesSent: number;
  probesFailed: number;
  indirectProbesSent: number;
  suspicionsRaised: number;
  suspicionsRefuted: number;
  declaredDead: number;
  probeRttSumMs: number;
  probeRttCount: number;
}

export class SwimNode {
  readonly name: string;
  readonly stats: NodeStats = {
    probesSent: 0, probesFailed: 0, indirectProbesSent: 0, suspicionsRaised: 0,
    suspicionsRefuted: 0, declaredDead: 0, probeRttSumMs: 0, probeRttCount: 0,
  };
  constructor(opts: SwimNodeOptions) { this.name = opts.name; void opts; }
  /** Contact seeds with a push-pull join; retries until one answers. */
  join(now: number, seeds: readonly Address[]): Effect[] { void now; void seeds; return []; }
  /** A datagram arrived. */
  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] { void now; void from; void bytes; return []; }
  /** A push-pull stream request arrived; returns the reply to write back (null: close without reply). */
  handlePushPull(now: number, from: Address, bytes: Uint8Array): { reply: Uint8Array | null; effects: Effect[] } { void now; void from; void bytes; return { reply: null, effects: [] }; }
  /** The reply to a push-pull we started. */
  handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] { void now; void from; void bytes; return []; }
  /** A push-pull we started failed (connect error, timeout, bad reply). */
  handlePushPullFailed(now: number, to: Address): Effect[] { void now; void to; return []; }
  /** Timers: call tick(now) at or after nextDeadline(). */
  tick(now: number): Effect[] { void now; return []; }
  nextDeadline(): number | null { return null; }
  /** Announce a graceful leave; afterwards the node stops probing. */
  leave(now: number): Effect[] { void now; return []; }
  /** Every known member including self. */
  members(): MemberView[] { return []; }
  self(): MemberView { throw new Error('not implemented'); }
  /** Lifeguard local-health score (0 = healthy). */
  localHealth(): number { return 0; }
  /** Members counted as part of the cluster (alive + suspect), including self. */
  liveCount(): number { return 0; }
}
