import { MEMBER_KEY_PREFIX } from './broadcast-queue.js';
import type { Dissemination } from './dissemination.js';
import { type MemberRecord, viewOf } from './member-table.js';
import type { Membership } from './membership.js';
import type { NodeContext } from './node-context.js';
import { TIMERS } from './timers.js';
import type { Prober } from './prober.js';
import { REAP_CHECK_MAX_MS, REAP_CHECK_MIN_MS } from './profiles.js';
import type { ReapedAddresses } from './reaped-addresses.js';
import type { ServiceGossip } from './service-gossip.js';

/** What the reaper uses of its node's shared state. */
export type ReaperContext = Readonly<Pick<NodeContext, 'deadlines' | 'now' | 'out' | 'profile' | 'selfRecord' | 'table'>>;

/** True once a dead or left member is due to be forgotten (self never is). */
export function isExpired(ctx: Readonly<Pick<NodeContext, 'now' | 'profile' | 'selfRecord'>>, r: MemberRecord): boolean {
  return (r.status === 'dead' || r.status === 'left') && r !== ctx.selfRecord && ctx.now - r.changedAt >= ctx.profile.reapAfterMs;
}

/**
 * Forgets dead and left members once the profile's reap time has passed since their status
 * changed, with their service entries, and collects old tombstones and entries whose owner has no
 * member record. The reap runs when the earliest record is due (at most once a probe interval),
 * so that nodes which agree on when a member went, imported ones included, forget it together.
 */
export class Reaper {
  constructor(
    private readonly ctx: ReaperContext,
    private readonly catalog: ServiceGossip,
    private readonly diss: Dissemination,
    private readonly membership: Membership,
    private readonly prober: Prober,
    private readonly reapedAddresses: ReapedAddresses,
  ) {}

  /** Longest time between reaps; catalog collection runs at this pace even with nobody to reap. */
  private checkInterval(): number {
    return Math.max(REAP_CHECK_MIN_MS, Math.min(REAP_CHECK_MAX_MS, this.ctx.profile.reapAfterMs / 10));
  }

  start(now: number): void {
    this.ctx.deadlines.set(TIMERS.reap, now + this.checkInterval());
  }

  /** A record changed at `changedAt` went dead or left (e.g. imported backdated): reap it on time. */
  dueAt(changedAt: number): void {
    const { ctx } = this;
    const due = Math.max(ctx.now, changedAt + ctx.profile.reapAfterMs);
    const cur = ctx.deadlines.at(TIMERS.reap);
    if (cur === undefined || due < cur) ctx.deadlines.set(TIMERS.reap, due);
  }

  onReap(): void {
    const { ctx } = this;
    const now = ctx.now;
    this.catalog.collect(now, ctx.profile.reapAfterMs, ctx.profile.orphanEntryGraceMs);
    this.reapedAddresses.expire(now, ctx.profile.reconnectRetentionMs);
    const expired: MemberRecord[] = [];
    let next = now + this.checkInterval();
    for (const r of ctx.table.values()) {
      if (isExpired(ctx, r)) expired.push(r);
      else if ((r.status === 'dead' || r.status === 'left') && r !== ctx.selfRecord) next = Math.min(next, r.changedAt + ctx.profile.reapAfterMs);
    }
    ctx.deadlines.set(TIMERS.reap, Math.max(next, now + ctx.profile.probeIntervalMs));
    for (const r of expired) {
      // Left members said goodbye; only the dead may be on the other side of a partition.
      if (r.status === 'dead') this.reapedAddresses.add(r.name, r, now);
      this.catalog.dropOwner(r.name, r.status);
      ctx.table.remove(r.name);
      // Said out loud, so that a view rebuilt from events matches a fresh snapshot.
      ctx.out.push({ kind: 'event', event: { type: 'member', member: viewOf(r), previous: r.status, reaped: true } });
      this.diss.forget(MEMBER_KEY_PREFIX + r.name);
      this.membership.dropSuspicion(r.name);
      this.prober.forget(r.name);
    }
  }
}
