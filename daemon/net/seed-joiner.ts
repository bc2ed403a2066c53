import type { JoinResult } from '../../client/contract/json.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { SeedFailure } from './seeds.js';

/**
 * Joins the configured seeds in the background. Seeds that resolved are handed to the core, which
 * keeps retrying them itself; seeds whose names did not resolve (DNS not ready at boot) are retried
 * here with doubling delays until they resolve or the agent stops.
 */

export interface Joinable {
  join(seeds: readonly string[]): Promise<JoinResult<SeedFailure>>;
}

export class SeedJoiner {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly agent: Joinable, private readonly log: Logger) {}

  add(seeds: readonly string[]): void {
    if (seeds.length > 0) void this.attempt(seeds, DAEMON_LIMITS.seedRetryFirstMs);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async attempt(seeds: readonly string[], delayMs: number): Promise<void> {
    if (this.stopped) return;
    let result: JoinResult<SeedFailure>;
    try {
      result = await this.agent.join(seeds);
    } catch (err) {
      this.log.error('join failed', { seeds, err });
      return;
    }
    if (this.stopped) return;
    if (result.joined > 0) this.log.info('joined the cluster', { seeds, answered: result.joined });
    for (const f of result.failed) {
      if (f.kind !== 'unresolved') this.log.warn('seed not joined yet', { seed: f.seed, reason: f.reason });
    }
    const retry = result.failed.filter((f) => f.kind === 'unresolved').map((f) => f.seed);
    if (retry.length === 0) return;
    this.log.warn('seeds did not resolve; retrying', { seeds: retry, in_ms: delayMs, reasons: result.failed.map((f) => f.reason) });
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.attempt(retry, Math.min(delayMs * 2, DAEMON_LIMITS.seedRetryMaxMs));
    }, delayMs);
    this.timers.add(t);
  }
}
