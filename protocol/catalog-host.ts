import type { Address } from './address.js';
import type { CatalogSpread, Dissemination } from './dissemination.js';
import { isLive } from './member-table.js';
import type { NodeContext } from './node-context.js';
import { isExpired } from './reaper.js';
import type { BarrierEvent, ServiceEvent } from './effects.js';
import type { DecodeErrorReason, MemberStatus } from './messages.js';
import type { PolicyRejectReason } from './effects.js';
import type { Timer } from './timers.js';

/** The timers the catalog's parts set. */
export type BarrierTimer = Extract<Timer, { kind: 'barrier-retry' }> | Extract<Timer, { kind: 'want-retry' }>;

/** What the catalog and the barrier need from the node that hosts them. */
export interface CatalogHost {
  readonly name: string;
  now(): number;
  memberStatus(name: string): MemberStatus | undefined;
  /** Whether `name`'s member record goes into a push-pull state (known, and not due to be reaped). */
  memberExported(name: string): boolean;
  memberAddress(name: string): Address | undefined;
  /** Names of alive and suspect members other than self. */
  liveOthers(): string[];
  /** Queues an update for dissemination under `key`; `forward` also sends it out at once. */
  disseminate(key: string, part: Uint8Array, forward: boolean): void;
  /** Queues a catalog update's digest under `key`; `spread` says whether `entry` also goes down the update tree now. */
  spread(key: string, entry: Uint8Array, digest: Uint8Array, spread: CatalogSpread): void;
  /** Relays an entry already held over the arc the current datagram named, if it named one. */
  relay(key: string, entry: Uint8Array): void;
  /** Drops a queued update. */
  withdraw(key: string): void;
  send(to: Address, parts: Uint8Array[]): void;
  serviceEvent(e: ServiceEvent): void;
  barrierEvent(e: BarrierEvent): void;
  setTimer(timer: BarrierTimer, at: number): void;
  clearTimer(timer: BarrierTimer): void;
  reject(reason: DecodeErrorReason | PolicyRejectReason, detail: string): void;
  /** True while another process may hold this node's name: copies of own entries may be its. */
  selfContested(): boolean;
}

/** The host a node gives its catalog and barriers: its member table, dissemination and outbox. */
export function nodeCatalogHost(ctx: NodeContext, diss: Dissemination, selfContested: () => boolean): CatalogHost {
  const { table, selfRecord } = ctx;
  return {
    name: ctx.name,
    now: () => ctx.now,
    memberStatus: (name) => table.get(name)?.status,
    memberExported: (name) => {
      const r = table.get(name);
      return r !== undefined && !isExpired(ctx, r);
    },
    memberAddress: (name) => {
      const r = table.get(name);
      return r === undefined ? undefined : { host: r.host, port: r.port };
    },
    liveOthers: () => {
      const out: string[] = [];
      for (const r of table.values()) if (r !== selfRecord && isLive(r.status)) out.push(r.name);
      return out;
    },
    disseminate: (key, part, forward) => diss.disseminate(key, part, forward),
    spread: (key, entry, digest, how) => diss.spreadCatalog(key, entry, digest, how),
    relay: (key, entry) => diss.relayHeld(key, entry),
    withdraw: (key) => diss.forget(key),
    send: (to, parts) => diss.send(to, parts),
    serviceEvent: (event) => ctx.out.push({ kind: 'service', event }),
    barrierEvent: (event) => ctx.out.push({ kind: 'barrier', event }),
    setTimer: (timer, at) => ctx.deadlines.set(timer, at),
    clearTimer: (timer) => ctx.deadlines.clear(timer),
    reject: (reason, detail) => ctx.out.push({ kind: 'rejected', reason, detail }),
    selfContested,
  };
}
