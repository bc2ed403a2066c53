/**
 * Partitions longer than the reap time: the sides forget each other's members, and must still find
 * each other again once the network heals (reaped members' addresses, configured seeds).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../protocol/limits.js';
import { PROFILES } from '../protocol/profiles.js';
import { MemberTable } from '../protocol/member-table.js';
import { ReapedAddresses } from '../protocol/reaped-addresses.js';
import { Rng } from '../protocol/rng.js';
import { SeedRetry } from '../protocol/seed-retry.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

function allSeeAll(sim: Simulator, names: readonly string[]): boolean {
  return names.every((o) => sim.node(o).liveCount() === names.length && names.every((t) => sim.membersStatusAt(o, t) === 'alive'));
}

test('a 2 h partition on lan (both sides reaped each other) heals within the reconnect interval', () => {
  const seed = testSeed(4101);
  const profile = PROFILES.lan;
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const names = sim.addNodes(6);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  assert.notEqual(sim.runUntilCondition(() => allSeeAll(sim, names), 30_000, 50), null, 'cluster did not form' + reproduce(seed));
  const left = names.slice(0, 3);
  const right = names.slice(3);
  sim.partition([left, right]);
  sim.runFor(2 * 60 * 60_000);
  for (const o of left) for (const t of right) {
    assert.equal(sim.membersStatusAt(o, t), null, `${o} still holds ${t} after 2 h: the partition outlasted nothing` + reproduce(seed));
  }
  sim.heal();
  const healedAt = sim.now;
  const at = sim.runUntilCondition(() => allSeeAll(sim, names), 5 * 60_000, 25);
  assert.notEqual(at, null, 'the sides never found each other again' + reproduce(seed));
  // Every node's reconnect tick fires at most 1.5 reconnect intervals apart; one exchange across
  // the former partition and the first-receipt forwarding that follows join the two views.
  const bound = 1.5 * profile.reconnectIntervalMs;
  assert.ok((at as number) - healedAt <= bound, `healed after ${(at as number) - healedAt} ms, more than ${bound} ms` + reproduce(seed));
});

test('a long partition heals quickly even while both sides hold a recently dead member (and the seed is dead)', () => {
  const seed = testSeed(4103);
  const profile = PROFILES.lan;
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const names = sim.addNodes(6);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  assert.notEqual(sim.runUntilCondition(() => allSeeAll(sim, names), 30_000, 50), null, 'cluster did not form' + reproduce(seed));
  sim.partition([names.slice(0, 3), names.slice(3)]);
  sim.runFor(profile.reapAfterMs + 10 * 60_000);
  // A crash on each side shortly before the heal: every table holds a dead member again, and the
  // seed everyone joined through is gone. Reconnect attempts must still go to the reaped addresses.
  const [seedNode, , , otherSide] = names as [string, string, string, string];
  sim.crash(seedNode);
  sim.crash(otherSide);
  sim.runFor(60_000);
  const up = names.filter((n) => n !== seedNode && n !== otherSide);
  assert.ok(up.every((o) => sim.node(o).members().some((m) => m.status === 'dead')), 'each table holds a dead member' + reproduce(seed));
  sim.heal();
  const healedAt = sim.now;
  const seesAllUp = (): boolean => up.every((o) => up.every((t) => sim.membersStatusAt(o, t) === 'alive'));
  const at = sim.runUntilCondition(seesAllUp, 10 * 60_000, 25);
  assert.notEqual(at, null, 'the sides never found each other again' + reproduce(seed));
  // Half the ticks of a node that holds both kinds go to reaped addresses: four nodes, a few ticks each.
  const bound = 4 * profile.reconnectIntervalMs;
  assert.ok((at as number) - healedAt <= bound, `healed after ${(at as number) - healedAt} ms, more than ${bound} ms` + reproduce(seed));
});

test('two clusters formed apart at boot merge through their seeds once the network heals', () => {
  const seed = testSeed(4102);
  const profile = PROFILES.local;
  const sim = new Simulator({ seed, profile: 'local', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const [s1, a, s2, b] = sim.addNodes(4) as [string, string, string, string];
  // Every node is configured with both seeds, but each seed is reachable from one side only: two
  // separate clusters form, and nobody holds an address of the other side.
  sim.partition([[s1, a], [s2, b]]);
  sim.joinAll([s1, s2]);
  sim.runFor(30_000);
  assert.equal(sim.node(a).liveCount(), 2, 'side 1 formed' + reproduce(seed));
  assert.equal(sim.node(b).liveCount(), 2, 'side 2 formed' + reproduce(seed));
  sim.runFor(20 * 60_000);
  sim.heal();
  const healedAt = sim.now;
  const names = [s1, a, s2, b];
  const at = sim.runUntilCondition(() => allSeeAll(sim, names), 10 * 60_000, 25);
  assert.notEqual(at, null, 'the two clusters never merged' + reproduce(seed));
  // Seeds that are not live members are retried with a backoff capped at seedRetryMaxMs, checked
  // on every reconnect tick.
  const bound = profile.seedRetryMaxMs + 1.5 * profile.reconnectIntervalMs;
  assert.ok((at as number) - healedAt <= bound, `merged after ${(at as number) - healedAt} ms, more than ${bound} ms` + reproduce(seed));
});

test('the reaped-address book is bounded (oldest first) and expires after the retention', () => {
  const book = new ReapedAddresses();
  const max = LIMITS.reapedAddressesMax;
  for (let i = 0; i < max + 5; i++) book.add(`m${i}`, { host: `10.0.${i >> 8}.${i & 255}`, port: 7946 }, i);
  assert.equal(book.size, max);
  const kept = book.candidates(() => true);
  assert.equal(kept[0]?.host, '10.0.0.5', 'the five oldest went first');
  // Reaped again: moves to the end, with its new time.
  book.add('m5', { host: '10.9.9.9', port: 1 }, 10_000);
  book.expire(max + 5 + 100, 100);
  assert.deepEqual(book.candidates(() => true), [{ host: '10.9.9.9', port: 1 }]);
  book.expire(10_100, 100);
  assert.equal(book.size, 0);
});

test('seeds: retried with doubling backoff up to the cap while not live, reset once live, bounded in number', () => {
  const profile = PROFILES.lan;
  const table = new MemberTable('self', new Rng(1));
  const retry = new SeedRetry();
  const seed = { host: '10.0.0.1', port: 7946 };
  retry.add([seed]);
  const noneLive = (): ReadonlySet<string> => new Set();
  const attempts: number[] = [];
  for (let t = 0; t <= 10 * 60_000; t += 1_000) if (retry.due(t, table, noneLive, profile).length > 0) attempts.push(t);
  const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
  assert.deepEqual(gaps.slice(0, 4), [5_000, 10_000, 20_000, 40_000]);
  assert.ok(gaps.slice(4).every((g) => g === profile.seedRetryMaxMs), `gaps ${gaps.join(',')}`);
  // Live at its address: not contacted, and the backoff starts over once it is gone again.
  assert.deepEqual(retry.due(700_000, table, () => new Set(['10.0.0.1:7946']), profile), []);
  assert.equal(retry.due(700_001, table, noneLive, profile).length, 1);
  assert.equal(retry.due(700_001 + profile.reconnectIntervalMs, table, noneLive, profile).length, 1);
  // Live under the name it answered with, at another address.
  retry.answered(seed, 'seed-node');
  table.add({ name: 'seed-node', host: '10.9.9.9', port: 1, incarnation: 0, status: 'alive', changedAt: 0 });
  assert.deepEqual(retry.due(800_000, table, noneLive, profile), []);
  // Bounded: the oldest seeds go first.
  const many = Array.from({ length: LIMITS.joinSeedsMax + 3 }, (_, i) => ({ host: `10.1.0.${i}`, port: 7946 }));
  const fresh = new SeedRetry();
  fresh.add(many);
  const due = fresh.due(0, table, noneLive, profile);
  assert.equal(due.length, LIMITS.joinSeedsMax);
  assert.equal(due[0]?.host, '10.1.0.3');
});
