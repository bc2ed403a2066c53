import type { Health } from '../../../protocol/messages.js';
import type { Thresholds } from '../../../client/contract/check.js';

/**
 * Flap damping between raw check results and the health the cluster sees. A change of health costs
 * a catalog version and a round of gossip to every member, so one odd result must not cause one.
 * Passing and warning both count as successes (a service that answers 429 is up, only loaded); the
 * success that crosses the threshold reports its own result.
 */
export class Damper {
  private successes = 0;
  private failures = 0;

  constructor(private readonly t: Thresholds, private current: Health) {}

  get health(): Health {
    return this.current;
  }

  /** Records one raw result; returns the health to report now (unchanged unless a threshold was met). */
  observe(raw: Health): Health {
    if (raw === 'critical') {
      this.successes = 0;
      this.failures = Math.min(this.failures + 1, this.t.failuresBeforeCritical);
      if (this.failures >= this.t.failuresBeforeCritical) this.current = 'critical';
    } else {
      this.failures = 0;
      this.successes = Math.min(this.successes + 1, this.t.successBeforePassing);
      if (this.successes >= this.t.successBeforePassing) this.current = raw;
    }
    return this.current;
  }
}
