import { DAEMON_LIMITS } from '../limits.js';

/**
 * Query parameters of the Consul read endpoints, parsed as Consul parses them: `index` an unsigned
 * integer, `wait` a Go duration ("120000ms", "5m", "1m30s"; a bare number is seconds, as Consul's
 * parseWait allows), `stale` / `consistent` / `cached` flags (present means on, whatever the value;
 * stale and consistent together are refused, as Consul does), `dc` the datacenter, `node-meta`
 * repeatable "key:value". Parameters Consul clients send that change nothing here (`near`,
 * `token`, `pretty`, `ns` / `partition` when default) are accepted; any other name is a 400.
 */

export class QueryError extends Error {
  override readonly name = 'QueryError';
}

export interface Blocking {
  /** The client's index; 0: answer at once. */
  readonly index: number;
  /** How long to hold the query, before jitter. */
  readonly waitMs: number;
}

export interface CommonQuery {
  readonly blocking: Blocking;
  readonly consistency: 'stale' | 'consistent' | 'default';
  readonly nodeMeta: readonly (readonly [string, string])[];
}

/** Accepted everywhere; each endpoint adds its own. */
export const COMMON_PARAMS = ['index', 'wait', 'stale', 'consistent', 'cached', 'dc', 'node-meta', 'near', 'token', 'pretty', 'ns', 'partition'] as const;

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; a bare number counts as seconds. */
export function parseGoDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length || text.length === 0) return null;
  return total;
}

/** Validates the parameter names against the endpoint's list. */
export function checkParams(q: URLSearchParams, extra: readonly string[]): void {
  for (const name of new Set(q.keys())) {
    if (!(COMMON_PARAMS as readonly string[]).includes(name) && !extra.includes(name)) {
      throw new QueryError(`unsupported query parameter ${JSON.stringify(name.slice(0, 64))}; this endpoint takes ${[...COMMON_PARAMS, ...extra].join(', ')}`);
    }
  }
}

function one(q: URLSearchParams, name: string): string | null {
  const all = q.getAll(name);
  if (all.length > 1) throw new QueryError(`${name}: give it once`);
  return all[0] ?? null;
}

export function parseCommon(q: URLSearchParams, datacenter: string): CommonQuery {
  const indexText = one(q, 'index');
  let index = 0;
  if (indexText !== null) {
    if (!/^\d{1,20}$/.test(indexText) || !Number.isSafeInteger(Number(indexText))) {
      throw new QueryError(`index: expected an unsigned integer, got ${JSON.stringify(indexText.slice(0, 32))}`);
    }
    index = Number(indexText);
  }
  const waitText = one(q, 'wait');
  let waitMs = DAEMON_LIMITS.consulWaitDefaultMs;
  if (waitText !== null) {
    const ms = parseGoDuration(waitText);
    if (ms === null) throw new QueryError(`wait: expected a duration such as 30s, 120000ms or 5m, got ${JSON.stringify(waitText.slice(0, 32))}`);
    // Consul caps the wait at its maximum rather than refusing.
    waitMs = Math.min(ms, DAEMON_LIMITS.consulWaitMaxMs);
  }
  const stale = q.has('stale');
  const consistent = q.has('consistent');
  if (stale && consistent) throw new QueryError('cannot specify ?stale with ?consistent, conflicting semantics');
  const dc = one(q, 'dc');
  if (dc !== null && dc !== '' && dc !== datacenter) {
    throw new QueryError(`dc: no path to datacenter ${JSON.stringify(dc.slice(0, 64))}; this cluster is ${JSON.stringify(datacenter)}`);
  }
  for (const name of ['ns', 'partition'] as const) {
    const v = one(q, name);
    if (v !== null && v !== '' && v !== 'default') throw new QueryError(`${name}: only "default" exists here, got ${JSON.stringify(v.slice(0, 64))}`);
  }
  const nodeMeta = q.getAll('node-meta').map((kv): [string, string] => {
    const i = kv.indexOf(':');
    if (i <= 0) throw new QueryError(`node-meta: expected key:value, got ${JSON.stringify(kv.slice(0, 64))}`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
  return { blocking: { index, waitMs }, consistency: stale ? 'stale' : consistent ? 'consistent' : 'default', nodeMeta };
}

/** A flag parameter (`passing`): present with no value or a true value means on. */
export function parseFlag(q: URLSearchParams, name: string): boolean {
  const v = one(q, name);
  if (v === null) return false;
  if (['', '1', 'true', 't', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'false', 'f', 'FALSE', 'False'].includes(v)) return false;
  throw new QueryError(`${name}: expected true or false, got ${JSON.stringify(v.slice(0, 32))}`);
}
