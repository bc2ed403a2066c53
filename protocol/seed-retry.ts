import { type Address, addressKey } from './address.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberTable } from './member-table.js';
import type { Profile } from './profiles.js';

interface SeedState {
  readonly address: Address;
  /** Retries since the seed was last seen live. */
  attempts: number;
  /** No retry before this time. */
  nextAt: number;
  /** The name the seed answered a push-pull with (its advertised address may differ from the seed's). */
  answeredAs: string | null;
}

/**
 * The configured seeds, kept after the join succeeded. A seed that is not a live member (nobody
 * alive or suspect at its host:port, and the member that last answered there is not live either) is
 * retried with backoff, so that clusters that formed apart, or a side that forgot the other, meet
 * again through their seeds. A seed that is live again starts its backoff over.
 */
export class SeedRetry {
  private readonly seeds = new Map<string, SeedState>();

  /** Adds seeds of a join; the oldest are dropped beyond LIMITS.joinSeedsMax. */
  add(seeds: readonly Address[]): void {
    for (const a of seeds) {
      const key = addressKey(a);
      if (this.seeds.has(key)) continue;
      this.seeds.set(key, { address: { host: a.host, port: a.port }, attempts: 0, nextAt: 0, answeredAs: null });
    }
    while (this.seeds.size > LIMITS.joinSeedsMax) {
      const oldest = this.seeds.keys().next();
      if (oldest.done === true) break;
      this.seeds.delete(oldest.value);
    }
  }

  /** A push-pull to `from` was answered by member `source`. */
  answered(from: Address, source: string): void {
    const s = this.seeds.get(addressKey(from));
    if (s !== undefined) s.answeredAs = source;
  }

  /** Seeds due for a retry now; their backoff advances. `liveAddresses` gives addressKey()s of live members. */
  due(now: number, table: MemberTable, liveAddresses: () => ReadonlySet<string>, profile: Profile): Address[] {
    const out: Address[] = [];
    for (const [key, s] of this.seeds) {
      const named = s.answeredAs === null ? undefined : table.get(s.answeredAs);
      if ((named !== undefined && isLive(named.status)) || liveAddresses().has(key)) {
        s.attempts = 0;
        s.nextAt = 0;
        continue;
      }
      if (now < s.nextAt) continue;
      out.push(s.address);
      s.nextAt = now + Math.min(profile.seedRetryMaxMs, profile.reconnectIntervalMs * 2 ** Math.min(s.attempts, 16));
      s.attempts++;
    }
    return out;
  }
}
