import type { Address } from './address.js';
import { CatalogError } from './catalog.js';
import type { CatalogHost } from './catalog-host.js';
import { encodePart } from './codec.js';
import type { BarrierExclusion } from './effects.js';
import { LIMITS } from './limits.js';
import { compareWrites, type WriteStamp } from './hlc.js';
import type { ConfirmMsg, ConfirmRequestMsg, MemberStatus, SplitConfirmMsg, SplitConfirmRequestMsg } from './messages.js';
import type { SplitGossip } from './splits.js';
import { isNewer, isSameOrNewer, serialPrevious } from './serial.js';
import type { ServiceGossip } from './service-gossip.js';

interface Barrier {
  readonly id: number;
  readonly serviceId: string;
  readonly rev: number;
  readonly startedAt: number;
  readonly deadline: number;
  /** Alive or suspect members that have not confirmed yet. */
  readonly pending: Set<string>;
  /** In the order their confirmations arrived. */
  readonly confirmed: Set<string>;
  /** Alive at some point of the wait, then declared dead or left, without confirming. */
  readonly excluded: Map<string, BarrierExclusion>;
  /** A wait for a service's split (serviceId '' and rev 0): the write to confirm, or a newer one. */
  readonly split?: { readonly service: string; readonly write: WriteStamp };
}

/** What makes this process's requests its own: see ConfirmRequestMsg.life. */
export interface BarrierLife {
  /** Echoed by every current member in its answers. */
  readonly life: number;
  /** Where request ids start, so that even an answer without `life` (an older member) rarely matches. */
  readonly firstRequestId: number;
}

/** Request ids wrap past LIMITS.seqMax, as they are unsigned 32-bit on the wire. */
const SEQ_MOD = LIMITS.seqMax + 1;

function isLive(s: MemberStatus | undefined): boolean {
  return s === 'alive' || s === 'suspect';
}

/**
 * The propagation barrier. The owner of an entry asks every live member which version of it they
 * hold, sending the entry along, and retries the silent ones until all confirm or time runs out.
 * Cost: one small request and one answer per member, plus retries for losses.
 *
 * The members asked follow the membership during the wait: a member that joins (or comes back
 * alive) is asked too, and one that is declared dead or leaves no longer holds the wait up but is
 * reported as excluded, so that nobody reads "confirmed by all" while a frozen member holds a stale
 * view. Answers count only when they echo this process's `life` (or, from an older member that
 * sends none, a request id of this process) and name a version this process has issued.
 */
export class Barriers {
  private readonly active = new Map<number, Barrier>();
  private nextId: number;

  constructor(
    private readonly host: CatalogHost,
    private readonly services: ServiceGossip,
    private readonly retryMs: number,
    private readonly life: BarrierLife,
    private readonly splits?: SplitGossip,
  ) {
    this.nextId = life.firstRequestId % SEQ_MOD;
  }

