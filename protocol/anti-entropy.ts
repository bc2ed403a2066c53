import { type Address, addressKey, sameAddress } from './address.js';
import { catalogKey } from './catalog.js';
import { LIMITS } from './limits.js';
import { isLive } from './member-table.js';
import type { CatalogCursor } from './messages.js';
import type { NodeContext } from './node-context.js';
import { TIMERS } from './timers.js';
import { JOIN_RETRY_MAX_MS, type Profile } from './profiles.js';
import type { ReapedAddresses } from './reaped-addresses.js';
import { SeedRetry } from './seed-retry.js';

/** What anti-entropy uses of its node's shared state. */
export type AntiEntropyContext = Readonly<Pick<NodeContext, 'deadlines' | 'now' | 'out' | 'profile' | 'rng' | 'selfRecord' | 'table'>>;

/** Exchanges awaiting a reply: one per seed of a join, plus the two periodic ones. */
const PENDING_MAX = LIMITS.joinSeedsMax + 2;

/**
 * How often a node in a cluster of `liveMembers` starts a periodic push-pull. A full-state
 * exchange costs O(n) bytes, so the interval grows with log n to keep each node's share bounded.
 */
export function pushPullIntervalMs(liveMembers: number, profile: Profile): number {
  const scale = liveMembers <= 32 ? 1 : Math.ceil(Math.log2(liveMembers) - Math.log2(32)) + 1;
  return profile.pushPullIntervalMs * scale;
}

/** What one push-pull request carries. */
export interface StateRequest {
  readonly join: boolean;
  /** The peer is asked for its catalog entries after this key; ours in the request start there too. */
  readonly pageFrom: CatalogCursor | undefined;
  /** False for the later pages of a join: the joiner's own state went with the first. */
  readonly withOwnState: boolean;
  /**
   * The follow-up of a digest that was answered with a state: the request carries our digest as
   * well, taken after that state was merged, and a peer that merges ours and then agrees answers
   * "in sync" instead of sending its state a second time.
   */
  readonly withDigest?: boolean;
}

/** A request, encoded, and where its own catalog page stopped (undefined: it reached the end). */
export interface EncodedState {
  readonly bytes: Uint8Array;
  readonly moreAfter: CatalogCursor | undefined;
}

/** A push-pull this node started and has not heard back from. */
type Exchange =
  /** A page of a join: the first goes to every seed, later ones to the one seed being paged. */
  | { readonly kind: 'join'; readonly from: CatalogCursor | undefined; readonly pages: number }
  /**
   * A periodic exchange; `ownStop` is where our own page stopped, the fallback for the next start.
   * `followUp`: it follows a digest, carries ours too, and may be answered "in sync".
   */
  | { readonly kind: 'repair'; readonly from: CatalogCursor | undefined; readonly ownStop: CatalogCursor | undefined; readonly followUp?: true }
  /** A periodic exchange's first step: our digest only. A full state in answer means a full exchange follows. */
  | { readonly kind: 'digest'; readonly from: CatalogCursor | undefined };

/** `c` lies strictly after `from` in catalog key order (everything lies after the start). */
function isAfter(c: CatalogCursor, from: CatalogCursor | undefined): boolean {
  return from === undefined || catalogKey(c.node, c.id) > catalogKey(from.node, from.id);
}

/**
 * Full-state exchanges over a stream: the join (to seeds, retried with backoff until one answers;
 * a seed is not sent a retry while our previous request to it is unanswered), the periodic push-pull with a random alive member that repairs missed gossip, and the reconnect
 * tick that heals partitions: a push-pull with a random dead member or the address of a reaped one,
 * and retries of seeds that are not live members. Merging a received state is the node's job;
 * this part decides when and with whom, and which page of the catalog each carries.
 *
 * A catalog larger than one state goes in pages, in key order. A joiner keeps asking the first seed
 * that offers more for the page after the last one, until it has the whole catalog (at most
 * LIMITS.pushPullPagesMax pages). Periodic exchanges rotate instead: each asks for the page after
 * the one the previous exchange ended with, so every entry is offered within one sweep of
 * (pages + 1) exchanges, wherever it sits.
 *
 * The scheduled periodic exchange first sends only a digest of this node's state. A peer whose
 * digest is equal answers "in sync" and nothing more moves; any other answer (the peer's full state:
 * the states differ, or the peer is an older agent) is merged and followed at once by a full
 * exchange, so a difference is repaired as fully as without digests, one round trip later. That
 * follow-up carries our digest as well: the peer, having merged our state, answers "in sync" when
 * nothing is left to send back, rather than its state a second time. The
 * join, the reconnect tick and exchanges asked for outside the schedule stay full: they exist
 * because the states are expected to differ.
 */
