import { LRUCache } from 'lru-cache';
import { DAEMON_LIMITS } from '../limits.js';

/**
 * Rate limit for log lines about rejected input. A misconfigured peer (another cluster, a wrong
 * key) sends many packets a second, and an attacker more: each rejection is counted in the
 * metrics, but only the first per key (peer and reason) within DAEMON_LIMITS.rejectLogIntervalMs
 * reaches the log, and no more than DAEMON_LIMITS.rejectLogLinesMax lines in all per interval, so
 * spoofed source addresses cannot turn a flood into log volume either.
 */
export class RejectNotices {
  /** When each key was last logged; the least recently logged keys fall out first. */
  private readonly lastAt = new LRUCache<string, number>({ max: DAEMON_LIMITS.rejectLogPeersMax });
  private windowStart = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(private readonly clock: () => number) {}

  /**
   * Calls `emit` (with how many lines were suppressed for lack of budget since the last one) when
   * `key` has not been logged within the interval and the global budget allows.
   */
  note(key: string, emit: (suppressed: number) => void): void {
    const now = this.clock();
    const last = this.lastAt.peek(key);
    if (last !== undefined && now - last < DAEMON_LIMITS.rejectLogIntervalMs) return;
    if (now - this.windowStart >= DAEMON_LIMITS.rejectLogIntervalMs) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= DAEMON_LIMITS.rejectLogLinesMax) {
      this.suppressed++;
      return;
    }
    this.linesInWindow++;
    this.lastAt.set(key, now);
    const n = this.suppressed;
    this.suppressed = 0;
    emit(n);
  }
}