  start(serviceId: string, timeoutMs: number): number {
    if (this.active.size >= LIMITS.barriersMax) throw new CatalogError('limit', 'wait', `${LIMITS.barriersMax} waits are already in progress`);
    const entry = this.services.catalog.get(this.host.name, serviceId);
    if (entry === undefined) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(serviceId)} on this node`);
    return this.begin(serviceId, entry.rev, timeoutMs, undefined);
  }

  /** Waits until every live member holds `service`'s current split write (or a newer one). */
  startSplit(service: string, timeoutMs: number): number {
    if (this.active.size >= LIMITS.barriersMax) throw new CatalogError('limit', 'wait', `${LIMITS.barriersMax} waits are already in progress`);
    const held = this.splits?.get(service);
    if (held === undefined) throw new CatalogError('not_found', 'service', `no split of ${JSON.stringify(service)} is held here`);
    return this.begin('', 0, timeoutMs, { service, write: { wallMs: held.wallMs, counter: held.counter, writer: held.writer } });
  }

  private begin(serviceId: string, rev: number, timeoutMs: number, split: Barrier['split']): number {
    do this.nextId = (this.nextId + 1) % SEQ_MOD; while (this.active.has(this.nextId));
    const now = this.host.now();
    const b: Barrier = {
      id: this.nextId, serviceId, rev, startedAt: now, deadline: now + Math.max(0, timeoutMs),
      pending: new Set(), confirmed: new Set(), excluded: new Map(), ...(split === undefined ? {} : { split }),
    };
    this.active.set(b.id, b);
    this.round(b);
    return b.id;
  }

  /** A member's answer about a split: it holds the write waited for, or a newer one. */
  onSplitConfirm(msg: SplitConfirmMsg): void {
    const b = this.active.get(msg.reqId);
    if (b?.split === undefined || msg.service !== b.split.service || msg.life !== this.life.life) return;
    if (compareWrites(msg, b.split.write) < 0) return;
    this.confirm(b, msg.from);
  }

  /** A member asks which split write we hold; the split itself travelled in the same packet, before this. */
  onSplitRequest(from: Address, msg: SplitConfirmRequestMsg, selfName: string): void {
    const held = this.splits?.get(msg.service);
    const answer: SplitConfirmMsg = {
      type: 'split-confirm', reqId: msg.reqId, service: msg.service, from: selfName, life: msg.life,
      wallMs: held?.wallMs ?? 0, counter: held?.counter ?? 0, writer: held?.writer ?? '',
    };
    this.host.send(from, [encodePart(answer)]);
  }

  onConfirm(msg: ConfirmMsg): void {
    const b = this.active.get(msg.reqId);
    if (b === undefined || b.split !== undefined || msg.owner !== this.host.name || msg.id !== b.serviceId || !isSameOrNewer(msg.rev, b.rev)) return;
    if (msg.life !== undefined && msg.life !== this.life.life) return;
    // A version above any this process issued is a copy from a previous life of this node, not ours.
    const current = this.services.catalog.get(this.host.name, b.serviceId);
    if (current === undefined || isNewer(msg.rev, current.rev)) return;
    this.confirm(b, msg.from);
  }

  private confirm(b: Barrier, from: string): void {
    if (b.confirmed.has(from)) return;
    // An excluded member that answers holds the version after all; a member that joined since the
    // last round is taken in if it is alive in our view.
    if (!b.pending.delete(from) && !b.excluded.delete(from) && !isLive(this.host.memberStatus(from))) return;
    b.confirmed.add(from);
    if (b.pending.size > 0) return;
    this.follow(b);
    if (b.pending.size === 0) this.finish(b, true);
  }

  /**
   * A member asks which version we hold; the entry itself travels in the same packet, before this.
   * Holding none, we answer the version just below the one asked for: older than it in serial
   * arithmetic whatever its value, where 0 would read as newer once versions pass 2^31.
   */
  onRequest(from: Address, msg: ConfirmRequestMsg, selfName: string): void {
    const held = this.services.catalog.get(msg.owner, msg.id)?.rev ?? serialPrevious(msg.rev);
    const answer: ConfirmMsg = {
      type: 'confirm', reqId: msg.reqId, owner: msg.owner, id: msg.id, rev: held, from: selfName,
      ...(msg.life === undefined ? {} : { life: msg.life }),
    };
    this.host.send(from, [encodePart(answer)]);
  }

  /**
   * A member's status changed. One that joined or came back alive is asked at once; a pending one
   * that was declared dead or left is let go, and the wait ends if it was the last one.
   */
  onMemberStatus(name: string, next: MemberStatus): void {
    if (name === this.host.name) return;
    for (const b of [...this.active.values()]) {
      if (isLive(next)) {
        if (b.confirmed.has(name) || b.pending.has(name)) continue;
        b.pending.add(name);
        b.excluded.delete(name);
        const parts = this.requestParts(b);
        const addr = this.host.memberAddress(name);
        if (parts !== null && addr !== undefined) this.host.send(addr, parts);
      } else if (b.pending.delete(name)) {
        b.excluded.set(name, next === 'left' ? 'left' : 'dead');
        if (b.pending.size === 0) this.finish(b, true);
      }
    }
  }

  /** The next round of barrier `id`'s requests is due. */
  onRetry(id: number): void {
    const b = this.active.get(id);
    if (b !== undefined) this.round(b);
  }

  /** Brings the barrier's members in line with the membership as it is now. */
  private follow(b: Barrier): void {
    for (const name of this.host.liveOthers()) {
      if (b.confirmed.has(name) || b.pending.has(name)) continue;
      b.pending.add(name);
      b.excluded.delete(name);
    }
    for (const name of [...b.pending]) {
      const s = this.host.memberStatus(name);
      if (isLive(s)) continue;
      b.pending.delete(name);
      // Only reaping forgets a member, and only long after it died or left.
      b.excluded.set(name, s === 'left' ? 'left' : 'dead');
    }
  }

  private round(b: Barrier): void {
    this.follow(b);
    if (b.pending.size === 0) return this.finish(b, true);
    const now = this.host.now();
    if (now >= b.deadline) return this.finish(b, false);
    const parts = this.requestParts(b);
    if (parts === null) return this.finish(b, false);
    for (const name of b.pending) {
      const addr = this.host.memberAddress(name);
      if (addr !== undefined) this.host.send(addr, parts);
    }
    this.host.setTimer({ kind: 'barrier-retry', barrierId: b.id }, Math.min(b.deadline, now + this.retryMs));
  }

  /** The entry itself and the question, in one packet: the answer then comes from a member that holds it. */
  private requestParts(b: Barrier): Uint8Array[] | null {
    if (b.split !== undefined) {
      const held = this.splits?.get(b.split.service);
      if (held === undefined) return null;
      const ask: SplitConfirmRequestMsg = { type: 'split-confirm-request', reqId: b.id, service: b.split.service, from: this.host.name, life: this.life.life };
      return [encodePart(held), encodePart(ask)];
    }
    const entry = this.services.catalog.get(this.host.name, b.serviceId);
    if (entry === undefined) return null;
    const request: ConfirmRequestMsg = {
      type: 'confirm-request', reqId: b.id, owner: this.host.name, id: b.serviceId, rev: b.rev, from: this.host.name, life: this.life.life,
    };
    return [encodePart(entry), encodePart(request)];
  }

  private finish(b: Barrier, done: boolean): void {
    this.active.delete(b.id);
    this.host.clearTimer({ kind: 'barrier-retry', barrierId: b.id });
    this.host.barrierEvent({
      type: 'barrier', barrierId: b.id, serviceId: b.serviceId, rev: b.rev, done,
      confirmed: [...b.confirmed], pending: done ? [] : [...b.pending],
      excluded: [...b.excluded].map(([name, status]) => ({ name, status })),
      elapsedMs: this.host.now() - b.startedAt,
      ...(b.split === undefined ? {} : { split: b.split.service }),
    });
  }
}
