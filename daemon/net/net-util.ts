import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Address } from '../../protocol/address.js';

/** Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; members are gossiped as plain IPv4. */
export function normalizeHost(host: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host);
  return m?.[1] ?? host;
}

export function isIPv6Host(host: string): boolean {
  return isIP(host) === 6;
}

/**
 * Advertise address for a wildcard bind: the first non-internal IPv4 address of this host,
 * else loopback (a single-host cluster still works).
 */
export function pickAdvertiseHost(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

export function errCode(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'unknown';
}

export function describe(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
