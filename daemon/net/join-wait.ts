import { addressKey } from '../../protocol/address.js';
import type { Driver, PushPullOutcome } from '../driver.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { ResolvedSeed, SeedFailure } from './seeds.js';

/**
 * Starts a join and waits to learn which seeds answered, for POST /v1/join's {"joined": n}. Waits
 * until every seed has answered or failed; once one has answered, only a short grace for the rest
 * (the core may stop contacting seeds after the first reply); at most DAEMON_LIMITS.apiJoinWaitMs.
 */
export function joinAndWait(driver: Driver, seeds: readonly ResolvedSeed[]): Promise<{ joined: number; failed: SeedFailure[] }> {
  const pending = new Map(seeds.map((s) => [addressKey(s.address), s.seed]));
  let joined = 0;
  const failed: SeedFailure[] = [];
  return new Promise((resolve) => {
    let grace: NodeJS.Timeout | null = null;
    const finish = (): void => {
      unsubscribe();
      clearTimeout(overall);
      if (grace !== null) clearTimeout(grace);
      for (const seed of pending.values()) {
        failed.push({ seed, kind: 'no-answer', reason: 'no answer yet; the agent keeps trying' });
      }
      pending.clear();
      resolve({ joined, failed });
    };
    const unsubscribe = driver.onPushPullOutcome((o: PushPullOutcome) => {
      const key = addressKey(o.to);
      const seed = pending.get(key);
      if (seed === undefined) return;
      pending.delete(key);
      if (o.ok) joined++;
      else failed.push({ seed, kind: 'no-answer', reason: o.failure ?? 'state exchange failed' });
      if (pending.size === 0) finish();
      else if (o.ok && grace === null) grace = setTimeout(finish, DAEMON_LIMITS.apiJoinGraceMs);
    });
    const overall = setTimeout(finish, DAEMON_LIMITS.apiJoinWaitMs);
    driver.join(seeds.map((s) => s.address));
    if (driver.isStopped) finish();
  });
}
