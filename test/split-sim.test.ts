/**
 * Traffic splits on the deterministic simulator: concurrent writers under loss and partitions
 * converge to one split everywhere (the highest write), a heal never brings an older split back,
 * restarts keep the split and the clock, and the split barrier confirms every member.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BarrierEvent } from '../protocol/effects.js';
import { compareWrites, type WriteStamp } from '../protocol/hlc.js';
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

type Weights = Record<string, number>;

/** Each node's wall clock: the simulated time plus a fixed skew of its own. */
function wallClocks(names: readonly string[], rng: Rng, skewMs: number): Map<string, number> {
  return new Map(names.map((n) => [n, rng.int(2 * skewMs + 1) - skewMs] as const));
}

function write(sim: Simulator, skew: Map<string, number>, node: string, weights: Weights | null, service = 'app'): WriteStamp {
  let stamp: WriteStamp | undefined;
  sim.act(node, (n, now) => {
    const r = n.writeSplit(now, 1_700_000_000_000 + now + (skew.get(node) ?? 0), service, weights);
    stamp = { wallMs: r.value.wallMs, counter: r.value.counter, writer: r.value.writer };
    return r.effects;
  });
  assert.ok(stamp !== undefined);
  return stamp;
}

/** What a node holds for `service`: the write's stamp and weights (null weights: cleared). */
function held(sim: Simulator, node: string, service = 'app'): { stamp: WriteStamp; weights: Weights | null } | null {
  const m = sim.node(node).splitState().splits.find((s) => s.service === service);
  if (m === undefined) return null;
  return { stamp: { wallMs: m.wallMs, counter: m.counter, writer: m.writer }, weights: m.cleared ? null : Object.fromEntries(m.weights) };
}

/** A valid split of 1 to 3 versions with random percentages summing to 100. */
function validWeights(rng: Rng): Weights {
  const k = 1 + rng.int(3);
  const w: Weights = {};
  let left = 100;
  for (let i = 1; i < k; i++) {
    const p = rng.int(left + 1);
    w[`v${i}`] = p;
    left -= p;
  }
  w[`v${k}`] = left;
  return w;
}

/** Checks on every step that no node's held write ever goes back; returns the failures seen. */
function watchMonotonic(sim: Simulator, names: readonly string[]): () => string[] {
  const last = new Map<string, WriteStamp>();
  const faults: string[] = [];
  return () => {
    for (const n of names) {
      const h = held(sim, n);
      if (h === null) continue;
      const before = last.get(n);
      if (before !== undefined && compareWrites(h.stamp, before) < 0) faults.push(`${n} went back from ${JSON.stringify(before)} to ${JSON.stringify(h.stamp)}`);
      last.set(n, h.stamp);
    }
    return faults;
  };
}

function converged(sim: Simulator, names: readonly string[], expected: WriteStamp): boolean {
  return names.every((n) => {
    const h = held(sim, n);
    return h !== null && compareWrites(h.stamp, expected) === 0;
  });
}

test('concurrent writers under loss converge to the highest write everywhere (random schedules)', () => {
  for (let round = 0; round < 6; round++) {
    const seed = testSeed(4101 + round);
    const rng = new Rng(seed);
    const { sim, names } = settled(25, seed, 0.1);
    const skew = wallClocks(names, rng, 3_000);
    const check = watchMonotonic(sim, names);
    const writes: { stamp: WriteStamp; weights: Weights | null }[] = [];
    const count = 3 + rng.int(5);
    for (let i = 0; i < count; i++) {
      const node = names[rng.int(names.length)] as string;
      const weights = rng.int(6) === 0 ? { v1: 100 } : validWeights(rng);
      writes.push({ stamp: write(sim, skew, node, weights), weights });
      sim.runFor(rng.int(3));
    }
    const top = writes.reduce((a, b) => (compareWrites(b.stamp, a.stamp) > 0 ? b : a));
    const at = sim.runUntilCondition(() => {
      check();
      return converged(sim, names, top.stamp);
    }, 60_000, 5);
    assert.notEqual(at, null, `round ${round}: not every node holds the highest write ${JSON.stringify(top.stamp)}` + reproduce(seed));
    assert.deepEqual(check(), [], 'a node went back to an older split' + reproduce(seed));
    for (const n of names) assert.deepEqual(held(sim, n)?.weights, top.weights, reproduce(seed));
  }
});

