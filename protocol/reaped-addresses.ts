import type { Address } from './address.js';
import { LIMITS } from './limits.js';

interface ReapedAddress {
  readonly host: string;
  readonly port: number;
  readonly reapedAt: number;
}

/**
 * Addresses of dead members after they were reaped from the member table, kept for reconnect
 * attempts long after the member itself is forgotten (Serf keeps them 24 h). Without them, the two
 * sides of a partition that outlasts the reap time forget each other for good. Bounded by
 * LIMITS.reapedAddressesMax; the oldest entry goes first.
 */
export class ReapedAddresses {
  /** By member name, in order of reaping (a re-reaped name moves to the end). */
  private readonly byName = new Map<string, ReapedAddress>();

  get size(): number {
    return this.byName.size;
  }

  add(name: string, address: Address, now: number): void {
    this.byName.delete(name);
    this.byName.set(name, { host: address.host, port: address.port, reapedAt: now });
    while (this.byName.size > LIMITS.reapedAddressesMax) {
      const oldest = this.byName.keys().next();
      if (oldest.done === true) break;
      this.byName.delete(oldest.value);
    }
  }

  /** Forgets addresses reaped `retentionMs` or longer ago. */
  expire(now: number, retentionMs: number): void {
    for (const [name, a] of this.byName) {
      if (now - a.reapedAt < retentionMs) break; // in order of reaping: the rest are younger
      this.byName.delete(name);
    }
  }

  /** Addresses whose member `accept`s (e.g. is not back in the member table). */
  candidates(accept: (name: string, address: Address) => boolean): Address[] {
    const out: Address[] = [];
    for (const [name, a] of this.byName) if (accept(name, a)) out.push({ host: a.host, port: a.port });
    return out;
  }
}
