import type { CheckStatus } from '../../../client/contract/check.js';
import type { Health } from '../../../protocol/messages.js';
import { formatDuration } from '../../../client/contract/duration.js';


/** The last report of a TTL check and when (wall clock, ms since the epoch) it runs out; saved across restarts. */
export interface TtlReport {
  readonly health: Health;
  readonly expiresAt: number;
}

const HEALTH_OF: Readonly<Record<CheckStatus, Health>> = { pass: 'passing', warn: 'warning', fail: 'critical' };

/**
 * A TTL check: the service reports its own health and must report again within the TTL, or it is
 * taken to be hung and turns critical. Every report (fail included) restarts the TTL. No damping:
 * each report is a deliberate statement by the service, not a sample.
 */
export class TtlCheck {
  private timer: NodeJS.Timeout | null = null;
  private current: Health;
  /** Wall-clock end of the running TTL: it must hold across a restart, which a monotonic clock does not. */
  private expiresAt: number | null = null;

  /**
   * `firstTtlMs`: time left for the first report, for a report restored after a restart (default:
   * the whole TTL).
   */
  constructor(
    private readonly ttlMs: number,
    initial: Health,
    private readonly onChange: (health: Health, output: string, expired: boolean) => void,
    firstTtlMs: number = ttlMs,
  ) {
    this.current = initial;
    // An instance that starts healthy (kept across a re-registration) must still report in time.
    if (initial !== 'critical') this.arm(firstTtlMs);
  }

  /** The report in effect while its TTL runs; null once it ran out or before any report. */
  lastReport(): TtlReport | null {
    return this.timer === null || this.expiresAt === null ? null : { health: this.current, expiresAt: this.expiresAt };
  }

  get health(): Health {
    return this.current;
  }

  /** Records a report; returns the health now in effect. */
  report(status: CheckStatus, note: string): Health {
    this.arm();
    this.set(HEALTH_OF[status], note === '' ? `TTL check reported ${status}` : note, false);
    return this.current;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number = this.ttlMs): void {
    this.stop();
    this.expiresAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.expiresAt = null;
      this.set('critical', `no report within the TTL of ${formatDuration(this.ttlMs)}`, true);
    }, this.ttlMs);
  }

  private set(health: Health, output: string, expired: boolean): void {
    if (health === this.current) return;
    this.current = health;
    this.onChange(health, output, expired);
  }
}
