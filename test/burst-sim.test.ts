/**
 * Membership news under a burst of catalog updates: a death must not wait in the dissemination
 * queues behind thousands of registrations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROFILES } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { suspicionTimeouts } from '../protocol/suspicion.js';
import { reproduce, testSeed } from './helpers/seed.js';

const NODES = 50;
const lan = PROFILES.lan;

/** Crashes the last node right after `burst` registrations spread over the others; times its death. */
function crashDuringBurst(seed: number, burst: number): { deadEverywhere: number; fromSuspicion: number } {
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5 });
  const names = sim.addNodes(NODES);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  const converged = sim.runUntilCondition(() => names.every((o) => sim.node(o).members().filter((m) => m.status === 'alive').length === NODES), 30_000, 10);
  assert.notEqual(converged, null, 'join' + reproduce(seed));
  sim.runFor(2_000);
  const victim = names[NODES - 1] as string;
  const owners = names.slice(0, -1);
  for (let i = 0; i < burst; i++) {
    const owner = owners[i % owners.length] as string;
    sim.act(owner, (node, now) => node.registerService(now, {
      id: `burst-${i}`, name: `svc-${i % 40}`, address: sim.address(owner).host, port: 10_000 + i,
      tags: ['primary', 'zone-a', `rack-${i % 16}`], meta: { team: 'payments', build: `2026.12.${i % 30}` }, version: '1.4.2',
    }).effects);
  }
  const t0 = sim.now;
  sim.crash(victim);
  const at = sim.runUntilCondition(() => owners.every((o) => sim.membersStatusAt(o, victim) === 'dead'), 60_000, 5);
  assert.notEqual(at, null, `${victim} never declared dead everywhere (burst ${burst})` + reproduce(seed));
  const suspected = sim.events.find((e) => e.time >= t0 && e.event.member.name === victim && e.event.member.status === 'suspect');
  assert.notEqual(suspected, undefined, 'a suspicion came first' + reproduce(seed));
  return { deadEverywhere: (at as number) - t0, fromSuspicion: (at as number) - (suspected?.time ?? 0) };
}

test('a crash during a burst of 2,000 registrations is known everywhere within the suspicion bound', () => {
  const seed = testSeed(9301);
  const quiet = crashDuringBurst(seed, 0);
  const busy = crashDuringBurst(seed, 2_000);
  // Confirmations from the other suspecters bring the timeout down to its minimum (Lifeguard); a
  // few probe intervals cover the confirmations' and the death's trips.
  const { minMs } = suspicionTimeouts(NODES, lan.probeIntervalMs, lan.suspicionMult, lan.suspicionMaxMult);
  const bound = minMs + 3 * lan.probeIntervalMs;
  assert.ok(busy.fromSuspicion <= bound,
    `dead everywhere ${Math.round(busy.fromSuspicion)} ms after the first suspicion, bound ${Math.round(bound)} ms` + reproduce(seed));
  assert.ok(busy.deadEverywhere <= quiet.deadEverywhere + lan.probeIntervalMs,
    `the burst delayed the death: ${busy.deadEverywhere} ms after the crash, ${quiet.deadEverywhere} ms without it` + reproduce(seed));
});
