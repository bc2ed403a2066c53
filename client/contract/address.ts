import { isIP } from 'node:net';
import { parseHostPort } from '../../protocol/address.js';
import { LIMITS } from '../../protocol/limits.js';

/**
 * Addresses as the local API and the command line take them: seeds to join through ("host:port",
 * "[v6]:port", or a host alone for the default port) and host names in registrations and checks.
 */

export const DEFAULT_PORT = 7946;

/** A single value that is not acceptable; the message says why, the caller adds where it came from. */
export class Invalid extends Error {}

/** A short description of an untrusted value for error messages (never the whole value). */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? `${typeof v} ${String(v)}` : typeof v;
}

/** Seeds keep their text (host names are resolved at join time); only the shape is checked here. */
export function parseSeed(v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(`expected a string, got ${show(v)}`);
  const a = parseHostPort(v, DEFAULT_PORT);
  if (a === null || (isIP(a.host) === 0 && !isHostName(a.host))) throw new Invalid(`expected host:port, got ${show(v)}`);
  if (a.port === 0) throw new Invalid(`expected a port between 1 and 65535, got ${show(v)}`);
  return v.trim();
}

/** RFC 1123 host names (underscores tolerated: container runtimes use them). */
export function isHostName(host: string): boolean {
  if (host.length > LIMITS.addressBytesMax || host.length > 253) return false;
  return /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(host);
}
