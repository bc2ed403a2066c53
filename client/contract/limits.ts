/**
 * Bounds of the local API that a client checks before asking (so that a bad value is a usage error)
 * and the agent enforces: stated once here; daemon/limits.ts includes them in DAEMON_LIMITS.
 */
export const API_LIMITS = {
  /** Interval of HTTP and TCP checks. */
  checkIntervalMinMs: 1_000,
  checkIntervalMaxMs: 3_600_000,
  /** Timeout of one HTTP or TCP check; never longer than its interval. */
  checkTimeoutMinMs: 100,
  checkTimeoutMaxMs: 60_000,
  /** TTL of a TTL check. */
  checkTtlMinMs: 1_000,
  checkTtlMaxMs: 86_400_000,
  /** success_before_passing and failures_before_critical. */
  checkThresholdMax: 100,
  /** Bytes of an HTTP check URL and of a TCP check target. */
  checkTargetBytesMax: 2048,
  /** Bytes of the note sent with a TTL check update. */
  checkNoteBytesMax: 1024,
  /** `?wait` with no value; and the longest wait accepted. */
  waitDefaultMs: 30_000,
  waitMaxMs: 300_000,
} as const;