export class AntiEntropy {
  private seeds: Address[] = [];
  private joined = false;
  private attempts = 0;
  /** Where the next periodic exchange starts in the catalog (undefined: at the first entry). */
  private repairFrom: CatalogCursor | undefined = undefined;
  private readonly pending = new Map<string, Exchange>();
  /** The seed whose catalog this join is paging through; 'done' once one has been paged to the end. */
  private joinPaging: { readonly peer: string } | 'idle' | 'done' = 'idle';
  private readonly seedRetry = new SeedRetry();

  constructor(
    private readonly ctx: AntiEntropyContext,
    /** This node's state, encoded for a push-pull request. */
    private readonly encodeState: (request: StateRequest) => EncodedState,
    /** A periodic request carrying this node's state digest instead of its state. */
    private readonly encodeDigestRequest: (pageFrom: CatalogCursor | undefined) => Uint8Array,
    private readonly leaving: () => boolean,
    /** Addresses of reaped dead members (filled by the node's reaper). */
    private readonly reaped: ReapedAddresses,
    /**
     * Set by a simulator: the reconnect tick's state (to a dead member, most often down) is taken
     * then but encoded only if its bytes are read (see FullState.encodeLater).
     */
    private readonly encodeStateLater?: (request: StateRequest) => EncodedState,
  ) {}

  /** Schedules the first periodic exchanges, at random points so nodes started together spread out. */
  start(now: number): void {
    const { deadlines, profile, rng, table } = this.ctx;
    deadlines.set(TIMERS.pushPull, now + pushPullIntervalMs(table.liveCount, profile) * (0.5 + rng.next()));
    deadlines.set(TIMERS.reconnect, now + profile.reconnectIntervalMs * (0.5 + rng.next()));
  }

  join(seeds: readonly Address[], self: Address): void {
    this.seeds = seeds.filter((s) => !sameAddress(s, self)).slice(0, LIMITS.joinSeedsMax);
    this.seedRetry.add(this.seeds);
    this.joined = false;
    this.attempts = 0;
    this.joinPaging = 'idle';
    this.sendJoin();
  }

  /**
   * A reply from `source` at `from` to an exchange we started arrived and was merged: a pending join
   * is complete. When the peer's entries did not all fit (`moreAfter`), a join asks for the next
   * page and a periodic exchange moves the next one's starting point on.
   */
  onReply(from: Address, source: string, moreAfter: CatalogCursor | undefined): void {
    this.seedRetry.answered(from, source);
    if (!this.joined && this.seeds.length > 0) {
      this.joined = true;
      this.ctx.deadlines.clear(TIMERS.joinRetry);
    }
    const key = addressKey(from);
    const ex = this.pending.get(key);
    if (ex === undefined) return;
    this.pending.delete(key);
    // A cursor that does not move forward would page forever: ignore it (and count it).
    const next = moreAfter !== undefined && isAfter(moreAfter, ex.from) ? moreAfter : undefined;
    if (moreAfter !== undefined && next === undefined) {
      this.ctx.out.push({ kind: 'rejected', reason: 'bad_field', detail: `push-pull.moreAfter: ${moreAfter.node}/${moreAfter.id} is not after the page asked for` });
    }
    if (ex.kind === 'digest') {
      // The states differed (or the peer ignores digests): the full exchange, starting where the digest's did.
      this.exchangeFull(from, ex.from, true);
      return;
    }
    if (ex.kind === 'repair') {
      // An older peer (or one whose catalog ended) says nothing: go on from where our own page stopped.
      this.repairFrom = next ?? ex.ownStop;
      return;
    }
    this.continueJoin(from, key, ex.pages, next);
  }

