import { encodePart } from './codec.js';
import type { ServiceView } from './effects.js';
import { LIMITS } from './limits.js';
import type { Health, MemberStatus, ServiceMsg } from './messages.js';
import { isNewer } from './serial.js';
import { textFault } from './codec-check.js';

/** What a caller may set on a service instance it registers. */
export interface ServiceSpec {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly version?: string;
  readonly weight?: number;
  /** Initial health; the daemon starts a checked instance as critical until its check passes. */
  readonly health?: Health;
  readonly draining?: boolean;
}

/** A local catalog operation refused; `field` names what was wrong. */
export class CatalogError extends Error {
  constructor(readonly code: 'invalid' | 'too_large' | 'limit' | 'not_found', readonly field: string, message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

interface Stored {
  msg: ServiceMsg;
  updatedAt: number;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

export function catalogKey(node: string, id: string): string {
  return node + '\u0000' + id;
}

/** The view of an entry given its owner's status: hidden when deleted or the owner left or is unknown. */
export function serviceView(msg: ServiceMsg, owner: MemberStatus | undefined): ServiceView | null {
  if (msg.deleted || owner === undefined || owner === 'left') return null;
  const meta: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of msg.meta) meta[k] = v;
  return {
    node: msg.node, id: msg.id, name: msg.name, address: msg.address, port: msg.port, tags: msg.tags,
    meta, version: msg.version, weight: msg.weight, health: owner === 'dead' ? 'critical' : msg.health,
    draining: msg.draining, rev: msg.rev,
  };
}

export function sameView(a: ServiceView | null, b: ServiceView | null): boolean {
  if (a === null || b === null) return a === b;
  return a.rev === b.rev && a.health === b.health && a.address === b.address && a.port === b.port;
}

/** True when the two entries carry the same content (versions aside). */
export function sameEntry(a: ServiceMsg, b: ServiceMsg): boolean {
  return a.deleted === b.deleted && a.name === b.name && a.address === b.address && a.port === b.port &&
    a.version === b.version && a.weight === b.weight && a.health === b.health && a.draining === b.draining &&
    a.tags.length === b.tags.length && a.tags.every((t, i) => t === b.tags[i]) &&
    a.meta.length === b.meta.length && a.meta.every(([k, v], i) => k === b.meta[i]?.[0] && v === b.meta[i]?.[1]);
}

/**
 * True when `msg` replaces `held`: its version is newer (serial arithmetic), or the versions are
 * equal and the contents differ, where the larger encoding wins. Equal versions with different
 * contents come from an owner that lost its saved catalog and counted up to an old number again;
 * comparing the bytes gives every node the same answer, so the cluster converges, and the owner,
 * seeing its version with other content, re-issues above it.
 */
export function supersedes(msg: ServiceMsg, held: ServiceMsg): boolean {
  if (msg.rev !== held.rev) return isNewer(msg.rev, held.rev);
  if (sameEntry(msg, held)) return false;
  return Buffer.compare(encodePart(msg), encodePart(held)) > 0;
}

/**
 * Every service entry and tombstone this node holds, keyed by (owner, id). The newest owner
 * version wins (ties: see supersedes); tombstones are kept for a retention period and then collected.
 */
export class Catalog {
  private readonly entries = new Map<string, Stored>();
  private readonly byNode = new Map<string, Set<string>>();
  /** Keys in ascending order, rebuilt on demand after a key is added or removed (not on updates). */
  private sortedKeys: string[] | null = null;

  get size(): number {
    return this.entries.size;
  }

  get(node: string, id: string): ServiceMsg | undefined {
    return this.entries.get(catalogKey(node, id))?.msg;
  }

  /** Entries (tombstones included) owned by `node`. */
  ownedBy(node: string): ServiceMsg[] {
    const keys = this.byNode.get(node);
    if (keys === undefined) return [];
    const out: ServiceMsg[] = [];
    for (const k of keys) {
      const s = this.entries.get(k);
      if (s !== undefined) out.push(s.msg);
    }
    return out;
  }

  all(): IterableIterator<Stored> {
    return this.entries.values();
  }

  /**
   * Entries in ascending key order, starting after `afterKey` (from the first when undefined). The
   * order is the same on every node, so a page boundary means the same thing to both ends of a
   * push-pull, and entries added or removed meanwhile shift nothing.
   */
  *after(afterKey: string | undefined): Generator<ServiceMsg> {
    if (this.sortedKeys === null) this.sortedKeys = [...this.entries.keys()].sort();
    const keys = this.sortedKeys;
    let lo = 0;
    if (afterKey !== undefined) {
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((keys[mid] as string) <= afterKey) lo = mid + 1;
        else hi = mid;
      }
    }
    for (let i = lo; i < keys.length; i++) {
      const s = this.entries.get(keys[i] as string);
      if (s !== undefined) yield s.msg;
    }
  }

  /**
   * Stores `msg` if it is newer than what is held (always, with `own`: the owner's change is the
   * truth whatever its number). Returns the entry it replaced (undefined when new), or null when
   * `msg` was not newer or a limit refused it (`refused` tells which).
   */
  put(msg: ServiceMsg, now: number, own = false): { stored: boolean; previous: ServiceMsg | undefined; refused: boolean } {
    const key = catalogKey(msg.node, msg.id);
    const cur = this.entries.get(key);
    if (cur !== undefined) {
      if (!own && !supersedes(msg, cur.msg)) return { stored: false, previous: cur.msg, refused: false };
      const previous = cur.msg;
      cur.msg = msg;
      cur.updatedAt = now;
      return { stored: true, previous, refused: false };
    }
    const owned = this.byNode.get(msg.node);
    if (this.entries.size >= LIMITS.servicesMax || (owned?.size ?? 0) >= LIMITS.servicesPerNodeMax) {
      return { stored: false, previous: undefined, refused: true };
    }
    this.entries.set(key, { msg, updatedAt: now });
    this.sortedKeys = null;
    if (owned === undefined) this.byNode.set(msg.node, new Set([key]));
    else owned.add(key);
    return { stored: true, previous: undefined, refused: false };
  }

  remove(node: string, id: string): void {
    const key = catalogKey(node, id);
    if (!this.entries.delete(key)) return;
    this.sortedKeys = null;
    const owned = this.byNode.get(node);
    owned?.delete(key);
    if (owned !== undefined && owned.size === 0) this.byNode.delete(node);
  }

  /** Forgets every entry of `node` (it was reaped). */
  dropNode(node: string): ServiceMsg[] {
    const dropped = this.ownedBy(node);
    for (const m of dropped) this.remove(m.node, m.id);
    return dropped;
  }

  /**
   * Forgets every entry of each owner that `known` does not know and whose newest entry was stored
   * `graceMs` or longer ago; returns the entries dropped.
   */
  dropOrphans(now: number, graceMs: number, known: (node: string) => boolean): ServiceMsg[] {
    const orphans: string[] = [];
    for (const [node, keys] of this.byNode) {
      if (known(node)) continue;
      let newest = -Infinity;
      for (const k of keys) newest = Math.max(newest, this.entries.get(k)?.updatedAt ?? -Infinity);
      if (now - newest >= graceMs) orphans.push(node);
    }
    return orphans.flatMap((node) => this.dropNode(node));
  }

  /** Removes tombstones older than `ttlMs`; returns how many. */
  collectTombstones(now: number, ttlMs: number): number {
    const expired: ServiceMsg[] = [];
    for (const s of this.entries.values()) if (s.msg.deleted && now - s.updatedAt >= ttlMs) expired.push(s.msg);
    for (const m of expired) this.remove(m.node, m.id);
    return expired.length;
  }
}

function checkText(v: unknown, field: string, maxBytes: number, allowEmpty: boolean): string {
  switch (textFault(v, maxBytes, allowEmpty)) {
    case 'not_string': throw new CatalogError('invalid', field, `${field} must be a string`);
    case 'empty': throw new CatalogError('invalid', field, `${field} must not be empty`);
    case 'too_long': throw new CatalogError('invalid', field, `${field} is longer than ${maxBytes} bytes`);
    case undefined: return v as string;
  }
}

/** Validates a spec from a local caller and builds the entry for `owner` at version `rev`. */
export function entryFromSpec(owner: string, spec: ServiceSpec, rev: number): ServiceMsg {
  // The name first: the id defaults to it, and a bad name must be reported as the name.
  const name = checkText(spec.name, 'name', LIMITS.serviceIdBytesMax, false);
  if (!ID_PATTERN.test(name)) throw new CatalogError('invalid', 'name', 'name may hold letters, digits and . _ : @ - and must start with a letter or digit');
  const id = checkText(spec.id, 'id', LIMITS.serviceIdBytesMax, false);
  if (!ID_PATTERN.test(id)) throw new CatalogError('invalid', 'id', 'id may hold letters, digits and . _ : @ - and must start with a letter or digit');
  const address = checkText(spec.address, 'address', LIMITS.addressBytesMax, false);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65_535) throw new CatalogError('invalid', 'port', 'port must be an integer in [1, 65535]');
  const tags = spec.tags ?? [];
  if (!Array.isArray(tags) || tags.length > LIMITS.serviceTagsMax) throw new CatalogError('invalid', 'tags', `at most ${LIMITS.serviceTagsMax} tags`);
  tags.forEach((t, i) => checkText(t, `tags[${i}]`, LIMITS.serviceTagBytesMax, false));
  const metaObj = spec.meta ?? {};
  const keys = Object.keys(metaObj);
  if (keys.length > LIMITS.serviceMetaMax) throw new CatalogError('invalid', 'meta', `at most ${LIMITS.serviceMetaMax} meta keys`);
  const meta: [string, string][] = keys.sort().map((k) => [
    checkText(k, 'meta key', LIMITS.serviceMetaKeyBytesMax, false),
    checkText(metaObj[k], `meta.${k}`, LIMITS.serviceMetaValueBytesMax, true),
  ]);
  const version = checkText(spec.version ?? '', 'version', LIMITS.serviceVersionBytesMax, true);
  const weight = spec.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 0 || weight > LIMITS.serviceWeightMax) {
    throw new CatalogError('invalid', 'weight', `weight must be an integer in [0, ${LIMITS.serviceWeightMax}]`);
  }
  const health = spec.health ?? 'passing';
  if (health !== 'passing' && health !== 'warning' && health !== 'critical') throw new CatalogError('invalid', 'health', 'health must be passing, warning or critical');
  return {
    type: 'service', node: owner, id, rev, deleted: false, name, address, port: spec.port, tags: [...tags], meta,
    version, weight, health, draining: spec.draining === true,
  };
}

export function tombstoneOf(owner: string, id: string, rev: number): ServiceMsg {
  return {
    type: 'service', node: owner, id, rev, deleted: true, name: '', address: '', port: 0, tags: [], meta: [],
    version: '', weight: 0, health: 'critical', draining: false,
  };
}
