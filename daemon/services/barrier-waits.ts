import type { BarrierEvent } from '../../protocol/effects.js';
import type { CoreResult } from '../../protocol/core.js';
import type { SwimNode } from '../../protocol/node.js';
import type { Driver } from '../driver.js';
import type { CatalogMetrics } from './catalog-metrics.js';

/**
 * `?wait`: starts a propagation barrier on one of this node's entries (its current version, or its
 * tombstone after a deregistration) and resolves with the core's verdict — every live member
 * confirmed, or time ran out and these had not. The core enforces the deadline; the safety timer
 * here only guarantees an HTTP request can never hang on a verdict that does not come.
 */

const SAFETY_GRACE_MS = 5_000;

export class WaitCancelled extends Error {}

export class BarrierWaits {
  private readonly pending = new Set<(e: Error) => void>();

  constructor(
    private readonly driver: Driver,
    private readonly node: Pick<SwimNode, 'startBarrier'>,
    private readonly metrics: Pick<CatalogMetrics, 'barrier'>,
  ) {}

  /** Throws CatalogError when the id is unknown or too many waits are in progress. */
  wait(id: string, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent> {
    return this.waitOn((now) => this.node.startBarrier(now, id, timeoutMs), timeoutMs, signal);
  }

  /** A wait on any barrier `start` begins (e.g. a split's); its errors reach the caller. */
  waitOn(start: (now: number) => CoreResult<number>, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent> {
    let wanted: number | null = null;
    // With no other live member the verdict is among the effects of startBarrier itself, emitted
    // before invoke returns the barrier's id: keep what arrives until the id is known.
    const early: BarrierEvent[] = [];
    let deliver: ((e: BarrierEvent) => void) | null = null;
    const off = this.driver.onBarrier((e) => {
      if (wanted === null) early.push(e);
      else if (e.barrierId === wanted) deliver?.(e);
    });
    try {
      wanted = this.driver.invoke('barrier', start);
    } catch (e) {
      off();
      return Promise.reject(e);
    }
    const id0 = wanted;
    return new Promise<BarrierEvent>((resolve, reject) => {
      const cleanup = (): void => {
        off();
        clearTimeout(safety);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(cancel);
      };
      deliver = (e) => {
        cleanup();
        this.metrics.barrier(e.done);
        resolve(e);
      };
      const cancel = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onAbort = (): void => cancel(new WaitCancelled('the client went away'));
      const safety = setTimeout(() => cancel(new WaitCancelled('the wait did not finish')), timeoutMs + SAFETY_GRACE_MS);
      this.pending.add(cancel);
      signal.addEventListener('abort', onAbort);
      const already = early.find((e) => e.barrierId === id0);
      if (already !== undefined) deliver(already);
      else if (signal.aborted) onAbort();
    });
  }

  /** The agent is stopping: every wait in progress ends with WaitCancelled. */
  stop(): void {
    for (const cancel of [...this.pending]) cancel(new WaitCancelled('the agent is shutting down'));
  }
}
