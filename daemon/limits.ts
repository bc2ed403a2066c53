import { API_LIMITS } from '../client/contract/limits.js';
import { LIMITS } from '../protocol/limits.js';

/**
 * Every bound the daemon adds on top of the protocol's (protocol/limits.ts), stated once; the bounds of
 * the local API that a client checks as well are stated with the contract and included here.
 * Anything a peer or a local client can make grow is capped here.
 */
export const DAEMON_LIMITS = {
  /** Push-pull streams served at once; further connections wait (streamsInboundWaitingMax). */
  streamsInboundMax: 32,
  /**
   * Inbound push-pull connections waiting, unread, for a slot, in arrival order; beyond it they
   * are closed unanswered. A fleet started at once joins through its seeds: waiting costs those
   * joiners milliseconds where a refusal costs them a retry seconds later.
   */
  streamsInboundWaitingMax: 224,
  /** Longest a connection waits for a slot before it is closed unanswered (the initiator's deadline is streamDeadlineMs). */
  streamWaitMs: 5_000,
  /**
   * Push-pull connections held at once, served and waiting, for one remote address; its further
   * connections are closed unanswered, so one host cannot hold the slots every joining agent needs.
   */
  streamsInboundPerAddressMax: 4,
  /**
   * An initiator writes its request as soon as it connects, so the frame header must arrive within
   * this of the accept; an idle connection is closed then, not at streamDeadlineMs.
   */
  streamRequestStartMs: 2_000,
  /** Push-pull streams we open at once; beyond it the core is told the exchange failed. */
  streamsOutboundMax: 32,
  /**
   * Deadline for a whole push-pull exchange (connect, request, reply). A deadline rather than an
   * idle timeout, so a peer dribbling one byte at a time cannot hold a slot.
   */
  streamDeadlineMs: 10_000,
  /** Largest push-pull frame: the core's stream cap plus the label header and encryption envelope. */
  streamFrameBytesMax: LIMITS.streamBytesMax + LIMITS.wrapBytesMax,
  /** Keys in the keyring (one primary, the rest decrypt only); trial decryption is bounded by it. */
  keyringKeysMax: 16,
  /** Largest encrypt_key_file read at start-up. */
  keyFileBytesMax: 4096,
  /** Largest keyring file read from data_dir. */
  keyringFileBytesMax: 16 * 1024,
  /**
   * Rejections worth an operator's attention (another cluster, undecryptable, plaintext) are logged
   * once per peer and reason in this interval, for at most rejectLogPeersMax peers, and at most
   * rejectLogLinesMax lines in all per interval, so a flood costs counters, not log volume.
   */
  rejectLogIntervalMs: 60_000,
  rejectLogPeersMax: 1024,
  rejectLogLinesMax: 20,
  /** UDP sends not yet completed by the kernel; beyond it datagrams are dropped and counted. */
  udpSendsInFlightMax: 4096,
  /** A timer firing later than this after its deadline counts as a late tick. */
  lateTickThresholdMs: 20,
  /** Largest config file read at start-up or on SIGHUP. */
  configFileBytesMax: 1024 * 1024,
  /** Largest state file read from data_dir. */
  stateFileBytesMax: 64 * 1024,
  /** Seeds in the config file or on the command line (same bound as the core's join). */
  joinSeedsMax: LIMITS.joinSeedsMax,
  /** Bytes of a path in the config (socket, data_dir, encrypt_key_file). */
  pathBytesMax: 4096,
  /** Unix socket paths: sun_path holds 108 bytes including the terminating NUL on Linux. */
  socketPathBytesMax: 107,
  /** Bytes of a cluster name (it travels in the labelled header). */
  clusterBytesMax: LIMITS.clusterLabelBytesMax,
  /** Request body of any API call. */
  apiBodyBytesMax: 64 * 1024,
  /** Request headers of any API call. */
  apiHeaderBytesMax: 16 * 1024,
  /** Open connections to the local API socket served normally. */
  apiConnectionsMax: 128,
  /**
   * Connections beyond apiConnectionsMax that are still read, to answer their request with 503
   * "the agent is busy" (a client then says so instead of failing on a closed connection); they
   * get apiBusyAnswerMs to send it. Beyond both, connections are closed at once.
   */
  apiBusyAnswersMax: 64,
  apiBusyAnswerMs: 1_000,
  /** Time to receive a whole API request (headers and body). */
  apiRequestTimeoutMs: 10_000,
  /** Time to receive the request headers. */
  apiHeadersTimeoutMs: 5_000,
  /** How often request and header timeouts are checked (Node's default, 30 s, would let them slip). */
  apiTimeoutCheckMs: 1_000,
  /** Idle keep-alive connections are closed after this. */
  apiKeepAliveTimeoutMs: 5_000,
  /** Bytes queued on one streaming response (watch) before the slow reader is cut off. */
  apiStreamBufferBytesMax: 1024 * 1024,
  /** How long POST /v1/join waits for the seeds to answer. */
  apiJoinWaitMs: 5_000,
  /** After the first seed answered a join, how long to wait for the others. */
  apiJoinGraceMs: 250,
  /** Subscribers to member events (watch streams and in-process listeners). */
  eventSubscribersMax: 256,
  /**
   * Events the watch log keeps so that `GET /v1/watch?index=N` can resume exactly; an older index
   * gets a fresh snapshot marked as a reset. The log also stays under watchLogBytesMax (a service
   * event can carry up to ~25 KB of tags and meta, so a count alone would not bound memory).
   */
  watchLogEventsMax: 4096,
  watchLogBytesMax: 8 * 1024 * 1024,
  /**
   * Open watch streams. Below apiConnectionsMax so that watchers can never lock plain requests
   * (register, drain, a --wait) out of the socket.
   */
  watchStreamsMax: 96,
  /**
   * A watch stream stops writing while more than this many bytes wait for its client to read them,
   * and goes on from the shared log once they drain. A client that falls behind by the whole log
   * is cut off with a final error line, so a stalled reader costs this buffer and no more.
   */
  watchStreamBufferBytes: 256 * 1024,
  /** A watch stream that has written nothing for this long writes a heartbeat line. */
  watchHeartbeatMs: 10_000,
  /**
   * After the last line of a stream (end or cut-off) the client gets this long to read it; then the
   * connection is closed regardless, so a reader that stopped reading cannot hold it.
   */
  apiStreamEndGraceMs: 5_000,
  /** Time a graceful leave is given to spread before the sockets close. */
  leaveSpreadMs: 300,
  /** SIGTERM/SIGINT/POST /v1/leave: the process exits by then even if shutdown hangs. */
  shutdownDeadlineMs: 2_000,
  /** Background retries of seeds that did not resolve: first delay, doubling up to the maximum. */
  seedRetryFirstMs: 1_000,
  seedRetryMaxMs: 30_000,
  /** Members' addresses kept in members.json to rejoin through after a restart (live ones first). */
  knownMembersMax: 32,
  /** Largest members.json read (32 maximal entries fit many times over). */
  knownMembersFileBytesMax: 64 * 1024,
  /** Delay between a membership change and the rewrite of members.json; changes within it share a write. */
  knownMembersWriteDelayMs: 1_000,
  /**
   * Least time between two rewrites of members.json: a fleet joining or churning costs each agent a
   * write per interval, not one per second of it (any one live address of the 32 suffices to rejoin).
   */
  knownMembersWriteIntervalMs: 10_000,
  /** Attempts to find a port free for both TCP and UDP when binding port 0. */
  bindPortAttempts: 5,

  // ---- Local service catalog: registrations, health checks, waits ----
  /** Services in the config file (each also counts against the core's per-node limit). */
  configServicesMax: LIMITS.servicesPerNodeMax,
  /** Health checks run by one agent: one per registered instance at most. */
  checksMax: LIMITS.servicesPerNodeMax,
  /** Checks running at once (each holds one connection); the others wait for a slot. */
  checksConcurrentMax: 32,
  /** Check and wait bounds of the local API, stated with the contract (client/contract/limits.ts). */
  ...API_LIMITS,
  /** Bytes of an HTTP check's response body read (for the log); the rest is never read. */
  checkHttpBodyBytesMax: 512,
  /** Registrations waiting for their first passing check (register with ?wait) at once. */
  passingWaitsMax: 256,
  /** Largest services.json read from data_dir (512 instances with maximal tags and meta fit). */
  servicesFileBytesMax: 16 * 1024 * 1024,
  /**
   * The catalog revision is persisted this far ahead of the last version used, so that it need not
   * be written on every health change; it is rewritten when half the headroom is used up. A restart
   * skips at most this many versions (of 2^32).
   */
  catalogRevisionHeadroom: 1024,

  // ---- DNS face (daemon/dns/) ----
  /**
   * Largest DNS query read, over UDP or TCP. A real query is one question and an OPT record, well
   * under 300 bytes even with cookies; anything larger is dropped and counted, never decoded.
   */
  dnsQueryBytesMax: 1024,
  /** UDP answer size without EDNS0 (RFC 1035). */
  dnsUdpPayloadDefault: 512,
  /**
   * Largest UDP answer whatever the client's EDNS0 buffer says, and the size the agent advertises.
   * 4096 (BIND's classic default): the agent serves proxies on its own host or LAN, where a
   * fragmented datagram is not the risk it is across the internet, and answers are not compressed.
   */
  dnsUdpPayloadMax: 4096,
  /** A TCP answer is one DNS message: at most 65535 bytes (RFC 1035 4.2.2 length prefix). */
  dnsTcpMessageBytesMax: 65_535,
  /** TCP connections served at once; further ones are closed at once (and counted). */
  dnsTcpConnectionsMax: 64,
  /** A TCP connection with no complete query for this long is closed (RFC 7766 suggests seconds). */
  dnsTcpIdleMs: 5_000,
  /** Answer bytes queued on one TCP connection for a reader that does not read; beyond it it is cut off. */
  dnsTcpWriteBufferBytesMax: 256 * 1024,
  /** dns_ttl ceiling: answers exist to be fresh, a day of caching defeats the agent. */
  dnsTtlMax: 86_400,
  /** Bytes of dns_domain (leaves room under DNS's 253 for the longest name forms). */
  dnsDomainBytesMax: 128,
  // ---- Consul-compatible read API (daemon/consul/) ----
  /**
   * Blocking queries held at once. Prometheus alone opens one per service it scrapes, so this is
   * far above a few hundred; past it a blocking query gets 429 with a message and the client
   * retries (non-blocking requests are still served).
   */
  consulBlockingQueriesMax: 4096,
  /** Open TCP connections to the Consul API; beyond it Node closes new ones unread. */
  consulConnectionsMax: 4096 + 256,
  /** Request headers of a Consul API request (431 beyond). */
  consulHeaderBytesMax: 16 * 1024,
  /** A GET body is never needed: more than this and the connection is cut. */
  consulBodyBytesMax: 64 * 1024,
  /** Time to receive a whole request; the blocking wait that follows does not count. */
  consulRequestTimeoutMs: 10_000,
  consulHeadersTimeoutMs: 5_000,
  /** Idle keep-alive connections are closed after this; above the Go client's immediate reuse. */
  consulKeepAliveTimeoutMs: 65_000,
  /** Blocking wait when `wait` is absent, and the largest honoured (Consul's 5 and 10 minutes). */
  consulWaitDefaultMs: 5 * 60_000,
  consulWaitMaxMs: 10 * 60_000,
  /** Characters of a `filter` expression, and its tokens (parsing is linear in them). */
  consulFilterCharsMax: 4096,
  consulFilterTokensMax: 512,
  /**
   * The Consul index is reserved this far ahead in the data dir, and the reservation is renewed
   * when half of it is used, so an index never repeats after a restart even if the clock stepped back.
   */
  consulIndexHeadroom: 1_000_000,
  /** Largest splits.json read from data_dir (LIMITS.splitsMax splits of the largest size fit). */
  splitsFileBytesMax: 2 * 1024 * 1024,
} as const;

export type DaemonLimits = typeof DAEMON_LIMITS;
