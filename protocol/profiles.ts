/**
 * Timing profiles. Every protocol timing lives here; nothing else in swimd hard-codes one.
 * All durations are milliseconds. The README's "Profiles" section explains the choices.
 */
export interface Profile {
  readonly name: 'lan' | 'wan' | 'local';
  /** Time between probes started by one node. */
  readonly probeIntervalMs: number;
  /**
   * Wait for a direct ack before starting indirect probes, when `rto` is null; with `rto`, the wait
   * for the first acks only, while nothing has been measured yet.
   */
  readonly probeTimeoutMs: number;
  /**
   * Per-member probe timeouts from measured round trips (RFC 6298, see rtt.ts), within these
   * bounds; null: every probe waits probeTimeoutMs.
   */
  readonly rto: RtoBounds | null;
  /**
   * Fresh catalog updates go down the update tree over the member ring (update-tree.ts), near
   * relays first, and the queue repeats digests (type have) that a member lacking the entry answers
   * with a want. Off: a fresh catalog update is flooded on first receipt to ceil(ln n) + extra
   * members and the queue repeats the whole entry. Relay, have and want messages are handled either
   * way, so agents with it on and off work together. On in every profile: each member is sent a
   * change about once instead of some 15–20 times, and a change crosses each long link once.
   */
  readonly updateTree: boolean;
  /** Members asked to probe indirectly after a direct probe fails. */
  readonly indirectChecks: number;
  /** α in Lifeguard's suspicion minimum: α · max(1, log10(n)) · probe interval. */
  readonly suspicionMult: number;
  /** β: the suspicion maximum is β times the minimum. */
  readonly suspicionMaxMult: number;
  /** λ: each update is sent λ · ceil(log10(n + 1)) times by periodic gossip and piggybacking. */
  readonly retransmitMult: number;
  /** Periodic gossip while updates are queued. */
  readonly gossipIntervalMs: number;
  /** Members each periodic gossip goes to. */
  readonly gossipFanout: number;
  /** Delay that batches fresh updates before forwarding them on first receipt. */
  readonly forwardBatchMs: number;
  /** Extra members, beyond ceil(ln n), that a fresh update is forwarded to on first receipt. */
  readonly forwardFanoutExtra: number;
  /** Base push-pull (anti-entropy) interval; scaled up with log2 of the cluster size above 32 nodes. */
  readonly pushPullIntervalMs: number;
  /**
   * While some members are dead (not left), or addresses of reaped dead members are kept, a
   * push-pull with one of them this often (randomised 0.5x-1.5x): a partition that heals is
   * noticed without waiting for anyone to rejoin. Seeds that are not live members are retried on
   * the same tick, with backoff.
   */
  readonly reconnectIntervalMs: number;
  /** How long dead and left members are remembered before being reaped. */
  readonly reapAfterMs: number;
  /**
   * How long the address of a reaped dead member is kept for reconnect attempts: far longer than
   * reapAfterMs, so that the two sides of a partition that outlasted the reap time still find
   * each other when it heals.
   */
  readonly reconnectRetentionMs: number;
  /** Backoff cap of retries of a configured seed that is not a live member. */
  readonly seedRetryMaxMs: number;
  /**
   * Service entries whose owner has no member record here are dropped once this long passed
   * without a newer version (a registration may arrive just ahead of its owner's alive message).
   */
  readonly orphanEntryGraceMs: number;
  /** Upper bound of the local-health multiplier (Lifeguard awareness). */
  readonly awarenessMax: number;
  /** Interval between join retries while no seed has answered. */
  readonly joinRetryMs: number;
  /**
   * Two live processes with one name whose run times differ by less than this count as started
   * together: the one at the lower address keeps the name. Otherwise the newer one steps aside.
   */
  readonly nameClaimTieMs: number;
  /** After a check of an address claiming our name found it silent, no new check of it for this long. */
  readonly nameClaimSilentHoldMs: number;
}

/** Bounds of the adaptive probe timeout, ms. */
export interface RtoBounds {
  /** Lower bound: a round trip shorter than this is below the scheduling noise of a busy host. */
  readonly minMs: number;
  /** Upper bound. */
  readonly maxMs: number;
  /**
   * For a member not measured yet (TCP's initial RTO is 1 s): at least this, or 1.25 × the
   * farthest smoothed round trip measured when that is larger. In a large cluster most members are
   * unmeasured (each is probed once per round of all members), so this is the wait of most probes
   * of a crashed member, twice over: ours, then the relays'.
   */
  readonly initialMs: number;
}

