/**
 * Traffic splits: per service, a last-writer-wins register that any node may write and every node
 * holds. The write with the highest (wallMs, counter, writer) wins (hlc.ts), whatever order the
 * writes arrive in, so every node that has seen the same writes holds the same split. A clearing
 * is a write too: it stays as a tombstone for LIMITS.splitTombstoneMs so that an older split still
 * travelling, or held by a member that was away, cannot come back.
 *
 * Spread like catalog entries: first-receipt forwarding and the broadcast queue (key 'p:' +
 * service), every split in every push-pull state, and the barrier (barrier.ts) for `--wait`.
 */
import { encodePart } from './codec.js';
import { splitWeightsFault, SPLIT_PERCENT_TOTAL } from './codec-split.js';
import { textFault } from './codec-check.js';
import type { SplitEvent, SplitView } from './effects.js';
import { compareWrites, type HlcStamp, HybridClock } from './hlc.js';
import { LIMITS } from './limits.js';
import type { DecodeErrorReason, SplitMsg } from './messages.js';
import type { PolicyRejectReason } from './effects.js';

/** Broadcast-queue keys of splits; members use 'm:', catalog entries 's:'. */
export function splitQueueKey(service: string): string {
  return 'p:' + service;
}

export type SplitErrorCode = 'invalid' | 'limit' | 'not_found';

/** A local split write refused; `field` names the part of the request at fault. */
export class SplitError extends Error {
  constructor(readonly code: SplitErrorCode, readonly field: string, message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

/** What the split table needs from its node. */
export interface SplitHost {
  readonly name: string;
  now(): number;
  disseminate(key: string, part: Uint8Array, forward: boolean): void;
  splitEvent(e: SplitEvent): void;
  reject(reason: DecodeErrorReason | PolicyRejectReason, detail: string): void;
}

interface Held {
  readonly msg: SplitMsg;
  /** Local time it was stored; a tombstone is collected splitTombstoneMs after. */
  readonly storedAt: number;
}

export function splitView(msg: SplitMsg): SplitView | null {
  if (msg.cleared) return null;
  const weights: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [v, p] of msg.weights) weights[v] = p;
  return { service: msg.service, weights, writer: msg.writer, wallMs: msg.wallMs, counter: msg.counter };
}

/** Deterministic tie-break of two different contents under one stamp (a writer that lost its clock). */
function contentKey(m: SplitMsg): string {
  return JSON.stringify([m.cleared, m.weights]);
}

/** True when `msg` replaces `held`. */
export function splitSupersedes(msg: SplitMsg, held: SplitMsg | undefined): boolean {
  if (held === undefined) return true;
  const c = compareWrites(msg, held);
  return c > 0 || (c === 0 && contentKey(msg) > contentKey(held));
}

/**
 * Checks a split as given locally (weights: version → percent; null clears) and returns the pairs in
 * label order. Throws SplitError naming the field at fault.
 */
export function checkSplitRequest(service: string, weights: Readonly<Record<string, unknown>> | null): [string, number][] {
  const nameFault = textFault(service, LIMITS.serviceIdBytesMax, false);
  if (nameFault !== undefined) throw new SplitError('invalid', 'service', `service name must be 1 to ${LIMITS.serviceIdBytesMax} bytes`);
  if (weights === null) return [];
  const pairs: [string, number][] = [];
  for (const [version, p] of Object.entries(weights)) {
    const f = `weights.${version}`;
    if (textFault(version, LIMITS.splitVersionBytesMax, false) !== undefined) {
      throw new SplitError('invalid', 'weights', `version label ${JSON.stringify(version.slice(0, 80))}: must be 1 to ${LIMITS.splitVersionBytesMax} bytes`);
    }
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > SPLIT_PERCENT_TOTAL) {
      throw new SplitError('invalid', f, `${version}: expected a whole percentage from 0 to ${SPLIT_PERCENT_TOTAL}, got ${JSON.stringify(p)}`);
    }
    pairs.push([version, p]);
  }
  if (pairs.length > LIMITS.splitVersionsMax) throw new SplitError('invalid', 'weights', `${pairs.length} versions; a split names at most ${LIMITS.splitVersionsMax}`);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fault = splitWeightsFault(false, pairs);
  if (fault !== undefined) throw new SplitError('invalid', 'weights', `the split ${fault}`);
  return pairs;
}

