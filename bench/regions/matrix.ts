/**
 * `--regions NAME|FILE`: a measured inter-region latency matrix. FILE is JSON,
 * `{"regions": ["ams", "iad", ...], "rtt_ms": [[0, 81, ...], [81, 0, ...], ...]}`, a symmetric
 * matrix of round-trip times in ms (the diagonal: round trips between hosts of one region). NAME
 * picks a matrix that ships in this folder (bench/regions/NAME.json, its source in README.md).
 *
 * The simulator's one-way latency between two regions is half their round trip; the fastest any
 * protocol can bring a change from its origin to every node is the largest one-way latency from
 * the origin's region, plus one forward batch (the first hop's wait before it sends).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RegionMatrix {
  /** The NAME it shipped as, or the FILE path it was read from. */
  readonly source: string;
  readonly regions: readonly string[];
  /** Symmetric round-trip times, ms. */
  readonly rttMs: readonly (readonly number[])[];
}

/** Why a matrix was refused, for the usage error (file, field, reason). */
export class MatrixError extends Error {}

const REGION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NAME_ONLY = /^[a-z0-9][a-z0-9-]*$/;
/** A round trip longer than this is not on Earth; it is a typo or seconds instead of ms. */
const RTT_MAX_MS = 10_000;
/** Two entries for one pair may differ by rounding only. */
const SYMMETRY_SLACK_MS = 1e-6;

/** Where shipped matrices live: the source tree's bench/regions (this module runs from dist/bench/regions). */
function shippedDir(): string {
  return fileURLToPath(new URL('../../../bench/regions/', import.meta.url));
}

export function shippedMatrices(): string[] {
  const dir = shippedDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
}

/** Reads NAME (a shipped matrix) or FILE (a path: it has a slash or ends in .json). */
export function loadMatrix(arg: string): RegionMatrix {
  const isName = NAME_ONLY.test(arg) && !arg.endsWith('.json');
  const path = isName ? `${shippedDir()}${arg}.json` : arg;
  if (isName && !existsSync(path)) {
    throw new MatrixError(`no shipped matrix named ${JSON.stringify(arg)}; shipped: ${shippedMatrices().join(', ') || 'none'} (or give a FILE path)`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MatrixError(`${path}: cannot read: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new MatrixError(`${path}: not JSON: ${(e as Error).message}`);
  }
  return parseMatrix(parsed, isName ? arg : path);
}

/** Validates decoded JSON as a matrix; `where` names it in errors. */
export function parseMatrix(value: unknown, where: string): RegionMatrix {
  const fail = (field: string, reason: string): never => {
    throw new MatrixError(`${where}: ${field}: ${reason}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('(top level)', 'expected an object with "regions" and "rtt_ms"');
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (k !== 'regions' && k !== 'rtt_ms') fail(k, 'unknown field (expected "regions" and "rtt_ms")');
  const names = obj['regions'];
  if (!Array.isArray(names) || names.length === 0) return fail('regions', 'expected a non-empty array of region names');
  const regions: string[] = [];
  const seen = new Set<string>();
  names.forEach((n: unknown, i) => {
    if (typeof n !== 'string' || !REGION_NAME.test(n)) fail(`regions[${i}]`, `expected a name of letters, digits, ".", "_" or "-" (at most 64), got ${JSON.stringify(n)}`);
    const name = n as string;
    if (seen.has(name)) fail(`regions[${i}]`, `${JSON.stringify(name)} is listed twice`);
    seen.add(name);
    regions.push(name);
  });
  const count = regions.length;
  const rows = obj['rtt_ms'];
  if (!Array.isArray(rows)) return fail('rtt_ms', 'expected an array of rows');
  if (rows.length !== count) fail('rtt_ms', `has ${rows.length} rows for ${count} regions`);
  const rtt: number[][] = rows.map((row: unknown, a) => {
    if (!Array.isArray(row)) return fail(`rtt_ms[${a}]`, 'expected an array of numbers');
    if (row.length !== count) fail(`rtt_ms[${a}]`, `has ${row.length} entries for ${count} regions`);
    return row.map((ms: unknown, b) => {
      if (typeof ms !== 'number' || !Number.isFinite(ms)) return fail(`rtt_ms[${a}][${b}]`, `expected a number of ms, got ${JSON.stringify(ms)}`);
      if (ms < 0) fail(`rtt_ms[${a}][${b}]`, `a round trip cannot be negative (${ms})`);
      if (ms > RTT_MAX_MS) fail(`rtt_ms[${a}][${b}]`, `${ms} ms is more than ${RTT_MAX_MS} ms (seconds instead of ms?)`);
      return ms;
    });
  });
  for (let a = 0; a < count; a++) {
    for (let b = a + 1; b < count; b++) {
      const ab = rtt[a]?.[b] as number;
      const ba = rtt[b]?.[a] as number;
      if (Math.abs(ab - ba) > SYMMETRY_SLACK_MS) {
        fail(`rtt_ms[${a}][${b}]`, `not symmetric: ${regions[a]}->${regions[b]} is ${ab} ms but ${regions[b]}->${regions[a]} is ${ba} ms`);
      }
    }
  }
  return { source: where, regions, rttMs: rtt };
}

/** One-way latencies, ms: half of each round trip. */
export function oneWayMs(m: RegionMatrix): number[][] {
  return m.rttMs.map((row) => row.map((rtt) => rtt / 2));
}

/** Largest one-way latency from region `origin` to any region (its own included), ms. */
export function farthestOneWayMs(m: RegionMatrix, origin: number): number {
  const row = m.rttMs[origin];
  if (row === undefined) throw new RangeError(`no region ${origin}`);
  return Math.max(...row) / 2;
}

/** Smallest one-way latency between any two nodes (within one region included), ms. */
export function nearestOneWayMs(m: RegionMatrix): number {
  return Math.min(...m.rttMs.flat()) / 2;
}

/**
 * The fastest any protocol could bring a change from a node in region `origin` to the last node:
 * the largest one-way latency from that region, plus one forward batch.
 */
export function regionLowerBoundMs(m: RegionMatrix, origin: number, forwardBatchMs: number): number {
  return Math.round((farthestOneWayMs(m, origin) + forwardBatchMs) * 100) / 100;
}
