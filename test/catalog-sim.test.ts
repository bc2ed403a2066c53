/**
 * The service catalog on the deterministic simulator: spread, tombstones, owner death, restarts and
 * the propagation barrier.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BarrierEvent } from '../protocol/effects.js';
import { Rng } from '../protocol/rng.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

function settled(n: number, seed: number, loss = 0): { sim: Simulator; names: string[] } {
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, loss, recordEvents: false });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  return { sim, names };
}

function holds(sim: Simulator, observer: string, owner: string, id: string): { health: string; draining: boolean } | null {
  const v = sim.node(observer).services().find((s) => s.node === owner && s.id === id);
  return v === undefined ? null : { health: v.health, draining: v.draining };
}

function register(sim: Simulator, owner: string, id: string, extra: Record<string, unknown> = {}): void {
  sim.act(owner, (node, now) => node.registerService(now, { id, name: 'app', address: sim.address(owner).host, port: 8080, ...extra }).effects);
}

test('a registration reaches all 500 nodes', () => {
  const seed = testSeed(2001);
  const { sim, names } = settled(500, seed);
  const owner = names[123] as string;
  register(sim, owner, 'app-1', { tags: ['v1'], meta: { zone: 'a' } });
  const at = sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'app-1') !== null), 10_000, 1);
  assert.notEqual(at, null, 'registration did not reach every node' + reproduce(seed));
  const view = sim.node(names[0] as string).services().find((s) => s.id === 'app-1');
  assert.deepEqual(view?.tags, ['v1']);
  assert.equal(view?.meta['zone'], 'a');
});

test('entries of a crashed node turn critical everywhere, and come back when it refutes', () => {
  const seed = testSeed(2002);
  const { sim, names } = settled(30, seed);
  const owner = names[7] as string;
  register(sim, owner, 'db');
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'db')?.health === 'passing'), 5_000, 5), null, 'spread' + reproduce(seed));
  sim.pause(owner, 8_000);
  const others = names.filter((n) => n !== owner);
  const critical = sim.runUntilCondition(() => others.every((o) => holds(sim, o, owner, 'db')?.health === 'critical'), 8_000, 10);
  assert.notEqual(critical, null, 'entries of a dead owner must show critical' + reproduce(seed));
  const back = sim.runUntilCondition(() => others.every((o) => holds(sim, o, owner, 'db')?.health === 'passing'), 30_000, 10);
  assert.notEqual(back, null, 'entries return to their own health once the owner refutes' + reproduce(seed));
});

test('a left node\'s entries disappear; health and draining changes spread', () => {
  const seed = testSeed(2003);
  const { sim, names } = settled(20, seed);
  const owner = names[3] as string;
  register(sim, owner, 'web', { health: 'critical' });
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'web')?.health === 'critical'), 5_000, 5), null);
  sim.act(owner, (node, now) => node.updateService(now, 'web', { health: 'passing' }).effects);
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'web')?.health === 'passing'), 5_000, 5), null, 'health' + reproduce(seed));
  sim.act(owner, (node, now) => node.updateService(now, 'web', { draining: true }).effects);
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'web')?.draining === true), 5_000, 5), null, 'drain' + reproduce(seed));
  sim.act(owner, (node, now) => node.leave(now));
  sim.runFor(300);
  sim.crash(owner);
  const gone = sim.runUntilCondition(() => names.filter((n) => n !== owner).every((o) => holds(sim, o, owner, 'web') === null), 5_000, 5);
  assert.notEqual(gone, null, 'entries of a left node are removed' + reproduce(seed));
});

test('a deregistration during a partition is never resurrected after the heal (many seeds)', () => {
  const base = testSeed(2100);
  const seeds = process.env['SWIMD_SEED'] ? [base] : Array.from({ length: 40 }, (_, i) => base + i);
  const failures: string[] = [];
  for (const seed of seeds) {
    const rng = new Rng(seed);
    const n = 6 + rng.int(10);
    const { sim, names } = settled(n, seed);
    const owner = names[rng.int(n)] as string;
    register(sim, owner, 'svc');
    sim.runFor(1_000);
    const shuffled = rng.shuffle([...names]);
    const cut = 1 + rng.int(n - 1);
    sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    sim.runFor(rng.int(5_000));
    sim.act(owner, (node, now) => node.deregisterService(now, 'svc').effects);
    // Another instance registered on the owner's side during the partition must cross after the heal.
    register(sim, owner, 'svc-2');
    sim.runFor(10_000 + rng.int(30_000));
    sim.heal();
    const converged = sim.runUntilCondition(
      () => names.every((o) => holds(sim, o, owner, 'svc') === null && holds(sim, o, owner, 'svc-2') !== null), 240_000, 50);
    sim.runFor(30_000);
    const resurrected = names.filter((o) => holds(sim, o, owner, 'svc') !== null);
    if (converged === null || resurrected.length > 0) {
      failures.push(`seed ${seed}: converged=${converged !== null} resurrected at [${resurrected.join(',')}]${reproduce(seed)}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('an owner restarted without its state re-asserts its own entries (stale copies lose)', () => {
  const seed = testSeed(2004);
  const { sim, names } = settled(15, seed);
  const owner = names[4] as string;
  register(sim, owner, 'old');
  register(sim, owner, 'old', { port: 9090 });
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'old') !== null), 5_000, 5), null);
  sim.crash(owner);
  sim.runFor(5_000);
  sim.restart(owner, { seeds: [names[0] as string] });
  // The new life never registered 'old': after rejoining it must tombstone the stale copies.
  const gone = sim.runUntilCondition(() => names.every((o) => holds(sim, o, owner, 'old') === null), 120_000, 20);
  assert.notEqual(gone, null, 'stale entries of a previous life must be removed' + reproduce(seed));
});

/** Outcomes of the barriers `owner` finished since `from` (the simulator records every one). */
function outcomesOf(sim: Simulator, owner: string, from: number): BarrierEvent[] {
  return sim.barriers.slice(from).filter((b) => b.observer === owner).map((b) => b.event);
}

