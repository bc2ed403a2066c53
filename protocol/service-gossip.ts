import {
  Catalog, CatalogError, catalogKey, entryFromSpec, sameEntry, sameView, serviceView, type ServiceSpec, tombstoneOf,
} from './catalog.js';
import type { CatalogHost } from './catalog-host.js';
import { encodePart } from './codec.js';
import type { ServiceView } from './effects.js';
import { LIMITS } from './limits.js';
import type { Address } from './address.js';
import type { CatalogCursor, HaveMsg, Health, MemberStatus, ServiceMsg, WantMsg } from './messages.js';
import { isNewer, serialNext } from './serial.js';

/** Broadcast-queue keys of catalog entries; member updates use 'm:'. */
export function serviceQueueKey(node: string, id: string): string {
  return 's:' + catalogKey(node, id);
}

/** A request for a missing entry: whom it went to last, when, and how often. */
interface Wanted {
  readonly node: string;
  readonly id: string;
  rev: number;
  from: Address;
  at: number;
  tries: number;
}

const WANT_RETRY_TIMER = { kind: 'want-retry' } as const;

/** The digest the dissemination queue repeats for an entry: who holds which version, not the entry. */
export function digestOf(msg: ServiceMsg): Uint8Array {
  return encodePart({ type: 'have', node: msg.node, id: msg.id, rev: msg.rev });
}

/**
 * The service catalog of one node: its own registrations (which only it may change, with a version
 * counter only it raises) and everyone else's, merged by newest version, with views adjusted for
 * the owner's membership status. Versions are 32-bit serial numbers (serial.ts).
 */
export class ServiceGossip {
  readonly catalog = new Catalog();
  /**
   * Version counter of own changes. An entry re-issued above a claim from elsewhere (an echo from a
   * previous life, or forged) takes the claim's successor without moving this counter: however far
   * ahead the claim was, it cannot push the counter past the versions of the other own entries.
   */
  private ownRev: number;
  /** Entries asked for (want) and not yet received, by catalog key; bounded by LIMITS.wantsPendingMax. */
  private readonly wanted = new Map<string, Wanted>();

  constructor(
    private readonly host: CatalogHost,
    private readonly packetBytes: number,
    startRev: number,
    /** Bytes of entries one push-pull state carries (smaller than the default only in tests and simulations). */
    private readonly stateBytesMax: number = LIMITS.pushPullServiceBytesMax,
    /** How long a request for a missing entry (want) stands before a later digest asks again (profiles.ts wantRetryMs). */
    private readonly wantRetryMs: number = 100,
  ) {
    this.ownRev = startRev;
  }

  /** The version counter of this node's own entries (persisted by the daemon). */
  get revision(): number {
    return this.ownRev;
  }

  // ---- Local changes ------------------------------------------------------------------------

  register(spec: ServiceSpec): ServiceView {
    const existing = this.catalog.get(this.host.name, spec.id);
    if ((existing === undefined || existing.deleted) && this.catalog.ownedBy(this.host.name).filter((m) => !m.deleted).length >= LIMITS.servicesPerNodeMax) {
      throw new CatalogError('limit', 'id', `this node already owns ${LIMITS.servicesPerNodeMax} service instances`);
    }
    const entry = entryFromSpec(this.host.name, spec, this.nextRev(existing));
    // The same registration again is not a change: no new version, no event, nothing to spread.
    if (existing !== undefined && !existing.deleted && sameEntry(existing, entry)) return serviceView(existing, 'alive') as ServiceView;
    const part = encodePart(entry);
    const room = this.packetBytes - LIMITS.serviceReserveBytes;
    if (part.length > room) {
      throw new CatalogError('too_large', 'service', `the entry encodes to ${part.length} bytes; at most ${room} fit in one packet (fewer tags or less meta)`);
    }
    this.take(entry.rev);
    this.store(entry, part);
    return serviceView(entry, 'alive') as ServiceView;
  }

