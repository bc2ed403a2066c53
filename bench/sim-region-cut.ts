/**
 * Scenario region_cut: one region of the matrix is cut off from every other for a while (both
 * sides keep running and keep talking inside), then the cut heals. Each side declares the other
 * dead, as it should; what is timed is the healing: how long after the cut ends each node lists
 * every member alive again.
 */
import type { MemberEvent } from '../protocol/effects.js';
import type { Simulator } from '../protocol/sim/simulator.js';
import type { JsonObject } from './result.js';
import type { ObservedNode } from './sim-observed.js';
import { summarize } from './stats.js';

/** How long after the cut ends the healing is waited for. */
const HEAL_WAIT_MS = 300_000;

export interface CutRunner {
  readonly sim: Simulator<ObservedNode>;
  readonly live: readonly string[];
  setMemberListener(l: ((time: number, observer: string, e: MemberEvent) => void) | null): void;
  runUntil(done: () => boolean, maxMs: number, label: () => string, stepMs?: number): void;
}

export function runRegionCut(r: CutRunner, region: number, regionName: string, cutS: number): JsonObject {
  const { sim, live } = r;
  const liveSet = new Set(live);
  const inside = live.filter((n) => sim.regionOf(n) === region);
  // Per observer, how many other live members it does not list alive (a suspicion of the steady
  // period may still be open when the cut starts).
  const notAlive = new Map<string, number>();
  for (const [observer, members] of sim.views()) {
    if (!liveSet.has(observer)) continue;
    const alive = members.filter((m) => m.name !== observer && m.status === 'alive' && liveSet.has(m.name)).length;
    notAlive.set(observer, live.length - 1 - alive);
  }
  let deathsDuringCut = 0;
  let healing = false;
  let healedCount = [...notAlive.values()].filter((c) => c === 0).length;
  const healedAt = new Map<string, number>();
  r.setMemberListener((t, observer, e) => {
    if (!liveSet.has(observer) || !liveSet.has(e.member.name) || e.member.name === observer) return;
    if (!healing && e.member.status === 'dead' && e.previous !== 'dead') deathsDuringCut++;
    const was = e.previous === 'alive' ? 0 : 1;
    const is = e.member.status === 'alive' ? 0 : 1;
    if (was === is) return;
    const before = notAlive.get(observer) ?? 0;
    const after = before + is - was;
    notAlive.set(observer, after);
    if (before === 0 && after > 0) healedCount--;
    if (before > 0 && after === 0) {
      healedCount++;
      if (healing) healedAt.set(observer, t);
    }
    if (after > 0) healedAt.delete(observer);
  });
  const cutMs = cutS * 1000;
  const t0 = sim.now;
  sim.partition([inside]);
  const end = t0 + cutMs;
  r.runUntil(() => sim.now >= end, cutMs, () => `region ${regionName} cut off, ${Math.round((end - sim.now) / 1000)} s left`, 100);
  const unhealedAtHeal = live.length - healedCount;
  sim.heal();
  healing = true;
  const t1 = sim.now;
  r.runUntil(() => healedCount >= live.length, HEAL_WAIT_MS, () => `healing: nodes listing every member alive ${healedCount}/${live.length}`, 20);
  r.setMemberListener(null);
  // A node that never lost anyone (none should, after a 60 s cut) counts as healed at once.
  const lat = live.map((n) => (notAlive.get(n) === 0 ? (healedAt.get(n) ?? t1) - t1 : null)).filter((x): x is number => x !== null);
  return {
    region: regionName, nodes_cut_off: inside.length, cut_s: cutS,
    deaths_declared_during_cut: deathsDuringCut, nodes_missing_members_at_heal: unhealedAtHeal,
    heal: { ...summarize(lat, live.length) },
  };
}