test('the barrier completes when every live member holds the version, under loss', () => {
  const seed = testSeed(2005);
  const { sim, names } = settled(40, seed, 0.1);
  const owner = names[9] as string;
  register(sim, owner, 'api');
  const from = sim.barriers.length;
  sim.act(owner, (node, now) => node.startBarrier(now, 'api', 5_000).effects);
  sim.runUntilCondition(() => outcomesOf(sim, owner, from).length > 0, 6_000, 1);
  const outcomes = outcomesOf(sim, owner, from);
  assert.equal(outcomes.length, 1, 'one outcome' + reproduce(seed));
  const out = outcomes[0] as BarrierEvent;
  assert.equal(out.done, true, `barrier failed, pending ${out.pending.join(',')}` + reproduce(seed));
  assert.equal(out.confirmed.length, 39);
  assert.deepEqual(out.excluded, []);
  // Everyone that confirmed really holds the entry.
  for (const o of names) assert.notEqual(holds(sim, o, owner, 'api'), null, `${o} confirmed but does not hold it` + reproduce(seed));
});

test('the barrier fails after its duration and names a paused member; a crashed one is not waited for', () => {
  const seed = testSeed(2006);
  const { sim, names } = settled(10, seed);
  const owner = names[0] as string;
  register(sim, owner, 'x');
  sim.runFor(1_000);
  const paused = names[5] as string;
  sim.pause(paused, 20_000);
  sim.act(owner, (n, now) => n.updateService(now, 'x', { draining: true }).effects);
  let from = sim.barriers.length;
  sim.act(owner, (n, now) => n.startBarrier(now, 'x', 500).effects);
  sim.runUntilCondition(() => outcomesOf(sim, owner, from).length > 0, 2_000, 1);
  const failed = outcomesOf(sim, owner, from)[0];
  assert.equal(failed?.done, false, 'must time out' + reproduce(seed));
  assert.deepEqual(failed?.pending, [paused]);
  // Once the paused member is declared dead, a new barrier does not wait for it.
  sim.runUntilCondition(() => sim.membersStatusAt(owner, paused) === 'dead', 30_000, 10);
  assert.equal(sim.membersStatusAt(owner, paused), 'dead');
  from = sim.barriers.length;
  sim.act(owner, (n, now) => n.startBarrier(now, 'x', 2_000).effects);
  sim.runUntilCondition(() => outcomesOf(sim, owner, from).length > 0, 3_000, 1);
  const after = outcomesOf(sim, owner, from)[0];
  assert.equal(after?.done, true, 'dead members are not waited for' + reproduce(seed));
  // It was dead before this wait began: not excluded, since it was never alive during it.
  assert.deepEqual(after?.excluded, []);
});