  deregister(id: string): number {
    const cur = this.catalog.get(this.host.name, id);
    if (cur === undefined || cur.deleted) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(id)} is registered on this node`);
    const t = tombstoneOf(this.host.name, id, this.take(this.nextRev(cur)));
    this.store(t, encodePart(t));
    return t.rev;
  }

  /** Changes health or draining of an own entry; returns its version (unchanged if nothing changed). */
  update(id: string, patch: { health?: Health; draining?: boolean }): number {
    const cur = this.catalog.get(this.host.name, id);
    if (cur === undefined || cur.deleted) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(id)} is registered on this node`);
    const health = patch.health ?? cur.health;
    const draining = patch.draining ?? cur.draining;
    if (health === cur.health && draining === cur.draining) return cur.rev;
    const next: ServiceMsg = { ...cur, rev: this.take(this.nextRev(cur)), health, draining };
    this.store(next, encodePart(next));
    return next.rev;
  }

  /** Own entries, live ones only. */
  own(): ServiceMsg[] {
    return this.catalog.ownedBy(this.host.name).filter((m) => !m.deleted);
  }

  // ---- Remote input -------------------------------------------------------------------------

  onService(msg: ServiceMsg): void {
    if (msg.node === this.host.name) {
      this.onOwnEntryEcho(msg);
      return;
    }
    const { stored, previous, refused } = this.catalog.put(msg, this.host.now());
    if (stored) this.wanted.delete(catalogKey(msg.node, msg.id));
    if (refused) {
      this.host.reject('limit', `catalog full: entry ${msg.node}/${msg.id} refused`);
      return;
    }
    if (!stored) {
      // A copy we hold already may still come with an arc of the tree to relay (a relay need not
      // lie inside its arc): pass the arc on, or the members under it would wait for the repair.
      if (previous !== undefined && previous.rev === msg.rev && sameEntry(previous, msg) && this.host.memberStatus(msg.node) !== undefined) {
        this.host.relay(serviceQueueKey(msg.node, msg.id), encodePart(previous));
      }
      return;
    }
    const owner = this.host.memberStatus(msg.node);
    this.emitChange(previous === undefined ? null : serviceView(previous, owner), serviceView(msg, owner));
    // An entry of an owner we hold no record of may be a forgotten owner's, kept alive by a node
    // that never knew the owner: it waits here, unspread, for its owner (or its grace to run out).
    if (owner === undefined) return;
    this.host.spread(serviceQueueKey(msg.node, msg.id), encodePart(msg), digestOf(msg), 'received');
  }

  /**
   * A digest: the sender holds version `rev` of (node, id). If that is newer than ours, ask the
   * sender for the entry — unless it was asked for lately and may still be on its way. Unanswered
   * requests are asked again (onWantRetry), of the latest member that sent a digest, a few times.
   */
  onHave(from: Address, msg: HaveMsg): void {
    const held = this.catalog.get(msg.node, msg.id);
    if (held !== undefined && !isNewer(msg.rev, held.rev)) return;
    if (msg.node === this.host.name && this.host.selfContested()) return;
    const key = catalogKey(msg.node, msg.id);
    const now = this.host.now();
    const asked = this.wanted.get(key);
    if (asked !== undefined) {
      // Ask whoever told us last (it is alive), for the newest version heard of.
      asked.from = from;
      if (isNewer(msg.rev, asked.rev)) asked.rev = msg.rev;
      return;
    }
    if (this.wanted.size >= LIMITS.wantsPendingMax) return;
    this.wanted.set(key, { node: msg.node, id: msg.id, rev: msg.rev, from, at: now, tries: 1 });
    this.host.send(from, [encodePart({ type: 'want', node: msg.node, id: msg.id, rev: msg.rev })]);
    this.host.setTimer(WANT_RETRY_TIMER, now + this.wantRetryMs);
  }

  /** Sends again the requests that went unanswered; gives up on one after LIMITS.wantAttemptsMax. */
  onWantRetry(): void {
    const now = this.host.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [key, w] of this.wanted) {
      const held = this.catalog.get(w.node, w.id);
      if ((held !== undefined && !isNewer(w.rev, held.rev)) || w.tries >= LIMITS.wantAttemptsMax) {
        this.wanted.delete(key);
        continue;
      }
      if (now - w.at >= this.wantRetryMs) {
        w.at = now;
        w.tries++;
        this.host.send(w.from, [encodePart({ type: 'want', node: w.node, id: w.id, rev: w.rev })]);
      }
      next = Math.min(next, w.at + this.wantRetryMs);
    }
    if (next !== Number.POSITIVE_INFINITY) this.host.setTimer(WANT_RETRY_TIMER, next);
  }

  /** A member asks for an entry it saw a digest of: send it the version we hold, if as new. */
  onWant(from: Address, msg: WantMsg): void {
    const held = this.catalog.get(msg.node, msg.id);
    if (held === undefined || isNewer(msg.rev, held.rev)) return;
    // Own entries are held back while another process may hold our name (withholdOwn).
    if (held.node === this.host.name && this.host.selfContested()) return;
    this.host.send(from, [encodePart(held)]);
  }

  /**
   * A copy of one of our own entries came back. If it is newer than what we hold, or carries our
   * version with other content, it is from a previous life of this node (state lost on restart) or
   * forged: re-assert what we actually have — the current entry, or a tombstone if we no longer
   * have it — at the claim's successor, which every node takes as newer however far ahead the
   * claim was.
   */
  private onOwnEntryEcho(msg: ServiceMsg): void {
    // Another process may be using our name: the copy may be its entry, not a previous life of ours.
    if (this.host.selfContested()) return;
    const cur = this.catalog.get(this.host.name, msg.id);
    if (cur !== undefined && !isNewer(msg.rev, cur.rev) && (msg.rev !== cur.rev || sameEntry(msg, cur))) return;
    const above = serialNext(msg.rev);
    if (cur !== undefined) {
      const next: ServiceMsg = { ...cur, rev: above };
      this.store(next, encodePart(next));
    } else if (!msg.deleted) {
      const t = tombstoneOf(this.host.name, msg.id, above);
      this.store(t, encodePart(t));
    } else {
      // A tombstone of ours we had forgotten: keep it so the entry cannot come back.
      this.catalog.put(msg, this.host.now());
    }
  }

  /**
   * Takes own entries out of the dissemination queue: another process may hold our name, and
   * our entries would overwrite its entries of the same ids. They still travel in full states,
   * where members holding the other process refuse them (node.ts mergeState).
   */
  withholdOwn(): void {
    for (const m of this.catalog.ownedBy(this.host.name)) this.host.withdraw(serviceQueueKey(m.node, m.id));
  }

  /** Queues own entries again, after a claim of our name turned out to be a previous life of ours. */
  spreadOwn(): void {
    for (const m of this.catalog.ownedBy(this.host.name)) this.host.spread(serviceQueueKey(m.node, m.id), encodePart(m), digestOf(m), 'queue');
  }

  /** Emits view changes for every entry of `node` after its membership status changed. */
  onOwnerStatus(node: string, previous: MemberStatus | undefined, next: MemberStatus | undefined): void {
    if (node === this.host.name) return;
    for (const m of this.catalog.ownedBy(node)) {
      this.emitChange(serviceView(m, previous), serviceView(m, next));
      // Held back while the owner was unknown (its entry outran its alive message): spread it now.
      if (previous === undefined && next !== undefined) this.host.spread(serviceQueueKey(m.node, m.id), encodePart(m), digestOf(m), 'queue');
    }
  }

  /** The owner was reaped: forget its entries. */
  dropOwner(node: string, lastStatus: MemberStatus | undefined): void {
    for (const m of this.catalog.dropNode(node)) this.emitChange(serviceView(m, lastStatus), null);
  }

  views(): ServiceView[] {
    const out: ServiceView[] = [];
    for (const s of this.catalog.all()) {
      const v = serviceView(s.msg, s.msg.node === this.host.name ? 'alive' : this.host.memberStatus(s.msg.node));
      if (v !== null) out.push(v);
    }
    return out;
  }

  /**
   * Entries and tombstones for one push-pull state: those after `after` in key order (from the
   * first when undefined), within stateBytesMax less `reservedBytes` (what else the state carries
   * beside the catalog, e.g. splits). When the rest did not fit, `moreAfter` is the last entry
   * included; the next page starts after it.
   */
  page(after: CatalogCursor | undefined, reservedBytes = 0): { entries: ServiceMsg[]; moreAfter: CatalogCursor | undefined } {
    const entries: ServiceMsg[] = [];
    let bytes = reservedBytes;
    for (const msg of this.catalog.after(after === undefined ? undefined : catalogKey(after.node, after.id))) {
      if (!this.exported(msg)) continue;
      // The part encoding is a close upper bound of the entry's size inside the state.
      bytes += encodePart(msg).length;
      // At least one entry per page, so paging always moves on (an entry is far smaller than a state).
      if (entries.length > 0 && (bytes > this.stateBytesMax || entries.length >= LIMITS.servicesMax)) {
        const last = entries[entries.length - 1] as ServiceMsg;
        return { entries, moreAfter: { node: last.node, id: last.id } };
      }
      entries.push(msg);
    }
    return { entries, moreAfter: undefined };
  }

  /** Every entry and tombstone a push-pull state could carry (see page), in no particular order. */
  forEachExported(visit: (msg: ServiceMsg) => void): void {
    for (const { msg } of this.catalog.all()) if (this.exported(msg)) visit(msg);
  }

  /** Entries travel with their owner's record: without it a peer could not reap them. */
  private exported(msg: ServiceMsg): boolean {
    return msg.node === this.host.name || this.host.memberExported(msg.node);
  }

  /**
   * Collects tombstones older than `ttlMs`, and the entries of owners with no member record here
   * that nothing refreshed for `orphanGraceMs` (views of unknown owners are hidden: no events).
   */
  collect(now: number, ttlMs: number, orphanGraceMs: number): void {
    this.catalog.collectTombstones(now, ttlMs);
    this.catalog.dropOrphans(now, orphanGraceMs, (node) => node === this.host.name || this.host.memberStatus(node) !== undefined);
  }

  // ---- Helpers ------------------------------------------------------------------------------

  /**
   * The version of the next change to own entry `cur`: the counter's successor, unless the entry
   * was re-issued above a claim and sits ahead of the counter, then the entry's own successor.
   */
  private nextRev(cur: ServiceMsg | undefined): number {
    const next = serialNext(this.ownRev);
    return cur === undefined || isNewer(next, cur.rev) ? next : serialNext(cur.rev);
  }

  /** Records `rev` as used; the counter moves only by its own successor. */
  private take(rev: number): number {
    if (rev === serialNext(this.ownRev)) this.ownRev = rev;
    return rev;
  }

  private store(entry: ServiceMsg, part: Uint8Array): void {
    const { previous } = this.catalog.put(entry, this.host.now(), true);
    this.emitChange(previous === undefined ? null : serviceView(previous, 'alive'), serviceView(entry, 'alive'));
    this.host.spread(serviceQueueKey(entry.node, entry.id), part, digestOf(entry), 'origin');
  }

  private emitChange(before: ServiceView | null, after: ServiceView | null): void {
    if (sameView(before, after)) return;
    if (after === null) {
      if (before !== null) this.host.serviceEvent({ type: 'service', change: 'deregistered', service: before, previous: before });
      return;
    }
    this.host.serviceEvent({ type: 'service', change: before === null ? 'registered' : 'updated', service: after, previous: before });
  }
}