  /**
   * `from` answered "in sync". True when that answers a request of ours that carried our digest;
   * false otherwise (only those may be answered so: the caller counts the reply as bad and the
   * exchange as failed).
   */
  onInSync(from: Address, source: string): boolean {
    const key = addressKey(from);
    const ex = this.pending.get(key);
    if (ex === undefined || ex.kind === 'join' || (ex.kind === 'repair' && ex.followUp !== true)) return false;
    this.seedRetry.answered(from, source);
    this.pending.delete(key);
    // A follow-up's own page went; the next exchange goes on from where it stopped.
    if (ex.kind === 'repair') this.repairFrom = ex.ownStop;
    return true;
  }

  /** A push-pull we started failed. A periodic exchange's page is tried again next time. */
  onFailed(to: Address): void {
    const key = addressKey(to);
    const ex = this.pending.get(key);
    if (ex === undefined) return;
    this.pending.delete(key);
    // A later page of a join was lost: let another seed's answer, if one is still to come, take over.
    if (ex.kind === 'join' && typeof this.joinPaging === 'object' && this.joinPaging.peer === key) this.joinPaging = 'idle';
  }

  onJoinRetry(): void {
    if (!this.joined) this.sendJoin();
  }

  onPushPullTick(): void {
    const ctx = this.ctx;
    ctx.deadlines.set(TIMERS.pushPull, ctx.now + pushPullIntervalMs(ctx.table.liveCount, ctx.profile));
    this.exchangeWithAlive(true);
  }

  onReconnectTick(): void {
    const ctx = this.ctx;
    ctx.deadlines.set(TIMERS.reconnect, ctx.now + ctx.profile.reconnectIntervalMs * (0.5 + ctx.rng.next()));
    if (this.leaving()) return;
    // Built only when needed: a pass over the whole table.
    let live: Set<string> | null = null;
    const liveAddresses = (): ReadonlySet<string> => {
      if (live === null) {
        live = new Set<string>();
        for (const r of ctx.table.values()) if (r !== ctx.selfRecord && isLive(r.status)) live.add(addressKey(r));
      }
      return live;
    };
    const peer = this.reconnectPeer(liveAddresses);
    const targets = peer === undefined ? [] : [peer];
    // During the join the join retry contacts the seeds.
    if (this.joined) {
      for (const seed of this.seedRetry.due(ctx.now, ctx.table, liveAddresses, ctx.profile)) {
        if (peer === undefined || !sameAddress(seed, peer)) targets.push(seed);
      }
    }
    if (targets.length === 0) return;
    const from = this.repairFrom;
    const request: StateRequest = { join: false, pageFrom: from, withOwnState: true };
    const later = this.encodeStateLater;
    const state = later === undefined ? this.encodeState(request) : later(request);
    for (const to of targets) {
      this.track(to, { kind: 'repair', from, ownStop: state.moreAfter });
      if (later === undefined) ctx.out.push({ kind: 'push-pull', to, bytes: state.bytes, join: false });
      else ctx.out.push({ kind: 'push-pull', to, get bytes(): Uint8Array { return state.bytes; }, join: false });
    }
  }

  /**
   * A random dead member, or the address of a random reaped one that is not back (nobody live at
   * it, its name not in the table). Half the ticks go to each kind when there are both: a
   * cluster with steady churn always has some dead member, and that must not keep a side cut off
   * longer than the reap time from ever being tried.
   */
  private reconnectPeer(liveAddresses: () => ReadonlySet<string>): Address | undefined {
    const { table, rng } = this.ctx;
    const [dead] = table.sampleByStatus(1, 'dead');
    const reaped = this.reaped.size === 0 ? [] :
      this.reaped.candidates((name, a) => table.get(name) === undefined && !liveAddresses().has(addressKey(a)));
    if (reaped.length > 0 && (dead === undefined || rng.next() < 0.5)) return reaped[rng.int(reaped.length)];
    return dead === undefined ? undefined : { host: dead.host, port: dead.port };
  }

  /** One full exchange with a random alive member now, outside the schedule. */
  exchangeNow(): void {
    this.exchangeWithAlive(false);
  }

