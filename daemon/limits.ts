import { LIMITS } from '../protocol/limits.js';

/**
 * Every bound the daemon adds on top of the protocol's (protocol/limits.ts), stated once.
 * Anything a peer or a local client can make grow is capped here.
 */
export const DAEMON_LIMITS = {
  /** Push-pull streams served at once; further connections are closed unanswered. */
  streamsInboundMax: 32,
  /** Push-pull streams we open at once; beyond it the core is told the exchange failed. */
  streamsOutboundMax: 32,
  /**
   * Deadline for a whole push-pull exchange (connect, request, reply). A deadline rather than an
   * idle timeout, so a peer dribbling one byte at a time cannot hold a slot.
   */
  streamDeadlineMs: 10_000,
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
  /** Bytes of a cluster name. */
  clusterBytesMax: 64,
  /** Request body of any API call. */
  apiBodyBytesMax: 64 * 1024,
  /** Request headers of any API call. */
  apiHeaderBytesMax: 16 * 1024,
  /** Open connections to the local API socket; more are refused by the kernel backlog / closed. */
  apiConnectionsMax: 128,
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
  /** Time a graceful leave is given to spread before the sockets close. */
  leaveSpreadMs: 300,
  /** SIGTERM/SIGINT/POST /v1/leave: the process exits by then even if shutdown hangs. */
  shutdownDeadlineMs: 2_000,
  /** Background retries of seeds that did not resolve: first delay, doubling up to the maximum. */
  seedRetryFirstMs: 1_000,
  seedRetryMaxMs: 30_000,
  /** Attempts to find a port free for both TCP and UDP when binding port 0. */
  bindPortAttempts: 5,
} as const;

export type DaemonLimits = typeof DAEMON_LIMITS;
