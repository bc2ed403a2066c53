import type { Address } from '../../protocol/address.js';
import { Invalid, parseBind, show, type ValueSource } from './config-fields.js';
import { DAEMON_LIMITS } from '../limits.js';
import { isHostLabel } from '../dns/names.js';

/** Validators of the DNS face's fields: dns_addr, dns_domain, dns_ttl. */

/** IP:port for the DNS listeners (UDP and TCP); port 0 picks a free port. */
export function parseDnsAddr(v: unknown): Address {
  return parseBind(v);
}

/** A domain of host labels, stored in lower case without the trailing dot ("swimd", "consul"). */
export function parseDnsDomain(v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(`expected a domain such as "swimd", got ${show(v)}`);
  const s = (v.endsWith('.') ? v.slice(0, -1) : v).toLowerCase();
  if (s === '') throw new Invalid('expected a domain such as "swimd", got an empty name');
  if (Buffer.byteLength(s) > DAEMON_LIMITS.dnsDomainBytesMax) {
    throw new Invalid(`expected at most ${DAEMON_LIMITS.dnsDomainBytesMax} bytes, got ${Buffer.byteLength(s)}`);
  }
  const bad = s.split('.').find((l) => !isHostLabel(l));
  if (bad !== undefined) {
    throw new Invalid(`expected labels of letters, digits and hyphens (1-63 each) separated by dots, got ${show(v)} (label ${show(bad)})`);
  }
  return s;
}

/** Seconds, a whole number from 0 to dnsTtlMax; a flag's text is read as a number. */
export function parseDnsTtl(v: unknown, source: ValueSource): number {
  const n = source === 'flag' && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > DAEMON_LIMITS.dnsTtlMax) {
    throw new Invalid(`expected whole seconds from 0 to ${DAEMON_LIMITS.dnsTtlMax}, got ${show(v)}`);
  }
  return n;
}
