import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Address } from '../../protocol/address.js';
import { parseHostPort, sameAddress } from '../../protocol/address.js';
import { DEFAULT_PORT } from '../config/config-fields.js';
import { errCode, normalizeHost } from './net-util.js';

/**
 * Seeds are written as "host:port" and may name hosts; the core only takes IP addresses, so names
 * are resolved here, at join time, not at config time: DNS may not be up yet when the agent starts.
 */

/** Why a seed was not joined; only 'unresolved' is worth retrying here (the core retries the rest). */
export type SeedFailureKind = 'unresolved' | 'no-answer' | 'self' | 'stopping';

export interface SeedFailure {
  readonly seed: string;
  readonly kind: SeedFailureKind;
  readonly reason: string;
}

export interface ResolvedSeed {
  readonly seed: string;
  readonly address: Address;
}

export interface ResolvedSeeds {
  /** One entry per distinct address. */
  readonly resolved: ResolvedSeed[];
  readonly failed: SeedFailure[];
}

/** `ipv4Only`: an IPv4 socket cannot reach IPv6 seeds, so only A records are useful. */
export async function resolveSeeds(seeds: readonly string[], ipv4Only: boolean): Promise<ResolvedSeeds> {
  const results = await Promise.all(seeds.map(async (seed): Promise<ResolvedSeed | SeedFailure> => {
    const a = parseHostPort(seed, DEFAULT_PORT);
    if (a === null) return { seed, kind: 'unresolved', reason: 'expected host:port' };
    if (isIP(a.host) !== 0) return { seed, address: { host: normalizeHost(a.host), port: a.port } };
    try {
      const r = await lookup(a.host, { family: ipv4Only ? 4 : 0 });
      return { seed, address: { host: normalizeHost(r.address), port: a.port } };
    } catch (e) {
      return { seed, kind: 'unresolved', reason: `cannot resolve ${a.host}: ${errCode(e)}` };
    }
  }));
  const resolved: ResolvedSeed[] = [];
  const failed: SeedFailure[] = [];
  for (const r of results) {
    if ('reason' in r) failed.push(r);
    else if (!resolved.some((x) => sameAddress(x.address, r.address))) resolved.push(r);
  }
  return { resolved, failed };
}
