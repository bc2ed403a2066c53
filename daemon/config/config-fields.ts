import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { Address } from '../../protocol/address.js';
import { parseHostPort } from '../../protocol/address.js';
import { LIMITS } from '../../protocol/limits.js';
import { isProfileName, type Profile } from '../../protocol/profiles.js';
import { DEFAULT_PORT, Invalid, isHostName, parseSeed, show } from '../../client/contract/address.js';
import { DAEMON_LIMITS } from '../limits.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../log.js';

/**
 * Validators for single config values. Each takes an untrusted value and either returns it typed or
 * throws Invalid with the reason; config.ts adds where the value came from.
 */

export { DEFAULT_PORT, Invalid, isHostName, parseSeed, show };

/** Where a value came from decides how relative paths are treated. */
export type ValueSource = 'file' | 'flag' | 'env' | 'default';

/** The advertised address; a null port means "the port actually bound". */
export interface AdvertiseAddress {
  readonly host: string;
  readonly port: number | null;
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(`expected a string, got ${show(v)}`);
  return v;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function parseName(v: unknown): string {
  const s = str(v);
  if (s === '') throw new Invalid('expected a non-empty name');
  if (bytes(s) > LIMITS.nameBytesMax) {
    throw new Invalid(`expected at most ${LIMITS.nameBytesMax} bytes, got ${bytes(s)}`);
  }
  // Names appear in logs, tables and metrics labels: no whitespace or control characters.
  if (/[\s\p{Cc}]/u.test(s)) throw new Invalid(`expected no spaces or control characters, got ${show(s)}`);
  return s;
}

export function parseBind(v: unknown): Address {
  const s = str(v);
  const a = parseHostPort(s);
  if (a === null) throw new Invalid(`expected host:port, got ${show(s)}`);
  if (isIP(a.host) === 0) throw new Invalid(`expected an IP address to bind, got host ${show(a.host)}`);
  return a;
}

export function parseAdvertise(v: unknown): AdvertiseAddress {
  const s = str(v);
  // Without a port the address is "this host, on whatever port we bound".
  const withPort = parseHostPort(s);
  const a = withPort ?? parseHostPort(s, 0);
  if (a === null) throw new Invalid(`expected host:port or host, got ${show(s)}`);
  if (isIP(a.host) === 0) throw new Invalid(`expected an IP address other members can reach, got host ${show(a.host)}`);
  if (isUnspecified(a.host)) throw new Invalid(`expected a reachable address, got the unspecified address ${show(a.host)}`);
  if (withPort !== null && withPort.port === 0) throw new Invalid('expected a port between 1 and 65535, got 0');
  return { host: a.host, port: withPort === null ? null : withPort.port };
}

export function parseSeeds(v: unknown): string[] {
  if (!Array.isArray(v)) throw new Invalid(`expected an array of "host:port" strings, got ${show(v)}`);
  if (v.length > DAEMON_LIMITS.joinSeedsMax) {
    throw new Invalid(`expected at most ${DAEMON_LIMITS.joinSeedsMax} seeds, got ${v.length}`);
  }
  return v.map((item: unknown, i) => {
    try {
      return parseSeed(item);
    } catch (e) {
      if (e instanceof Invalid) throw new Invalid(`element ${i}: ${e.message}`);
      throw e;
    }
  });
}

/**
 * Paths in a file must be absolute: a relative path would depend on the directory the service
 * manager happens to start us in. Paths on the command line are relative to the caller's cwd.
 */
export function parsePath(v: unknown, source: ValueSource, cwd: string, maxBytes: number = DAEMON_LIMITS.pathBytesMax): string {
  const s = str(v);
  if (s === '') throw new Invalid('expected a path, got ""');
  if (s.includes('\0')) throw new Invalid('expected a path without NUL bytes');
  let p = s;
  if (!isAbsolute(s)) {
    if (source === 'file') throw new Invalid(`expected an absolute path, got ${show(s)}`);
    p = resolve(cwd, s);
  }
  if (bytes(p) > maxBytes) throw new Invalid(`expected a path of at most ${maxBytes} bytes, got ${bytes(p)}`);
  return p;
}

export function parseProfile(v: unknown): Profile['name'] {
  const s = str(v);
  if (!isProfileName(s)) throw new Invalid(`expected one of lan, wan, local, got ${show(s)}`);
  return s;
}

export function parseCluster(v: unknown): string {
  const s = str(v);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s) || s.length > DAEMON_LIMITS.clusterBytesMax) {
    throw new Invalid(
      `expected 1-${DAEMON_LIMITS.clusterBytesMax} characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got ${show(s)}`,
    );
  }
  return s;
}

export function parseLogLevel(v: unknown): LogLevel {
  const s = str(v);
  if (!isLogLevel(s)) throw new Invalid(`expected one of ${LOG_LEVELS.join(', ')}, got ${show(s)}`);
  return s;
}

export function parseBool(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Invalid(`expected true or false, got ${show(v)}`);
  return v;
}

export function parsePacketBytes(v: unknown): number {
  const lo = LIMITS.packetBytesMin;
  const hi = LIMITS.packetBytesMax;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new Invalid(`expected an integer between ${lo} and ${hi}, got ${show(v)}`);
  }
  return v;
}

export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/**
 * The Consul-compatible API's listen address: HOST:PORT, or PORT / :PORT alone for loopback
 * (127.0.0.1), so that naming only a port never exposes the catalog beyond this host.
 */
export function parseHttpAddr(v: unknown): Address {
  const s = str(v).trim();
  const portOnly = /^:?(\d{1,5})$/.exec(s);
  const a = portOnly !== null ? { host: '127.0.0.1', port: Number(portOnly[1]) } : parseHostPort(s);
  if (a === null || a.port > 65535) throw new Invalid(`expected HOST:PORT or PORT (loopback), got ${show(s)}`);
  if (isIP(a.host) === 0) throw new Invalid(`expected an IP address to listen on, got host ${show(a.host)}`);
  return a;
}