test('writes on both sides of a partition: the heal converges on the highest, never an older split', () => {
  for (let round = 0; round < 4; round++) {
    const seed = testSeed(4201 + round);
    const rng = new Rng(seed);
    const { sim, names } = settled(20, seed, 0.05);
    // Clocks far apart: the side that writes later may have the slower clock.
    const skew = wallClocks(names, rng, 20_000);
    const check = watchMonotonic(sim, names);
    const first = write(sim, skew, names[0] as string, { v1: 90, v2: 10 });
    assert.notEqual(sim.runUntilCondition(() => converged(sim, names, first), 20_000, 5), null, 'first split spread' + reproduce(seed));
    const cut = 5 + rng.int(10);
    const a = names.slice(0, cut);
    const b = names.slice(cut);
    sim.partition([a, b]);
    const writes: WriteStamp[] = [first];
    for (let i = 0; i < 4; i++) {
      const side = rng.int(2) === 0 ? a : b;
      const weights = rng.int(4) === 0 ? null : validWeights(rng);
      writes.push(write(sim, skew, side[rng.int(side.length)] as string, weights));
      sim.runFor(200 + rng.int(2_000));
      check();
    }
    sim.heal();
    const top = writes.reduce((x, y) => (compareWrites(y, x) > 0 ? y : x));
    const at = sim.runUntilCondition(() => {
      check();
      return converged(sim, names, top);
    }, 120_000, 10);
    assert.notEqual(at, null, `round ${round}: the heal did not converge on ${JSON.stringify(top)}` + reproduce(seed));
    assert.deepEqual(check(), [], 'an older split came back' + reproduce(seed));
    // Long after: still the same everywhere (tombstones included).
    sim.runFor(30_000);
    assert.ok(converged(sim, names, top), 'stays converged' + reproduce(seed));
  }
});

test('a write after a restart with saved state goes above everything before, even with a clock behind', () => {
  const seed = testSeed(4301);
  const { sim, names } = settled(10, seed);
  const skew = new Map<string, number>(names.map((n) => [n, 0]));
  const w1 = write(sim, skew, names[1] as string, { v1: 50, v2: 50 });
  assert.notEqual(sim.runUntilCondition(() => converged(sim, names, w1), 10_000, 5), null, reproduce(seed));
  const writer = names[2] as string;
  const saved = sim.node(writer).splitState();
  sim.restart(writer, { splits: saved.splits, splitClock: saved.clock, seeds: [names[0] as string] });
  assert.ok(held(sim, writer) !== null, 'the restarted node holds the saved split at once');
  // Its wall clock now reads an hour behind: the hybrid clock still stamps above what it saw.
  skew.set(writer, -3_600_000);
  const w2 = write(sim, skew, writer, { v1: 100 });
  assert.ok(compareWrites(w2, w1) > 0, 'a later write always wins');
  assert.notEqual(sim.runUntilCondition(() => converged(sim, names, w2), 30_000, 5), null, reproduce(seed));
  // A node restarted with nothing gets the split back from the others.
  const blank = names[5] as string;
  sim.restart(blank, { seeds: [names[0] as string] });
  assert.notEqual(sim.runUntilCondition(() => held(sim, blank) !== null && compareWrites(held(sim, blank)!.stamp, w2) === 0, 30_000, 10), null, reproduce(seed));
});

test('a clearing is kept as a tombstone: an older split arriving later does not come back', () => {
  const seed = testSeed(4401);
  const { sim, names } = settled(8, seed);
  const skew = new Map<string, number>(names.map((n) => [n, 0]));
  const w1 = write(sim, skew, names[1] as string, { v1: 90, v2: 10 });
  assert.notEqual(sim.runUntilCondition(() => converged(sim, names, w1), 10_000, 5), null, reproduce(seed));
  const old = sim.node(names[1] as string).splitState();
  const w2 = write(sim, skew, names[3] as string, null);
  assert.notEqual(sim.runUntilCondition(() => converged(sim, names, w2), 10_000, 5), null, reproduce(seed));
  assert.equal(sim.node(names[0] as string).split('app'), undefined);
  // A member restarted from a stale copy offers the old split again.
  sim.restart(names[6] as string, { splits: old.splits, splitClock: old.clock, seeds: [names[0] as string] });
  sim.runFor(20_000);
  assert.ok(converged(sim, names, w2), 'the clearing stands everywhere' + reproduce(seed));
  for (const n of names) assert.equal(sim.node(n).split('app'), undefined, `${n} brought the old split back` + reproduce(seed));
});

test('the split barrier returns once every live member holds the write, under loss', () => {
  const seed = testSeed(4501);
  const { sim, names } = settled(30, seed, 0.2);
  const skew = new Map<string, number>(names.map((n) => [n, 0]));
  const origin = names[4] as string;
  write(sim, skew, origin, { v1: 100 });
  const verdicts: BarrierEvent[] = [];
  sim.act(origin, (n, now) => n.startSplitBarrier(now, 'app', 10_000).effects);
  assert.notEqual(sim.runUntilCondition(() => {
    verdicts.push(...sim.barriers.filter((b) => b.observer === origin).map((b) => b.event));
    return verdicts.length > 0;
  }, 15_000, 5), null, reproduce(seed));
  const v = verdicts[0]!;
  assert.equal(v.done, true, JSON.stringify(v) + reproduce(seed));
  assert.equal(v.split, 'app');
  assert.equal(v.confirmed.length, names.length - 1);
  for (const n of names) assert.deepEqual(held(sim, n)?.weights, { v1: 100 }, reproduce(seed));
});
