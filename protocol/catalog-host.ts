import type { Address } from './address.js';
import type { BarrierEvent, ServiceEvent } from './effects.js';
import type { DecodeErrorReason, MemberStatus } from './messages.js';
import type { PolicyRejectReason } from './effects.js';
import type { Timer } from './timers.js';

/** The one timer the catalog's parts set. */
export type BarrierTimer = Extract<Timer, { kind: 'barrier-retry' }>;

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