export class SplitGossip {
  private readonly held = new Map<string, Held>();
  readonly clock: HybridClock;

  /** `saved`: splits and clock kept by a previous process of this node (none: a fresh start). */
  constructor(private readonly host: SplitHost, saved: { readonly splits?: readonly SplitMsg[]; readonly clock?: HlcStamp } = {}) {
    this.clock = new HybridClock(saved.clock);
    for (const m of saved.splits ?? []) {
      if (this.held.size >= LIMITS.splitsMax) break;
      if (!splitSupersedes(m, this.held.get(m.service)?.msg)) continue;
      this.held.set(m.service, { msg: m, storedAt: host.now() });
      this.clock.observe(m);
    }
  }

  get(service: string): SplitMsg | undefined {
    return this.held.get(service)?.msg;
  }

  /** The live split of `service` as percentages (undefined: none, or cleared). */
  percentages(service: string): Readonly<Record<string, number>> | undefined {
    const m = this.held.get(service)?.msg;
    return m === undefined || m.cleared ? undefined : (splitView(m)?.weights ?? undefined);
  }

  /** Live splits, by service name. */
  views(): SplitView[] {
    const out: SplitView[] = [];
    for (const { msg } of this.held.values()) {
      const v = splitView(msg);
      if (v !== null) out.push(v);
    }
    return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  }

  /** Every record held, tombstones included: for push-pull states and persistence. */
  records(): SplitMsg[] {
    return [...this.held.values()].map((h) => h.msg);
  }

  /**
   * A local write at wall-clock `wallMs`: sets `service`'s split (`weights` null clears it).
   * Throws SplitError when the split is invalid, there is nothing to clear, or the table is full.
   */
  write(service: string, weights: Readonly<Record<string, unknown>> | null, wallMs: number): SplitMsg {
    const pairs = checkSplitRequest(service, weights);
    const cur = this.held.get(service)?.msg;
    if (weights === null && (cur === undefined || cur.cleared)) throw new SplitError('not_found', 'service', `no split is set for ${JSON.stringify(service)}`);
    if (cur === undefined && this.held.size >= LIMITS.splitsMax) throw new SplitError('limit', 'service', `this agent already holds ${LIMITS.splitsMax} splits`);
    const stamp = this.clock.next(wallMs);
    const msg: SplitMsg = { type: 'split', service, wallMs: stamp.wallMs, counter: stamp.counter, writer: this.host.name, cleared: weights === null, weights: pairs };
    this.store(msg, cur);
    return msg;
  }

  /** A split from elsewhere (gossip, a barrier request, a push-pull state). */
  onSplit(msg: SplitMsg): void {
    this.clock.observe(msg);
    const cur = this.held.get(msg.service)?.msg;
    if (!splitSupersedes(msg, cur)) return;
    if (cur === undefined && this.held.size >= LIMITS.splitsMax) {
      this.host.reject('limit', `splits full: split of ${msg.service} refused`);
      return;
    }
    this.store(msg, cur);
  }

  /** Forgets tombstones older than LIMITS.splitTombstoneMs. */
  collect(now: number): void {
    for (const [service, h] of this.held) {
      if (h.msg.cleared && now - h.storedAt >= LIMITS.splitTombstoneMs) this.held.delete(service);
    }
  }

  private store(msg: SplitMsg, previous: SplitMsg | undefined): void {
    this.held.set(msg.service, { msg, storedAt: this.host.now() });
    this.host.disseminate(splitQueueKey(msg.service), encodePart(msg), true);
    const before = previous === undefined ? null : splitView(previous);
    const after = splitView(msg);
    if (before === null && after === null) return;
    this.host.splitEvent({ type: 'split', service: msg.service, split: after, previous: before, writer: msg.writer, wallMs: msg.wallMs, counter: msg.counter });
  }
}
