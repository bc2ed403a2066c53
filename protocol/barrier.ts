import type { Address } from './address.js';
import { CatalogError } from './catalog.js';
import type { CatalogHost } from './catalog-host.js';
import { encodePart } from './codec.js';
import { LIMITS } from './limits.js';
import type { ConfirmMsg, ConfirmRequestMsg } from './messages.js';
import { isSameOrNewer, serialPrevious } from './serial.js';
import type { ServiceGossip } from './service-gossip.js';

interface Barrier {
  readonly id: number;
  readonly serviceId: string;
  readonly rev: number;
  readonly startedAt: number;
  readonly deadline: number;
  readonly pending: Set<string>;
  readonly confirmed: string[];
}

const RETRY_PREFIX = 'b:';
const SEQ_MOD = 2 ** 32;

/**
 * The propagation barrier. The owner of an entry asks every live member which version of it they
 * hold, sending the entry along, and retries the silent ones until all confirm or time runs out.
 * Cost: one small request and one answer per member, plus retries for losses. A member that dies or
 * leaves while we wait is no longer waited for.
 */
export class Barriers {
  private readonly active = new Map<number, Barrier>();
  private nextId = 0;

  constructor(private readonly host: CatalogHost, private readonly services: ServiceGossip, private readonly retryMs: number) {}

  start(serviceId: string, timeoutMs: number): number {
    if (this.active.size >= LIMITS.barriersMax) throw new CatalogError('limit', 'wait', `${LIMITS.barriersMax} waits are already in progress`);
    const entry = this.services.catalog.get(this.host.name, serviceId);
    if (entry === undefined) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(serviceId)} on this node`);
    this.nextId = (this.nextId + 1) % SEQ_MOD;
    const now = this.host.now();
    const b: Barrier = {
      id: this.nextId, serviceId, rev: entry.rev, startedAt: now, deadline: now + Math.max(0, timeoutMs),
      pending: new Set(this.host.liveOthers()), confirmed: [],
    };
    this.active.set(b.id, b);
    this.round(b);
    return b.id;
  }

  onConfirm(msg: ConfirmMsg): void {
    const b = this.active.get(msg.reqId);
    if (b === undefined || msg.owner !== this.host.name || msg.id !== b.serviceId || !isSameOrNewer(msg.rev, b.rev)) return;
    if (b.pending.delete(msg.from)) b.confirmed.push(msg.from);
    if (b.pending.size === 0) this.finish(b, true);
  }

  /**
   * A member asks which version we hold; the entry itself travels in the same packet, before this.
   * Holding none, we answer the version just below the one asked for: older than it in serial
   * arithmetic whatever its value, where 0 would read as newer once versions pass 2^31.
   */
  onRequest(from: Address, msg: ConfirmRequestMsg, selfName: string): void {
    const held = this.services.catalog.get(msg.owner, msg.id)?.rev ?? serialPrevious(msg.rev);
    const answer: ConfirmMsg = { type: 'confirm', reqId: msg.reqId, owner: msg.owner, id: msg.id, rev: held, from: selfName };
    this.host.send(from, [encodePart(answer)]);
  }

  onTimer(key: string): boolean {
    if (!key.startsWith(RETRY_PREFIX)) return false;
    const b = this.active.get(Number(key.slice(RETRY_PREFIX.length)));
    if (b !== undefined) this.round(b);
    return true;
  }

  private round(b: Barrier): void {
    for (const name of [...b.pending]) {
      const s = this.host.memberStatus(name);
      if (s !== 'alive' && s !== 'suspect') b.pending.delete(name);
    }
    if (b.pending.size === 0) return this.finish(b, true);
    const now = this.host.now();
    if (now >= b.deadline) return this.finish(b, false);
    const entry = this.services.catalog.get(this.host.name, b.serviceId);
    if (entry === undefined) return this.finish(b, false);
    const parts = [
      encodePart(entry),
      encodePart({ type: 'confirm-request', reqId: b.id, owner: this.host.name, id: b.serviceId, rev: b.rev, from: this.host.name }),
    ];
    for (const name of b.pending) {
      const addr = this.host.memberAddress(name);
      if (addr !== undefined) this.host.send(addr, parts);
    }
    this.host.setTimer(RETRY_PREFIX + b.id, Math.min(b.deadline, now + this.retryMs));
  }

  private finish(b: Barrier, done: boolean): void {
    this.active.delete(b.id);
    this.host.clearTimer(RETRY_PREFIX + b.id);
    this.host.barrierEvent({
      type: 'barrier', barrierId: b.id, serviceId: b.serviceId, rev: b.rev, done,
      confirmed: b.confirmed, pending: done ? [] : [...b.pending], elapsedMs: this.host.now() - b.startedAt,
    });
  }
}