export const PROFILES: Readonly<Record<Profile['name'], Profile>> = {
  lan: {
    name: 'lan',
    probeIntervalMs: 300,
    probeTimeoutMs: 150,
    rto: { minMs: 100, maxMs: 1_000, initialMs: 300 },
    updateTree: true,
    indirectChecks: 3,
    suspicionMult: 1,
    suspicionMaxMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 50,
    gossipFanout: 3,
    forwardBatchMs: 2,
    forwardFanoutExtra: 2,
    pushPullIntervalMs: 30_000,
    reconnectIntervalMs: 5_000,
    reapAfterMs: 30 * 60_000,
    reconnectRetentionMs: 24 * 60 * 60_000,
    seedRetryMaxMs: 60_000,
    orphanEntryGraceMs: 60_000,
    awarenessMax: 8,
    joinRetryMs: 1_000,
    nameClaimTieMs: 1_000,
    nameClaimSilentHoldMs: 3_000,
  },
  wan: {
    name: 'wan',
    probeIntervalMs: 3_000,
    probeTimeoutMs: 1_500,
    rto: { minMs: 100, maxMs: 5_000, initialMs: 1_500 },
    updateTree: true,
    indirectChecks: 3,
    suspicionMult: 4,
    suspicionMaxMult: 6,
    retransmitMult: 4,
    gossipIntervalMs: 300,
    gossipFanout: 4,
    forwardBatchMs: 5,
    forwardFanoutExtra: 2,
    pushPullIntervalMs: 60_000,
    reconnectIntervalMs: 30_000,
    reapAfterMs: 60 * 60_000,
    reconnectRetentionMs: 24 * 60 * 60_000,
    seedRetryMaxMs: 5 * 60_000,
    orphanEntryGraceMs: 5 * 60_000,
    awarenessMax: 8,
    joinRetryMs: 3_000,
    nameClaimTieMs: 2_000,
    nameClaimSilentHoldMs: 30_000,
  },
  local: {
    name: 'local',
    probeIntervalMs: 200,
    probeTimeoutMs: 50,
    rto: null,
    updateTree: true,
    indirectChecks: 2,
    suspicionMult: 2,
    suspicionMaxMult: 4,
    retransmitMult: 3,
    gossipIntervalMs: 30,
    gossipFanout: 3,
    forwardBatchMs: 1,
    forwardFanoutExtra: 2,
    pushPullIntervalMs: 10_000,
    reconnectIntervalMs: 2_000,
    reapAfterMs: 5 * 60_000,
    reconnectRetentionMs: 60 * 60_000,
    seedRetryMaxMs: 10_000,
    orphanEntryGraceMs: 20_000,
    awarenessMax: 8,
    joinRetryMs: 500,
    nameClaimTieMs: 1_000,
    nameClaimSilentHoldMs: 2_000,
  },
};

export function isProfileName(s: string): s is Profile['name'] {
  return s === 'lan' || s === 'wan' || s === 'local';
}

/** Backoff cap of join retries while no seed has answered. */
export const JOIN_RETRY_MAX_MS = 30_000;

/**
 * Bounds of the interval between reaper runs (a tenth of reapAfterMs within them): catalog
 * collection runs at this pace even with nobody to reap.
 */
export const REAP_CHECK_MIN_MS = 1_000;
export const REAP_CHECK_MAX_MS = 60_000;

/**
 * Last-chance probes of a suspect go out at the first of these multiples of the probe timeout before
 * its suspicion expires that is still ahead.
 */
export const LAST_CHANCE_OFFSETS: readonly number[] = [8, 6, 4, 3, 2, 1];

/**
 * A relay nacks once this share of the requester's remaining window has passed without an answer
 * from the target (Lifeguard, footnote 5), leaving the rest for the nack's trip back.
 */
export const RELAY_NACK_SHARE = 0.8;

/** Between rounds of a propagation barrier's confirmation requests: a couple of gossip rounds. */
export function barrierRetryMs(p: Profile): number {
  return 2 * p.gossipIntervalMs;
}

/**
 * The window a relay assumes when a ping-req does not say (older agents): a requester at full
 * health starts indirect probes at its probe timeout and judges at its next probe tick.
 */
export function relayBudgetDefaultMs(p: Profile): number {
  return p.probeIntervalMs - p.probeTimeoutMs;
}

/**
 * A member counts as near (proximity.ts) when its smoothed round trip is at most this multiple of
 * the nearest member's, plus PROXIMITY_NEAR_SLACK_MS for jitter: hosts of one region or zone, and
 * of regions about as close, but not across a sea.
 */
export const PROXIMITY_NEAR_FACTOR = 3;
export const PROXIMITY_NEAR_SLACK_MS = 4;

/**
 * A member that hears of a catalog update it lacks (a digest) asks the sender for it at once; if
 * the entry has not arrived this long after a request, it asks again (the member that sent it a
 * digest last): two gossip rounds, well above the round trip to the near members most digests
 * come from.
 */
export function wantRetryMs(p: Profile): number {
  return 2 * p.gossipIntervalMs;
}
