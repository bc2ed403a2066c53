/**
 * Every bound in swimd, stated once. Anything that grows with untrusted input is capped here,
 * and the caps are documented in the README ("Limits").
 */
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
  /** Members tracked by one node, counting dead and left members not yet reaped (equal to the push-pull cap, so a full state always fits). */
  membersMax: 10_000,
  /** Pending updates in the dissemination queue; the oldest, most-sent are dropped beyond it. */
  broadcastQueueMax: 4096,
  /** Probes in flight (direct and indirect, including those relayed for others). */
  pendingProbesMax: 1024,
  /** Seed addresses given to one join. */
  joinSeedsMax: 64,
  /** Nesting depth the decoder accepts in any value. */
  decodeDepthMax: 8,
  /** Probe sequence numbers are unsigned 32-bit on the wire; senders wrap to 0 past this. */
  seqMax: 0xffff_ffff,
  /**
   * Incarnations are unsigned 32-bit on the wire. A node bumps its own only to refute a suspicion, so
   * this is never reached in practice; a decoder refuses anything larger.
   */
  incarnationMax: 0xffff_ffff,
} as const;

export type Limits = typeof LIMITS;
