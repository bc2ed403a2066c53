/**
 * Adaptive probe timeouts on the simulator: a fleet over three regions whose round trips (400 to
 * 700 ms) are beyond the lan profile's fixed probe timeout and even its probe interval. Under 5%
 * loss nobody is declared dead and suspicions stay rare; a crashed node is still found dead by
 * every node within seconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemberState } from '../protocol/messages.js';
import { PROFILES, type Profile } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(7001);
const RTT = [[2, 500, 700], [500, 2, 400], [700, 400, 2]];
const NODES = 24;

interface Outcome {
  readonly deaths: number;
  readonly suspicions: number;
  /** When the crashed node was dead in every other node's view, ms after the crash; null: never. */
  readonly deadEverywhereMs: number | null;
}

function run(profile: Profile, seed: number): Outcome {
  let deaths = 0;
  let suspicions = 0;
  let victim: string | null = null;
  const deadAt = new Map<string, number>();
  const sim = new Simulator({
    seed, profile, recordEvents: false, loss: 0.05,
    regions: { oneWayMs: RTT.map((row) => row.map((ms) => ms / 2)), jitterMs: 5 },
    onEvent: (t, observer, e) => {
      if (e.member.name === victim) {
        if (e.member.status === 'dead' && !deadAt.has(observer)) deadAt.set(observer, t);
        return;
      }
      if (e.member.status === 'dead') deaths++;
      if (e.member.status === 'suspect') suspicions++;
    },
  });
  const names = sim.addNodes(NODES);
  const states: MemberState[] = names.map((name) => {
    const self = sim.node(name).self();
    return { name, host: self.host, port: self.port, incarnation: self.incarnation, status: 'alive' };
  });
  for (const name of names) sim.node(name).preload(states);
  sim.runFor(60_000);
  victim = names[NODES - 1] as string;
  sim.crash(victim);
  const t0 = sim.now;
  sim.runUntilCondition(() => deadAt.size >= NODES - 1, 30_000, 50);
  const deadEverywhereMs = deadAt.size >= NODES - 1 ? Math.max(...deadAt.values()) - t0 : null;
  return { deaths, suspicions, deadEverywhereMs };
}

test('sim rto: members 400–700 ms apart, 5% loss — no false death, few suspicions, a crash found within seconds', () => {
  const o = run(PROFILES.lan, SEED);
  assert.equal(o.deaths, 0, `false deaths${reproduce(SEED)}`);
  // 24 nodes × 200 probes a minute: a probe fails only when the direct ping, its resend and all
  // three relayed paths are lost — a handful of suspicions, each an event at every other node
  // (with the fixed timeout: over 7,000 events and several deaths).
  assert.ok(o.suspicions <= 5 * (NODES - 1), `${o.suspicions} suspicion events${reproduce(SEED)}`);
  assert.ok(o.deadEverywhereMs !== null && o.deadEverywhereMs <= 6_000, `dead everywhere after ${o.deadEverywhereMs} ms${reproduce(SEED)}`);
});
