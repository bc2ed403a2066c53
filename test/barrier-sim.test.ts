/**
 * The propagation barrier while the membership changes under it: members that join, die, leave or
 * come back during the wait, on the deterministic simulator; and answers meant for a previous life
 * of the owner, on one core node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import type { BarrierEvent, Effect } from '../protocol/effects.js';
import type { ConfirmMsg, ConfirmRequestMsg, GossipMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

function settled(n: number, seed: number): { sim: Simulator; names: string[] } {
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  return { sim, names };
}

function register(sim: Simulator, owner: string, id: string): void {
  sim.act(owner, (node, now) => node.registerService(now, { id, name: 'app', address: sim.address(owner).host, port: 8080 }).effects);
}

function holds(sim: Simulator, observer: string, owner: string, id: string): boolean {
  return sim.node(observer).services().some((s) => s.node === owner && s.id === id);
}

/** Starts a barrier on `owner` and returns a reader of its outcome (null while it runs). */
function startBarrier(sim: Simulator, owner: string, id: string, timeoutMs: number): () => BarrierEvent | null {
  let barrierId = -1;
  const from = sim.barriers.length;
  sim.act(owner, (node, now) => {
    const r = node.startBarrier(now, id, timeoutMs);
    barrierId = r.value;
    return r.effects;
  });
  return () => sim.barriers.slice(from).find((b) => b.observer === owner && b.event.barrierId === barrierId)?.event ?? null;
}

function describe(e: BarrierEvent | null): string {
  return e === null ? 'no outcome' : JSON.stringify({ done: e.done, confirmed: e.confirmed, pending: e.pending, excluded: e.excluded });
}

test('a member that joins during the wait is asked too, and the wait ends only once it confirmed', () => {
  const seed = testSeed(2201);
  const { sim, names } = settled(5, seed);
  const [owner, seedNode, , , holder] = names as [string, string, string, string, string];
  register(sim, owner, 'x');
  sim.runFor(1_000);
  // The owner's requests cannot reach `holder`, which stays alive (others probe it for the owner):
  // the wait stays open while a new member joins through another node.
  sim.blockOneWay(owner, holder);
  const outcome = startBarrier(sim, owner, 'x', 20_000);
  sim.runFor(200);
  const joiner = sim.addNode();
  sim.join(joiner, [seedNode]);
  assert.notEqual(sim.runUntilCondition(() => sim.membersStatusAt(owner, joiner) === 'alive', 10_000, 5), null,
    'the owner learns of the joiner' + reproduce(seed));
  sim.runFor(500);
  assert.equal(outcome(), null, 'the wait is still held open' + reproduce(seed));
  sim.unblockOneWay(owner, holder);
  sim.runUntilCondition(() => outcome() !== null, 5_000, 5);
  const out = outcome();
  assert.equal(out?.done, true, describe(out) + reproduce(seed));
  assert.deepEqual([...(out?.confirmed ?? [])].sort(), names.slice(1).concat(joiner).sort(), describe(out) + reproduce(seed));
  assert.deepEqual(out?.excluded, [], describe(out) + reproduce(seed));
  assert.ok(holds(sim, joiner, owner, 'x'), 'the joiner holds the entry it confirmed' + reproduce(seed));
});

