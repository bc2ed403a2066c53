import { isIP } from 'node:net';
import { parseHostPort } from '../../protocol/address.js';
import { isHostName } from './address.js';
import { DurationError, formatDuration, parseDurationIn } from './duration.js';
import { describeValue, FieldError } from './field-error.js';
import { API_LIMITS } from './limits.js';

/**
 * The health check a registration carries: what to probe and how often, or a TTL the service itself
 * must keep renewing. Parsed from untrusted JSON (API body, config file, saved state) into a closed
 * type; `checkJson` writes it back in the same shape, so a saved check reads back identically.
 */

/** Damping: a result must repeat this many times in a row before the reported health follows it. */
export interface Thresholds {
  readonly successBeforePassing: number;
  readonly failuresBeforeCritical: number;
}

interface Probed extends Thresholds {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export type CheckSpec =
  | ({ readonly kind: 'http'; readonly url: string } & Probed)
  | ({ readonly kind: 'tcp'; readonly host: string; readonly port: number } & Probed)
  | { readonly kind: 'ttl'; readonly ttlMs: number };

/**
 * The check of a registration as a caller writes it (PUT /v1/services): exactly one of http, tcp or
 * ttl; the others apply to http and tcp. Durations are strings such as "10s".
 */
export interface CheckDefinition {
  readonly http?: string;
  readonly tcp?: string;
  readonly ttl?: string;
  readonly interval?: string;
  readonly timeout?: string;
  readonly success_before_passing?: number;
  readonly failures_before_critical?: number;
}

/** What a service reports about itself through its TTL check: `swimd check pass|warn|fail ID`. */
export type CheckStatus = 'pass' | 'warn' | 'fail';
export const CHECK_STATUSES: readonly CheckStatus[] = ['pass', 'warn', 'fail'];

export type CheckKind = CheckSpec['kind'];
export const CHECK_KINDS: readonly CheckKind[] = ['http', 'tcp', 'ttl'];

/**
 * One passing result is enough to admit an instance (a new instance should take traffic as soon as
 * it answers); two failures in a row are needed to remove one, so a single lost SYN or a GC pause
 * does not take the only instance of a service out of every proxy for a whole interval.
 */
export const CHECK_DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 2_000,
  successBeforePassing: 1,
  failuresBeforeCritical: 2,
} as const;

const FIELDS = ['http', 'tcp', 'ttl', 'interval', 'timeout', 'success_before_passing', 'failures_before_critical'] as const;
const PROBE_ONLY = ['interval', 'timeout', 'success_before_passing', 'failures_before_critical'] as const;

/** Parses `check` of a registration; `at` is the field path used in errors ("check"). */
export function parseCheck(v: unknown, at = 'check'): CheckSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FieldError(at, `expected an object such as {"http": "http://127.0.0.1:8080/health"}, got ${describeValue(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw new FieldError(`${at}.${k}`, `unknown field; known fields: ${FIELDS.join(', ')}`);
  }
  const kinds = CHECK_KINDS.filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) {
    throw new FieldError(at, kinds.length === 0 ? 'expected one of http, tcp or ttl' : `expected only one of http, tcp or ttl, got ${kinds.join(' and ')}`);
  }
  const kind = kinds[0] as CheckKind;
  if (kind === 'ttl') {
    const extra = PROBE_ONLY.find((k) => o[k] !== undefined);
    if (extra !== undefined) throw new FieldError(`${at}.${extra}`, 'applies only to http and tcp checks; a ttl check is renewed by the service itself');
    return { kind, ttlMs: duration(o['ttl'], `${at}.ttl`, API_LIMITS.checkTtlMinMs, API_LIMITS.checkTtlMaxMs) };
  }
  const intervalMs = o['interval'] === undefined ? CHECK_DEFAULTS.intervalMs
    : duration(o['interval'], `${at}.interval`, API_LIMITS.checkIntervalMinMs, API_LIMITS.checkIntervalMaxMs);
  const timeoutMs = o['timeout'] === undefined ? Math.min(CHECK_DEFAULTS.timeoutMs, intervalMs)
    : duration(o['timeout'], `${at}.timeout`, API_LIMITS.checkTimeoutMinMs, API_LIMITS.checkTimeoutMaxMs);
  // A run that could outlast its interval would overlap the next one.
  if (timeoutMs > intervalMs) throw new FieldError(`${at}.timeout`, `must not be longer than the interval (${formatDuration(intervalMs)})`);
  const probed: Probed = {
    intervalMs, timeoutMs,
    successBeforePassing: threshold(o['success_before_passing'], `${at}.success_before_passing`, CHECK_DEFAULTS.successBeforePassing),
    failuresBeforeCritical: threshold(o['failures_before_critical'], `${at}.failures_before_critical`, CHECK_DEFAULTS.failuresBeforeCritical),
  };
  if (kind === 'http') return { kind, url: httpUrl(o['http'], `${at}.http`), ...probed };
  const { host, port } = tcpTarget(o['tcp'], `${at}.tcp`);
  return { kind, host, port, ...probed };
}

/** The check in the shape parseCheck reads (durations in their shortest exact form). */
export function checkJson(c: CheckSpec): Record<string, string | number> {
  if (c.kind === 'ttl') return { ttl: formatDuration(c.ttlMs) };
  const common = {
    interval: formatDuration(c.intervalMs), timeout: formatDuration(c.timeoutMs),
    success_before_passing: c.successBeforePassing, failures_before_critical: c.failuresBeforeCritical,
  };
  return c.kind === 'http' ? { http: c.url, ...common } : { tcp: tcpText(c.host, c.port), ...common };
}

export function sameCheck(a: CheckSpec | null, b: CheckSpec | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify(checkJson(a)) === JSON.stringify(checkJson(b));
}

export function tcpText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function duration(v: unknown, field: string, min: number, max: number): number {
  try {
    return parseDurationIn(v, min, max);
  } catch (e) {
    if (e instanceof DurationError) throw new FieldError(field, e.message);
    throw e;
  }
}

function threshold(v: unknown, field: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > API_LIMITS.checkThresholdMax) {
    throw new FieldError(field, `expected an integer between 1 and ${API_LIMITS.checkThresholdMax}, got ${describeValue(v)}`);
  }
  return v;
}

function boundedText(v: unknown, field: string, example: string): string {
  if (typeof v !== 'string' || v === '') throw new FieldError(field, `expected a string such as ${example}, got ${describeValue(v)}`);
  if (Buffer.byteLength(v, 'utf8') > API_LIMITS.checkTargetBytesMax) {
    throw new FieldError(field, `longer than ${API_LIMITS.checkTargetBytesMax} bytes`);
  }
  return v;
}

function httpUrl(v: unknown, field: string): string {
  const s = boundedText(v, field, '"http://127.0.0.1:8080/health"');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new FieldError(field, `not a valid URL: ${describeValue(s)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FieldError(field, `expected an http:// or https:// URL, got scheme ${JSON.stringify(url.protocol.slice(0, -1))}`);
  }
  return s;
}

function tcpTarget(v: unknown, field: string): { host: string; port: number } {
  const s = boundedText(v, field, '"127.0.0.1:5432"');
  const a = parseHostPort(s);
  if (a === null || (isIP(a.host) === 0 && !isHostName(a.host))) throw new FieldError(field, `expected host:port, got ${describeValue(s)}`);
  if (a.port === 0) throw new FieldError(field, 'expected a port between 1 and 65535, got 0');
  return a;
}
