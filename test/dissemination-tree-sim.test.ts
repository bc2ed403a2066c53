/**
 * Catalog updates down the update tree, on the simulator over regions: every node gets every
 * update — under loss, with relays dead before anyone noticed, across a healed partition — with
 * about one copy each, and a far region hears of a change in about the one-way latency to it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import { PROFILES } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

/** Four regions: one-way 0.5 ms inside one, 20 to 90 ms between them. */
const ONE_WAY_MS = [
  [0.5, 20, 60, 90],
  [20, 0.5, 45, 80],
  [60, 45, 0.5, 35],
  [90, 80, 35, 0.5],
];
const REGIONS = ONE_WAY_MS.length;

interface Fleet {
  readonly sim: Simulator;
  readonly names: string[];
  /** Datagrams carrying the entry (owner, id) delivered to each node, counted while `counting`. */
  readonly copies: Map<string, number>;
  counting: { owner: string; id: string } | null;
}

/** A converged fleet that has run long enough for its probes to measure round trips. */
function fleet(n: number, seed: number, warmupMs = 30_000): Fleet {
  const f: { sim: Simulator; names: string[]; copies: Map<string, number>; counting: Fleet['counting'] } = { sim: null as unknown as Simulator, names: [], copies: new Map(), counting: null };
  const onEffect = (_t: number, node: string, e: Effect): void => {
    const c = f.counting;
    if (c === null || e.kind !== 'send') return;
    const d = decodePacket(e.bytes);
    if (!d.ok) return;
    for (const p of d.value.type === 'compound' ? d.value.parts : [d.value]) {
      if (p.type === 'service' && p.node === c.owner && p.id === c.id) {
        const to = f.names.find((name) => f.sim.address(name).host === e.to.host && f.sim.address(name).port === e.to.port);
        if (to !== undefined && to !== node) f.copies.set(to, (f.copies.get(to) ?? 0) + 1);
      }
    }
  };
  const sim = new Simulator({ seed, profile: { ...PROFILES.lan, updateTree: true }, recordEvents: false, regions: { oneWayMs: ONE_WAY_MS, jitterMs: 0.5 }, onEffect });
  f.sim = sim;
  f.names.push(...sim.addNodes(n));
  sim.joinAll([f.names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => f.names.every((o) => sim.node(o).liveCount() === n), 60_000, 50);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  sim.runFor(warmupMs);
  return f;
}

function holds(sim: Simulator, observer: string, owner: string, id: string): boolean {
  return sim.node(observer).services().some((s) => s.node === owner && s.id === id);
}

function register(sim: Simulator, owner: string, id: string): void {
  sim.act(owner, (node, now) => node.registerService(now, { id, name: 'app', address: sim.address(owner).host, port: 8080 }).effects);
}

test('a registration reaches every region in about the one-way latency, one copy per node', () => {
  const seed = testSeed(5101);
  const f = fleet(200, seed);
  const { sim, names } = f;
  const owner = names[0] as string; // region 0: the farthest region is 90 ms away
  const others = names.filter((x) => x !== owner);
  f.counting = { owner, id: 'web' };
  const t0 = sim.now;
  register(sim, owner, 'web');
  const at = sim.runUntilCondition(() => others.every((o) => holds(sim, o, owner, 'web')), 5_000, 1);
  assert.notEqual(at, null, 'not every node got the registration' + reproduce(seed));
  const took = (at as number) - t0;
  // The bound is 90 ms + the first forward batch; a few near hops and jitter on top, not a second long hop.
  assert.ok(took <= 1.5 * 92, `last node after ${took} ms; lower bound 92 ms` + reproduce(seed));
  sim.runFor(1_000);
  const total = [...f.copies.values()].reduce((a, b) => a + b, 0);
  const perNode = total / others.length;
  assert.ok(perNode <= 1.2, `${perNode.toFixed(2)} copies per node (${total} copies)` + reproduce(seed));
  for (const o of others) assert.ok((f.copies.get(o) ?? 0) >= 1, `${o} holds the entry without a copy sent to it`);
});

test('under 10% loss every node gets a registration and its deregistration, by the digest repair', () => {
  const seed = testSeed(5102);
  const f = fleet(120, seed, 20_000);
  const { sim, names } = f;
  sim.configure({ loss: 0.1 });
  const owner = names[5] as string;
  const others = names.filter((x) => x !== owner);
  f.counting = { owner, id: 'db' };
  register(sim, owner, 'db');
  const got = sim.runUntilCondition(() => others.every((o) => holds(sim, o, owner, 'db')), 5_000, 5);
  assert.notEqual(got, null, `registration missing on ${others.filter((o) => !holds(sim, o, owner, 'db')).length} nodes` + reproduce(seed));
  sim.act(owner, (node, now) => node.deregisterService(now, 'db').effects);
  const gone = sim.runUntilCondition(() => others.every((o) => !holds(sim, o, owner, 'db')), 5_000, 5);
  assert.notEqual(gone, null, 'deregistration did not reach every node' + reproduce(seed));
  const total = [...f.copies.values()].reduce((a, b) => a + b, 0);
  // Two updates; each node is sent each once by the tree, plus the repairs of lost ones.
  assert.ok(total / others.length <= 2 * 1.5, `${(total / others.length).toFixed(2)} copies per node for two updates` + reproduce(seed));
});

test('relays that died unnoticed strand no region: the repair reaches every live node', () => {
  const seed = testSeed(5103);
  const f = fleet(160, seed);
  const { sim, names } = f;
  const owner = names[2] as string;
  // A quarter of every region crashes at once, just before the change: every relay the tree picks
  // among them drops its arc, and nobody has declared them dead yet.
  const dead = names.filter((x, i) => x !== owner && i % 4 === 1);
  for (const d of dead) sim.crash(d);
  const live = names.filter((x) => x !== owner && !dead.includes(x));
  register(sim, owner, 'api');
  const at = sim.runUntilCondition(() => live.every((o) => holds(sim, o, owner, 'api')), 5_000, 5);
  const missing = live.filter((o) => !holds(sim, o, owner, 'api'));
  assert.equal(missing.length, 0, `${missing.length} live nodes never got it, in regions ${[...new Set(missing.map((m) => sim.regionOf(m)))].join(',')}` + reproduce(seed));
  assert.notEqual(at, null);
});

test('a region cut off during a change gets it once the partition heals', () => {
  const seed = testSeed(5104);
  const f = fleet(80, seed, 10_000);
  const { sim, names } = f;
  const owner = names[0] as string;
  const cut = names.filter((x) => sim.regionOf(x) === REGIONS - 1);
  sim.partition([cut]);
  register(sim, owner, 'queue');
  const outside = names.filter((x) => x !== owner && !cut.includes(x));
  assert.notEqual(sim.runUntilCondition(() => outside.every((o) => holds(sim, o, owner, 'queue')), 5_000, 5), null, 'outside the cut' + reproduce(seed));
  assert.ok(cut.every((o) => !holds(sim, o, owner, 'queue')), 'the cut region heard nothing while cut');
  sim.runFor(2_000);
  sim.heal();
  const healed = sim.runUntilCondition(() => cut.every((o) => holds(sim, o, owner, 'queue')), 180_000, 50);
  assert.notEqual(healed, null, `${cut.filter((o) => !holds(sim, o, owner, 'queue')).length} nodes of the cut region never got it` + reproduce(seed));
});