test('members declared dead or leaving during the wait are named as excluded, never silently dropped', () => {
  const seed = testSeed(2202);
  const { sim, names } = settled(6, seed);
  const [owner, , frozen, leaver] = names as [string, string, string, string];
  register(sim, owner, 'x');
  sim.runFor(1_000);
  sim.pause(frozen, 120_000);
  // The leaver never gets the question, so it cannot confirm before it leaves.
  sim.blockOneWay(owner, leaver);
  const outcome = startBarrier(sim, owner, 'x', 60_000);
  sim.runFor(100);
  sim.act(leaver, (node, now) => node.leave(now));
  sim.runUntilCondition(() => outcome() !== null, 60_000, 5);
  const out = outcome();
  assert.equal(sim.membersStatusAt(owner, frozen), 'dead', 'the frozen member was declared dead' + reproduce(seed));
  // Every member that could answer did; the two that could not no longer hold the wait up, but are named.
  assert.equal(out?.done, true, describe(out) + reproduce(seed));
  assert.deepEqual([...(out?.confirmed ?? [])].sort(), names.filter((n) => ![owner, frozen, leaver].includes(n)).sort(), describe(out) + reproduce(seed));
  assert.deepEqual(out?.pending, []);
  assert.deepEqual([...(out?.excluded ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
    [{ name: frozen, status: 'dead' }, { name: leaver, status: 'left' }].sort((a, b) => a.name.localeCompare(b.name)), describe(out) + reproduce(seed));
});

test('a member declared dead during the wait that comes back is asked again, and is no longer excluded once it confirms', () => {
  const seed = testSeed(2203);
  const { sim, names } = settled(6, seed);
  const [owner, , cut, , , holder] = names as [string, string, string, string, string, string];
  register(sim, owner, 'x');
  sim.runFor(1_000);
  sim.blockOneWay(owner, holder);
  // Cut off rather than paused: a paused process would answer the queued questions on resume.
  sim.partition([[cut]]);
  const outcome = startBarrier(sim, owner, 'x', 120_000);
  assert.notEqual(sim.runUntilCondition(() => sim.membersStatusAt(owner, cut) === 'dead', 30_000, 5), null, 'declared dead' + reproduce(seed));
  sim.runFor(1_000);
  assert.equal(outcome(), null, 'the wait is still held open' + reproduce(seed));
  sim.partition([]); // ends the partition only; heal() would lift the one-way block too
  assert.notEqual(sim.runUntilCondition(() => sim.membersStatusAt(owner, cut) === 'alive', 60_000, 5), null, 'back alive' + reproduce(seed));
  sim.runFor(1_000);
  sim.unblockOneWay(owner, holder);
  sim.runUntilCondition(() => outcome() !== null, 10_000, 5);
  const out = outcome();
  assert.equal(out?.done, true, describe(out) + reproduce(seed));
  assert.ok(out?.confirmed.includes(cut), `${cut} asked again and confirmed: ${describe(out)}` + reproduce(seed));
  assert.deepEqual(out?.excluded, [], describe(out) + reproduce(seed));
});

test('a wait that times out reports both who has not confirmed and who was excluded', () => {
  const seed = testSeed(2204);
  const { sim, names } = settled(5, seed);
  const [owner, , frozen, , holder] = names as [string, string, string, string, string];
  register(sim, owner, 'x');
  sim.runFor(1_000);
  sim.blockOneWay(owner, holder);
  sim.pause(frozen, 120_000);
  const outcome = startBarrier(sim, owner, 'x', 20_000);
  sim.runUntilCondition(() => outcome() !== null, 30_000, 5);
  const out = outcome();
  assert.equal(out?.done, false, describe(out) + reproduce(seed));
  assert.deepEqual(out?.pending, [holder], describe(out) + reproduce(seed));
  assert.deepEqual(out?.excluded, [{ name: frozen, status: 'dead' }], describe(out) + reproduce(seed));
});

// ---- one core node: answers meant for a previous life ---------------------------------------------

const PEER: Address = { host: '10.0.0.2', port: 7946 };

function ownerLife(seed: number): SwimNode {
  const node = new SwimNode({ name: 'a', host: '10.0.0.1', port: 7946, profile: PROFILES.lan, seed, now: 0 });
  node.preload([{ name: 'b', host: PEER.host, port: PEER.port, incarnation: 1, status: 'alive' }]);
  node.registerService(0, { id: 'x', name: 'app', address: '10.0.0.1', port: 8080 });
  return node;
}

/** The confirm request among the datagrams sent to the peer. */
function requestIn(effects: readonly Effect[]): ConfirmRequestMsg {
  for (const e of effects) {
    if (e.kind !== 'send' || e.to.host !== PEER.host) continue;
    const d = decodePacket(e.bytes);
    if (!d.ok) continue;
    const parts: readonly GossipMsg[] = d.value.type === 'compound' ? d.value.parts : [d.value];
    const req = parts.find((p): p is ConfirmRequestMsg => p.type === 'confirm-request');
    if (req !== undefined) return req;
  }
  throw new Error('no confirm request sent to the peer');
}

function answer(req: ConfirmRequestMsg, patch: Partial<ConfirmMsg> = {}): Uint8Array {
  const msg: ConfirmMsg = {
    type: 'confirm', reqId: req.reqId, owner: req.owner, id: req.id, rev: req.rev, from: 'b',
    ...(req.life === undefined ? {} : { life: req.life }), ...patch,
  };
  return encodePacket(msg);
}

function barriers(effects: readonly Effect[]): BarrierEvent[] {
  return effects.flatMap((e) => (e.kind === 'barrier' ? [e.event] : []));
}

test('answers meant for a previous life of the owner, or for a version it never issued, do not count', () => {
  const seed = testSeed(2205);
  const before = ownerLife(seed);
  const oldRequest = requestIn(before.startBarrier(0, 'x', 10_000).effects);
  // The owner restarts without its state: same name, same entry version, a new process.
  const after = ownerLife(seed + 1);
  const started = after.startBarrier(1_000, 'x', 10_000);
  const request = requestIn(started.effects);
  assert.equal(request.rev, oldRequest.rev, 'both lives wait for the same version');
  const stale = [
    answer(oldRequest),
    // From a member of an older version that does not echo `life`.
    answer(oldRequest, { life: undefined }),
    // Echoes this life's request but holds a version this life never issued (the previous life's).
    answer(request, { rev: request.rev + 5 }),
  ];
  for (const [i, bytes] of stale.entries()) {
    const effects = after.handlePacket(1_001 + i, PEER, bytes);
    assert.deepEqual(barriers(effects), [], `stale answer ${i} must not complete the wait` + reproduce(seed));
  }
  const done = barriers(after.handlePacket(1_010, PEER, answer(request)));
  assert.equal(done.length, 1, 'the answer to this life\'s request completes it' + reproduce(seed));
  assert.equal(done[0]?.done, true);
  assert.deepEqual(done[0]?.confirmed, ['b']);
});
