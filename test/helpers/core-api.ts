/**
 * The calls into protocol/ whose shapes the unit tests of the core depend on, in one place: a
 * change to a result type or a key type is absorbed here rather than in every test.
 */
import type { BroadcastQueue } from '../../protocol/broadcast-queue.js';
import type { ServiceSpec } from '../../protocol/catalog.js';
import type { Effect } from '../../protocol/effects.js';
import type { SwimNode } from '../../protocol/node.js';
import { barrierRetryMs as profileBarrierRetryMs, type Profile } from '../../protocol/profiles.js';
import type { Deadlines } from '../../protocol/timers.js';

/** Registers an own service instance; returns the effects of the call. */
export function registerService(node: SwimNode, now: number, spec: ServiceSpec): Effect[] {
  return node.registerService(now, spec).effects;
}

/** Deregisters an own service instance; returns the effects of the call. */
export function deregisterService(node: SwimNode, now: number, id: string): Effect[] {
  return node.deregisterService(now, id).effects;
}

/** Starts a propagation barrier; returns its id and the effects of the call. */
export function startBarrier(node: SwimNode, now: number, id: string, timeoutMs: number): { barrierId: number; effects: Effect[] } {
  const r = node.startBarrier(now, id, timeoutMs);
  return { barrierId: r.value, effects: r.effects };
}

/** The key type Deadlines takes. */
export type DeadlineKey = Parameters<Deadlines['set']>[0];

/** What came due, as (key, time) pairs, earliest first. */
export function dueDeadlines(d: Deadlines, now: number): { key: DeadlineKey; at: number }[] {
  return d.due(now).map((e) => ({ key: e.timer, at: e.at }));
}

/** A deadline key distinct for each label (a per-member timer, the label standing for the member). */
export function deadlineKey(label: string): DeadlineKey {
  return { kind: 'suspicion', member: label };
}

/** One take from the dissemination queue: parts that fit `budget` bytes, at most `maxParts`. */
export function takeParts(q: BroadcastQueue, now: number, budget: number, limit: number, maxParts: number): Uint8Array[] {
  return q.take(now, budget, limit, maxParts);
}

/** How often a propagation barrier asks the members that have not confirmed yet again. */
export function barrierRetryMs(profile: Profile): number {
  return profileBarrierRetryMs(profile);
}
