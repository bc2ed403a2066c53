/**
 * The SWIM core on the deterministic simulator: the scenarios users rely on, each seeded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../protocol/codec.js';
import type { MemberStatus } from '../protocol/messages.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

function cluster(n: number, seed: number, opts: { loss?: number; latencyMs?: number; jitterMs?: number } = {}): { sim: Simulator; names: string[] } {
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: opts.latencyMs ?? 1, jitterMs: opts.jitterMs ?? 0.5, loss: opts.loss ?? 0 });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  return { sim, names };
}

function allSee(sim: Simulator, observers: readonly string[], target: string, status: MemberStatus): boolean {
  return observers.every((o) => sim.membersStatusAt(o, target) === status);
}

function allAliveEverywhere(sim: Simulator, names: readonly string[]): boolean {
  return names.every((o) => {
    const view = sim.node(o).members();
    return view.length >= names.length && names.every((t) => view.some((m) => m.name === t && m.status === 'alive'));
  });
}

/** Names of members that some observer declared dead, excluding `except`. */
function declaredDead(sim: Simulator, except: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const e of sim.events) {
    if (e.event.member.status === 'dead' && !except.has(e.event.member.name)) out.add(e.event.member.name);
  }
  return [...out];
}

test('50 nodes join through one seed and all see 50 alive', () => {
  const seed = testSeed(1001);
  const { sim, names } = cluster(50, seed);
  const at = sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000, 10);
  assert.notEqual(at, null, 'cluster did not converge' + reproduce(seed));
  assert.deepEqual(declaredDead(sim, new Set()), [], 'no node may be declared dead while joining' + reproduce(seed));
});

test('a crashed node is declared dead by every other node', () => {
  const seed = testSeed(1002);
  const { sim, names } = cluster(50, seed);
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000), null, 'join' + reproduce(seed));
  sim.runFor(2_000);
  const victim = names[17] as string;
  const others = names.filter((n) => n !== victim);
  sim.crash(victim);
  const at = sim.runUntilCondition(() => allSee(sim, others, victim, 'dead'), 60_000, 10);
  assert.notEqual(at, null, `${victim} not declared dead everywhere` + reproduce(seed));
  assert.deepEqual(declaredDead(sim, new Set([victim])), [], 'only the crashed node may be declared dead' + reproduce(seed));
});

test('a falsely suspected node refutes and stays alive', () => {
  const seed = testSeed(1003);
  const { sim, names } = cluster(20, seed);
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000), null, 'join' + reproduce(seed));
  const accused = names[5] as string;
  const accuser = names[9] as string;
  const inc = sim.node(accused).self().incarnation;
  const forged = encodePacket({ type: 'suspect', name: accused, incarnation: inc, from: accuser });
  sim.act(accuser, (node, now) => node.handlePacket(now, sim.address(names[1] as string), forged));
  sim.runFor(100);
  assert.ok(sim.node(accused).self().incarnation > inc, 'accused must raise its incarnation' + reproduce(seed));
  sim.runFor(10_000);
  assert.ok(allAliveEverywhere(sim, names), 'everyone alive after the refutation' + reproduce(seed));
  assert.deepEqual(declaredDead(sim, new Set()), [], 'nobody declared dead' + reproduce(seed));
});

test('a partition into two halves for 60 s heals back to one view', () => {
  const seed = testSeed(1004);
  const { sim, names } = cluster(20, seed);
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000), null, 'join' + reproduce(seed));
  const a = names.slice(0, 10);
  const b = names.slice(10);
  sim.partition([a, b]);
  sim.runFor(60_000);
  assert.ok(allSee(sim, a, b[0] as string, 'dead'), 'side A sees side B dead during the partition' + reproduce(seed));
  sim.heal();
  const at = sim.runUntilCondition(() => allAliveEverywhere(sim, names), 300_000, 50);
  assert.notEqual(at, null, 'views did not converge after the heal' + reproduce(seed));
});

test('a node paused for 10 s does not get healthy nodes declared dead', () => {
  const seed = testSeed(1005);
  const { sim, names } = cluster(30, seed);
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000), null, 'join' + reproduce(seed));
  const paused = names[3] as string;
  sim.pause(paused, 10_000);
  sim.runFor(10_000);
  const at = sim.runUntilCondition(() => allAliveEverywhere(sim, names), 60_000, 20);
  assert.notEqual(at, null, 'paused node must come back alive everywhere' + reproduce(seed));
  assert.deepEqual(declaredDead(sim, new Set([paused])), [], 'healthy nodes declared dead' + reproduce(seed));
});

test('a graceful leave shows left everywhere', () => {
  const seed = testSeed(1006);
  const { sim, names } = cluster(30, seed);
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000), null, 'join' + reproduce(seed));
  const leaver = names[12] as string;
  const others = names.filter((n) => n !== leaver);
  sim.act(leaver, (node, now) => node.leave(now));
  sim.runFor(500);
  sim.crash(leaver);
  const at = sim.runUntilCondition(() => allSee(sim, others, leaver, 'left'), 10_000, 5);
  assert.notEqual(at, null, 'leave did not reach everyone' + reproduce(seed));
  sim.runFor(20_000);
  assert.ok(allSee(sim, others, leaver, 'left'), 'left must stay left, not turn dead' + reproduce(seed));
});

test('10% loss, 50 nodes, 10 simulated minutes: no healthy node declared dead', () => {
  const seed = testSeed(1007);
  const { sim, names } = cluster(50, seed, { loss: 0.1 });
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 60_000, 20), null, 'join under loss' + reproduce(seed));
  sim.runFor(600_000);
  assert.deepEqual(declaredDead(sim, new Set()), [], 'false positives at 10% loss' + reproduce(seed));
  // Under ongoing loss some member may be suspect at any instant; once loss stops all must be alive.
  sim.configure({ loss: 0 });
  assert.notEqual(sim.runUntilCondition(() => allAliveEverywhere(sim, names), 30_000, 20), null, 'all alive after loss stops' + reproduce(seed));
});