  /** On leave: no more exchanges start. */
  stop(): void {
    this.ctx.deadlines.clear(TIMERS.pushPull);
    this.ctx.deadlines.clear(TIMERS.joinRetry);
    this.ctx.deadlines.clear(TIMERS.reconnect);
    this.joinPaging = 'done';
  }

  /**
   * A push-pull with one random alive member, if there is one, on the next page of the catalog:
   * its digest first (`digestFirst`), or at once the full state.
   */
  private exchangeWithAlive(digestFirst: boolean): void {
    if (this.leaving()) return;
    const [peer] = this.ctx.table.sample(1, (r) => r.status === 'alive');
    if (peer === undefined) return;
    const to = { host: peer.host, port: peer.port };
    const from = this.repairFrom;
    if (!digestFirst) {
      this.exchangeFull(to, from, false);
      return;
    }
    // The page is asked for already, so that an older agent's full-state answer is the right one.
    this.track(to, { kind: 'digest', from });
    this.ctx.out.push({ kind: 'push-pull', to, bytes: this.encodeDigestRequest(from), join: false });
  }

  /** A periodic full exchange with `to` on the page after `from`; `followUp`: after a digest. */
  private exchangeFull(to: Address, from: CatalogCursor | undefined, followUp: boolean): void {
    if (this.leaving()) return;
    const state = this.encodeState({ join: false, pageFrom: from, withOwnState: true, ...(followUp ? { withDigest: true } : {}) });
    this.track(to, { kind: 'repair', from, ownStop: state.moreAfter, ...(followUp ? { followUp: true as const } : {}) });
    this.ctx.out.push({ kind: 'push-pull', to, bytes: state.bytes, join: false });
  }

  /** The next page of a join from the seed being paged, while its catalog goes on and the bound allows. */
  private continueJoin(from: Address, key: string, pages: number, next: CatalogCursor | undefined): void {
    const paging = this.joinPaging;
    if (paging === 'done' || (typeof paging === 'object' && paging.peer !== key)) return;
    if (next === undefined || this.leaving()) {
      // This seed's catalog is complete here; other seeds' first pages add nothing a page would not.
      if (typeof paging === 'object') this.joinPaging = 'done';
      return;
    }
    if (pages >= LIMITS.pushPullPagesMax) {
      this.joinPaging = 'done';
      this.ctx.out.push({ kind: 'rejected', reason: 'limit', detail: `join paging stopped after ${pages} pages; periodic push-pull brings the rest` });
      return;
    }
    this.joinPaging = { peer: key };
    const state = this.encodeState({ join: true, pageFrom: next, withOwnState: false });
    this.track(from, { kind: 'join', from: next, pages: pages + 1 });
    this.ctx.out.push({ kind: 'push-pull', to: from, bytes: state.bytes, join: true });
  }

  private track(to: Address, ex: Exchange): void {
    const key = addressKey(to);
    this.pending.delete(key);
    // Bounded even if a driver never reports an outcome: the oldest entry goes.
    if (this.pending.size >= PENDING_MAX) {
      const oldest = this.pending.keys().next();
      if (oldest.done !== true) this.pending.delete(oldest.value);
    }
    this.pending.set(key, ex);
  }

  private sendJoin(): void {
    if (this.seeds.length === 0 || this.leaving()) return;
    const ctx = this.ctx;
    // A seed still working on our last request is not sent another: a seed slow because every
    // agent of a fleet joins through it at once would only be handed more of the same work.
    const idle = this.seeds.filter((seed) => this.pending.get(addressKey(seed))?.kind !== 'join');
    if (idle.length > 0) {
      const { bytes } = this.encodeState({ join: true, pageFrom: undefined, withOwnState: true });
      for (const seed of idle) {
        this.track(seed, { kind: 'join', from: undefined, pages: 1 });
        ctx.out.push({ kind: 'push-pull', to: seed, bytes, join: true });
      }
    }
    const backoff = Math.min(JOIN_RETRY_MAX_MS, ctx.profile.joinRetryMs * 2 ** Math.min(this.attempts, 10));
    this.attempts++;
    ctx.deadlines.set(TIMERS.joinRetry, ctx.now + backoff);
  }
}
