/**
 * Every bound in swimd, stated once. Anything that grows with untrusted input is capped here,
 * and the caps are documented in the README ("Limits").
 */
/** Bytes of a cluster label (see LIMITS.clusterLabelBytesMax); named here because wrapBytesMax builds on it. */
const CLUSTER_LABEL_BYTES_MAX = 64;
/** Labelled header: type, length, then the label. */
const LABEL_HEADER_BYTES = 3;
/** Encryption envelope: 2 header + 12 nonce + 16 tag. */
const ENVELOPE_BYTES = 2 + 12 + 16;

export const LIMITS = {
  /** Default UDP payload size; fits a 1500-byte Ethernet MTU with IP/UDP headers and room to spare. */
  packetBytesDefault: 1400,
  /** Largest UDP payload the protocol will ever produce or accept (IPv4 UDP maximum). */
  packetBytesMax: 65_507,
  /** Smallest configurable packet size: one full alive message plus headers must fit. */
  packetBytesMin: 512,
  /** Member names: bytes of UTF-8. */
  nameBytesMax: 128,
  /** Addresses: IPv4/IPv6 literals or host names. */
  addressBytesMax: 255,
  /** Messages inside one compound packet. */
  compoundPartsMax: 255,
  /** Members accepted in one push-pull state; a larger state is refused whole. */
  pushPullMembersMax: 10_000,
  /** Bytes of one push-pull stream (request or reply). */
  streamBytesMax: 8 * 1024 * 1024,
  /** Bytes of a cluster label, in config and in the labelled header (type 15). */
  clusterLabelBytesMax: CLUSTER_LABEL_BYTES_MAX,
  /**
   * Most bytes the daemon's transport layer adds around a packet or stream payload: the labelled
   * header (3 + label) and the encryption envelope (2 header + 12 nonce + 16 tag).
   */
  wrapBytesMax: LABEL_HEADER_BYTES + CLUSTER_LABEL_BYTES_MAX + ENVELOPE_BYTES,
  /** Members tracked by one node, counting dead and left members not yet reaped (equal to the push-pull cap, so a full state always fits). */
  membersMax: 10_000,
  /** Pending updates in the dissemination queue; the oldest, most-sent are dropped beyond it. */
  broadcastQueueMax: 4096,
  /** Share of a packet's budget membership updates may fill while catalog updates wait in the queue. */
  queueMemberShare: 0.75,
  /** Queued updates of one kind passed over for not fitting before a packet stops looking (a queue of large parts must not make every packet O(queue)). */
  queueScanSkipsMax: 32,
  /** Room left in a packet, bytes, below which no queued update is looked for. */
  queuePartBytesMin: 8,
  /** Packets one forward batch of fresh updates may send to each target; the queue carries the rest. */
  forwardPacketsMax: 4,
  /**
   * A suspect that answered one of our probes after the suspicion began is alive, whatever the
   * gossip says; its refutation has only not reached us yet. Its death is put off by one probe
   * interval at a time, at most this many times, while we keep probing it with the suspicion.
   */
  suspicionPostponementsMax: 10,
  /** Probes in flight (direct and indirect, including those relayed for others). */
  pendingProbesMax: 1024,
  /**
   * Other addresses claiming this node's own name that it tracks at once: being checked, found
   * silent, or found held by another live process. Claims beyond it are dropped until one ends.
   */
  nameClaimsMax: 16,
  /**
   * Largest answer window a ping-req may give its relay, ms (the wan probe interval at the highest
   * awareness is 24 s); a relayed probe is remembered no longer than this.
   */
  probeBudgetMsMax: 60_000,
  /** Largest run time an ack reports, ms (about 49.7 days); two processes older than it count as started together. */
  uptimeMsMax: 0xffff_ffff,
  /** Seed addresses given to one join, and seeds kept for retries across joins. */
  joinSeedsMax: 64,
  /** Addresses of reaped dead members kept for reconnect attempts; the oldest go first beyond it. */
  reapedAddressesMax: 1024,
  /**
   * Largest "ms since the status changed" of a dead or left member in a push-pull state (unsigned
   * 32-bit on the wire, about 49 days); an importer clamps it to its reap time anyway.
   */
  memberAgeMsMax: 0xffff_ffff,
  /** Service ids and names: bytes of UTF-8. */
  serviceIdBytesMax: 128,
  /** Tags on one service instance, and bytes of one tag. */
  serviceTagsMax: 32,
  serviceTagBytesMax: 64,
  /** Meta pairs on one service instance, and bytes of one key and of one value. */
  serviceMetaMax: 32,
  serviceMetaKeyBytesMax: 64,
  serviceMetaValueBytesMax: 256,
  /** Version label of a service instance. */
  serviceVersionBytesMax: 64,
  /** Largest weight; 0 means "registered, send nothing". */
  serviceWeightMax: 65_535,
  /**
   * An encoded entry must leave this much of a packet free, so it always fits beside a probe and
   * its headers; a registration that does not fit is refused.
   */
  serviceReserveBytes: 400,
  /** Service instances one node may own (tombstones included). */
  servicesPerNodeMax: 512,
  /** Catalog entries one node holds in total, tombstones included; also the push-pull cap. */
  servicesMax: 20_000,
  /**
   * Bytes of catalog entries one push-pull state carries. A larger catalog goes in pages, in key
   * order: a joiner asks its seed for the next page until it has all of them, and each periodic
   * exchange asks for the page after the one before. Half the stream, so a full member list (never
   * paged: membersMax equals pushPullMembersMax) always fits beside it.
   */
  pushPullServiceBytesMax: 4 * 1024 * 1024,
  /**
   * Pages one join fetches from its seed. The largest entry the field limits allow encodes to
   * 13,280 bytes, so a page holds at least 315 entries and servicesMax entries take at most 64
   * pages (the rest is headroom for entries added while paging). A seed that offers more is cut off
   * there, and periodic push-pull brings the rest.
   */
  pushPullPagesMax: 72,
  /** Propagation barriers in progress at once on one node. */
  barriersMax: 256,
  /** Nesting depth the decoder accepts in any value. */
  decodeDepthMax: 8,
  /** Probe sequence numbers are unsigned 32-bit on the wire; senders wrap to 0 past this. */
  seqMax: 0xffff_ffff,
  /**
   * Incarnations and catalog versions are unsigned 32-bit on the wire (a decoder refuses anything
   * larger) and compare as serial numbers (serial.ts): past this value they wrap to 0, which is newer.
   */
  incarnationMax: 0xffff_ffff,
  /**
   * An accusation (suspect or dead) about another member whose incarnation is newer than the one
   * held by more than this is refused as implausible. Honest incarnations move by one per
   * refutation and one per restart, so an honest accusation is never more than a handful ahead;
   * this leaves room for a member that refuted tens of thousands of times while we were cut off.
   * Values a member says about itself (alive, leave) are never bounded: the owner must always be
   * able to outbid whatever was said about it (daemon/SECURITY.md, "Protocol abuse").
   */
  incarnationJumpMax: 65_536,
  /**
   * Members one step of the update tree sends to (ring.ts): an arc of up to this many members is
   * sent to each directly, a larger one is split into about its square root of sub-arcs, at most
   * this many. One fresh update thus costs its origin at most this many datagrams, and reaches
   * 4,096 members in two steps, a million in four.
   */
  relayFanoutMax: 64,
  /** Members whose round trip this node remembers (proximity.ts); the longest unmeasured go first beyond it. */
  proximityPeersMax: 10_000,
  /**
   * Catalog entries asked for (type want) and not yet received. A digest of a further missing entry
   * is not answered while this many are outstanding; a later digest asks for it.
   */
  wantsPendingMax: 256,
  /** Times one missing entry is asked for (want) before the node leaves it to push-pull. */
  wantAttemptsMax: 6,
  /** Versions one traffic split names. */
  splitVersionsMax: 16,
  /** Bytes of a version label in a split (the same bound as an instance's version label). */
  splitVersionBytesMax: 64,
  /** Splits one node holds, cleared ones (tombstones) included; a new service's split beyond it is refused. */
  splitsMax: 256,
  /**
   * How long a cleared split's tombstone is kept, ms. It must outlive any partition or downtime
   * after which a member could offer the split it cleared: a member away longer may bring it back.
   */
  splitTombstoneMs: 7 * 24 * 3600 * 1000,
  /** Largest wall-clock ms of a split's hybrid clock stamp (2^48 − 1, the year 10889). */
  hlcWallMsMax: 2 ** 48 - 1,
  /** Largest counter of a hybrid clock stamp; past it the clock moves to the next ms. */
  hlcCounterMax: 0xffff_ffff,
  /**
   * Bytes every push-pull state keeps for the splits, which travel whole in every state (page):
   * splitsMax of the largest split (service name, writer name, stamp, splitVersionsMax labels).
   */
  pushPullSplitBytesMax: 256 * (128 + 128 + 32 + 16 * (64 + 4)),
} as const;

export type Limits = typeof LIMITS;

// Relations between the bounds above that other code relies on, checked once at load.
assertLimit(LIMITS.membersMax === LIMITS.pushPullMembersMax, 'a full member list must fit one push-pull state: membersMax === pushPullMembersMax');
assertLimit(2 * LIMITS.pushPullServiceBytesMax <= LIMITS.streamBytesMax, 'a catalog page must leave half a stream for the member list');
assertLimit(LIMITS.packetBytesMin <= LIMITS.packetBytesDefault && LIMITS.packetBytesDefault <= LIMITS.packetBytesMax, 'packetBytesMin <= packetBytesDefault <= packetBytesMax');
assertLimit(LIMITS.serviceReserveBytes < LIMITS.packetBytesMin, 'a service entry must have room in the smallest packet');
assertLimit(LIMITS.pushPullSplitBytesMax < LIMITS.pushPullServiceBytesMax, 'the splits take their room out of a catalog page');
assertLimit(LIMITS.queueMemberShare > 0 && LIMITS.queueMemberShare < 1, 'membership and the catalog both get a share of a packet');

function assertLimit(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`protocol limits are inconsistent: ${relation}`);
}
