import { isIP } from 'node:net';

/**
 * The names the DNS face answers, under `dns_domain` (Consul's name forms):
 *
 *   DOMAIN                              the zone apex (SOA)
 *   NAME.service.DOMAIN                 A/AAAA/SRV of NAME's routable instances
 *   TAG.NAME.service.DOMAIN             ... of those tagged TAG
 *   _NAME._tcp.service.DOMAIN           RFC 2782 form: all of NAME's instances
 *   _NAME._TAG.service.DOMAIN           RFC 2782 form: those tagged TAG
 *   NODE.node.DOMAIN                    A/AAAA of a member
 *   HEX.addr.DOMAIN                     an address spelled in hex (8 digits IPv4, 32 IPv6): the
 *                                       SRV target of an instance whose address is not its node's
 *   service.DOMAIN, node.DOMAIN, addr.DOMAIN   exist (with no records of their own)
 *
 * Names are compared case-insensitively (DNS is, RFC 4343); service, tag and node names are matched
 * against the catalog in lower case.
 */

export type DnsName =
  | { readonly kind: 'apex' }
  /** service.DOMAIN, node.DOMAIN, addr.DOMAIN: names that exist only as parents of others. */
  | { readonly kind: 'branch' }
  | { readonly kind: 'service'; readonly service: string; readonly tag: string | null }
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'addr'; readonly address: string; readonly family: 4 | 6 }
  /** Under the domain but no name form matches: NXDOMAIN. */
  | { readonly kind: 'unknown' }
  /** Not under the domain: REFUSED (the agent is authoritative for its domain only). */
  | { readonly kind: 'outside' };

/** Splits a name as dns-packet decodes it ("a.b.c", "." for the root) into lower-case labels. */
export function labelsOf(name: string): string[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  return trimmed.toLowerCase().split('.');
}

/**
 * The printable ASCII a label may carry here. Other bytes cannot name anything in the catalog the
 * face answers for, and a label holding them would not survive re-encoding the question intact.
 */
export function isPrintableLabel(label: string): boolean {
  return label.length >= 1 && label.length <= 63 && /^[\x21-\x7e]+$/.test(label);
}

/** A name dns-packet decoded that can be echoed back unchanged: printable labels, at most 253 bytes. */
export function isEchoableName(name: string): boolean {
  if (name === '.') return true;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed.length > 253) return false;
  return trimmed.split('.').every(isPrintableLabel);
}

/** A label as RFC 1123 host names have them (letters, digits, hyphens; underscore tolerated). */
export function isHostLabel(label: string): boolean {
  return label.length >= 1 && label.length <= 63 && /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(label);
}

/** `domain` as configured (validated lower case, no trailing dot) split into labels. */
export function parseQueryName(name: string, domain: readonly string[]): DnsName {
  const labels = labelsOf(name);
  const n = labels.length - domain.length;
  if (n < 0) return { kind: 'outside' };
  for (let i = 0; i < domain.length; i++) {
    if (labels[n + i] !== domain[i]) return { kind: 'outside' };
  }
  const head = labels.slice(0, n);
  if (head.length === 0) return { kind: 'apex' };
  const branch = head[head.length - 1]!;
  const rest = head.slice(0, -1);
  switch (branch) {
    case 'service':
      return serviceName(rest);
    case 'node':
      if (rest.length === 0) return { kind: 'branch' };
      return rest.length === 1 ? { kind: 'node', node: rest[0]! } : { kind: 'unknown' };
    case 'addr':
      if (rest.length === 0) return { kind: 'branch' };
      return rest.length === 1 ? addrName(rest[0]!) : { kind: 'unknown' };
    default:
      return { kind: 'unknown' };
  }
}

function serviceName(rest: readonly string[]): DnsName {
  if (rest.length === 0) return { kind: 'branch' };
  const [a, b] = rest;
  if (rest.length === 1) return { kind: 'service', service: a!, tag: null };
  if (rest.length !== 2) return { kind: 'unknown' };
  // RFC 2782: _NAME._PROTO, where a protocol other than tcp is read as a tag (as Consul does).
  if (a!.startsWith('_') && b!.startsWith('_') && a!.length > 1 && b!.length > 1) {
    const tag = b!.slice(1);
    return { kind: 'service', service: a!.slice(1), tag: tag === 'tcp' ? null : tag };
  }
  return { kind: 'service', service: b!, tag: a! };
}

function addrName(hex: string): DnsName {
  if (/^[0-9a-f]{8}$/.test(hex)) {
    const b = Buffer.from(hex, 'hex');
    return { kind: 'addr', address: [...b].join('.'), family: 4 };
  }
  if (/^[0-9a-f]{32}$/.test(hex)) {
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return { kind: 'addr', address: groups.join(':'), family: 6 };
  }
  return { kind: 'unknown' };
}

/** HEX.addr.DOMAIN for an IP address (Consul's encoding); null for a host name. */
export function addrTarget(address: string, domain: string): string | null {
  const family = isIP(address);
  if (family === 4) return `${Buffer.from(address.split('.').map(Number)).toString('hex')}.addr.${domain}`;
  if (family === 6) return `${ipv6Hex(address)}.addr.${domain}`;
  return null;
}

/** The 32 hex digits of an IPv6 address, :: and embedded IPv4 expanded. */
export function ipv6Hex(address: string): string {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const b = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const fill = right === undefined ? [] : new Array<string>(8 - l.length - r.length).fill('0');
  return [...l, ...fill, ...r].map((g) => g.padStart(4, '0')).join('').toLowerCase();
}
