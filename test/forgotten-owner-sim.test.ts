/**
 * Members that went before a node joined, and their service entries: imported with their age,
 * reaped together everywhere at about the same moment, never passed around again; entries of
 * owners with no member record are held back and dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../protocol/codec.js';
import type { ServiceMsg } from '../protocol/messages.js';
import { PROFILES } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

const profile = PROFILES.local;
/** How often a node looks for members to reap (as the node computes it from the profile). */
const reapCheckMs = Math.max(1_000, Math.min(60_000, profile.reapAfterMs / 10));

function settled(n: number, seed: number): { sim: Simulator; names: string[] } {
  const sim = new Simulator({ seed, profile: 'local', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 30_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  return { sim, names };
}

interface LateJoiner {
  sim: Simulator;
  /** The member that died before `late` joined; it owned an entry 'x-svc'. */
  x: string;
  /** The nodes that knew x. */
  others: string[];
  late: string;
}

/** x registers an entry and crashes; halfway through its reap time a new node joins. */
function lateJoinerAfterDeath(seed: number): LateJoiner {
  const { sim, names } = settled(5, seed);
  const x = names[4] as string;
  const others = names.slice(0, 4);
  sim.act(x, (node, now) => node.registerService(now, { id: 'x-svc', name: 'app', address: sim.address(x).host, port: 80 }).effects);
  assert.notEqual(sim.runUntilCondition(() => others.every((o) => sim.node(o).serviceRevision(x, 'x-svc') > 0), 5_000, 10), null, 'spread' + reproduce(seed));
  sim.crash(x);
  assert.notEqual(sim.runUntilCondition(() => others.every((o) => sim.membersStatusAt(o, x) === 'dead'), 30_000, 10), null, 'declared dead' + reproduce(seed));
  // Well into the reap time: a member imported with its reap clock restarted would outlive the others' copies by minutes.
  sim.runFor(profile.reapAfterMs / 2);
  const late = sim.addNode('late');
  sim.join(late, [names[0] as string]);
  assert.notEqual(sim.runUntilCondition(() => sim.node(late).liveCount() === 5, 30_000, 10), null, 'late node joined' + reproduce(seed));
  assert.ok(sim.node(late).serviceRevision(x, 'x-svc') > 0, 'the late node got the entry by push-pull' + reproduce(seed));
  return { sim, x, others, late };
}

test('a node that joined after a member died imports it and reaps it when everyone else does', () => {
  const seed = testSeed(4201);
  const { sim, x, others, late } = lateJoinerAfterDeath(seed);
  assert.equal(sim.membersStatusAt(late, x), 'dead', 'the late node imported the dead owner' + reproduce(seed));
  const watchers = [...others, late];
  const reapedAt = new Map<string, number>();
  const allReaped = sim.runUntilCondition(() => {
    for (const o of watchers) if (!reapedAt.has(o) && sim.membersStatusAt(o, x) === null) reapedAt.set(o, sim.now);
    return reapedAt.size === watchers.length;
  }, profile.reapAfterMs + 2 * reapCheckMs, 500);
  assert.notEqual(allReaped, null, `not reaped everywhere; reaped at ${JSON.stringify([...reapedAt])}` + reproduce(seed));
  const times = [...reapedAt.values()];
  const spread = Math.max(...times) - Math.min(...times);
  // Nodes learned of the death within a few seconds of each other, and reap on time (at most once
  // a probe interval); a record whose reap clock restarted on import would be minutes off.
  assert.ok(spread <= profile.probeIntervalMs + 5_000, `reaped ${spread} ms apart: ${JSON.stringify([...reapedAt])}` + reproduce(seed));
  assert.equal(sim.node(late).serviceRevision(x, 'x-svc'), 0, 'the entry went with its owner' + reproduce(seed));
});

test('once everyone who knew a member reaped it, nobody holds its entries and they do not come back', () => {
  const seed = testSeed(4203);
  const { sim, x, others, late } = lateJoinerAfterDeath(seed);
  const watchers = [...others, late];
  const reaped = sim.runUntilCondition(() => others.every((o) => sim.membersStatusAt(o, x) === null), profile.reapAfterMs + 2 * reapCheckMs, 500);
  assert.notEqual(reaped, null, 'not reaped by those who knew it' + reproduce(seed));
  // Whatever a node still held then is gone within the orphan grace.
  sim.runFor(profile.orphanEntryGraceMs + reapCheckMs);
  const holders = (): string[] => watchers.filter((o) => sim.membersStatusAt(o, x) !== null || sim.node(o).serviceRevision(x, 'x-svc') > 0);
  assert.deepEqual(holders(), [], 'member or entry still held' + reproduce(seed));
  // Many exchanges later, nobody has brought back the member or its entries.
  const cameBack = sim.runUntilCondition(() => holders().length > 0, 10 * profile.pushPullIntervalMs, 500);
  assert.equal(cameBack, null, `${x} or its entries held again at [${holders().join(',')}]` + reproduce(seed));
});

test('an entry whose owner has no member record is neither spread nor exchanged, and is dropped after the grace', () => {
  const seed = testSeed(4202);
  const { sim, names } = settled(4, seed);
  const [holder, from] = names as [string, string];
  const ghost: ServiceMsg = {
    type: 'service', node: 'ghost', id: 'g-svc', rev: 7, deleted: false, name: 'app', address: '10.1.1.1', port: 80,
    tags: [], meta: [], version: '', weight: 1, health: 'passing', draining: false,
  };
  sim.act(holder, (node, now) => node.handlePacket(now, sim.address(from), encodePacket(ghost)));
  const receivedAt = sim.now;
  assert.equal(sim.node(holder).serviceRevision('ghost', 'g-svc'), 7, 'held during the grace' + reproduce(seed));
  const spreadTo = (): string[] => names.filter((o) => o !== holder && sim.node(o).serviceRevision('ghost', 'g-svc') > 0);
  const dropped = sim.runUntilCondition(() => spreadTo().length > 0 || sim.node(holder).serviceRevision('ghost', 'g-svc') === 0,
    profile.orphanEntryGraceMs + 2 * reapCheckMs, 50);
  assert.deepEqual(spreadTo(), [], 'spread to others' + reproduce(seed));
  assert.notEqual(dropped, null, 'never dropped' + reproduce(seed));
  assert.ok((dropped as number) - receivedAt >= profile.orphanEntryGraceMs, 'dropped before the grace ran out' + reproduce(seed));
  assert.ok((dropped as number) - receivedAt <= profile.orphanEntryGraceMs + reapCheckMs + 100, 'dropped late' + reproduce(seed));
});

test('an entry that arrived before its owner was known is spread once the owner is', () => {
  const seed = testSeed(4204);
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const names = sim.addNodes(5);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === 5), 30_000, 20), null, 'formed' + reproduce(seed));
  const holder = names[1] as string;
  const others = names.filter((n) => n !== holder);
  const g = sim.addNode('g');
  sim.act(g, (node, now) => node.registerService(now, { id: 'g-svc', name: 'app', address: sim.address(g).host, port: 80 }).effects);
  const entry = sim.node(g).ownServices()[0] as ServiceMsg;
  // The entry outruns its owner: the holder gets it before it knows g, and keeps it to itself.
  sim.act(holder, (node, now) => node.handlePacket(now, sim.address(g), encodePacket(entry)));
  sim.runFor(1_000);
  assert.deepEqual(others.filter((o) => sim.node(o).serviceRevision(g, 'g-svc') > 0), [], 'spread before its owner was known' + reproduce(seed));
  // g reaches the holder only; the others learn of g, and of its entry, through the holder.
  for (const o of others) sim.setLink(g, o, { loss: 1 }, true);
  sim.join(g, [holder]);
  const spread = sim.runUntilCondition(() => others.every((o) => sim.node(o).serviceRevision(g, 'g-svc') > 0), 3_000, 10);
  assert.notEqual(spread, null, 'the held entry was not spread once its owner was known' + reproduce(seed));
});
