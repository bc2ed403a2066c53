/**
 * Propagation barrier rounds on one node: the request to every live member with the entry in the
 * same packet, answers in, retries of the silent at the retry interval, and the outcome effect:
 * done, timed out, or done with members excluded that died or left during the wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import type { Effect } from '../protocol/effects.js';
import type { ConfirmRequestMsg } from '../protocol/messages.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { barrierRetryMs, registerService, startBarrier } from './helpers/core-api.js';
import { ackPings, barrierEvents, deliver, makeNode, peerAddress, runUntil, sameAddress, sent, type Step } from './helpers/one-node.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(1405);
const LAN = PROFILES.lan;
const RETRY = barrierRetryMs(LAN);
const B = peerAddress(2);
const W = peerAddress(3);
const T0 = 1_000;

/** Node "self" with members b and w, owning service "web-1", its setup traffic done. */
function owner(): SwimNode {
  const n = makeNode({ seed: SEED });
  n.preload([
    { name: 'b', host: B.host, port: B.port, incarnation: 0, status: 'alive' },
    { name: 'w', host: W.host, port: W.port, incarnation: 0, status: 'alive' },
  ]);
  registerService(n, 0, { id: 'web-1', name: 'web', address: '10.0.0.1', port: 8080 });
  runUntil(n, T0 - 1, (at, effects) => ackPings(n, at, effects));
  return n;
}

/** Confirm requests among `effects`, with the packet each came in. */
function requests(effects: readonly Effect[]): { to: Address; msg: ConfirmRequestMsg; packet: readonly { type: string }[] }[] {
  return sent(effects).flatMap((d) => d.parts.filter((p): p is ConfirmRequestMsg => p.type === 'confirm-request').map((msg) => ({ to: d.to, msg, packet: d.parts })));
}

function confirm(node: SwimNode, at: number, from: string, addr: Address, req: ConfirmRequestMsg, rev = req.rev): Effect[] {
  return deliver(node, at, addr, { type: 'confirm', reqId: req.reqId, owner: req.owner, id: req.id, rev, from, ...(req.life === undefined ? {} : { life: req.life }) });
}

/** Runs the node, members answering pings but not the barrier, and lists when requests went out to whom. */
function rounds(node: SwimNode, until: number): { steps: Step[]; asked: { at: number; to: string }[] } {
  const steps = runUntil(node, until, (at, effects) => ackPings(node, at, effects));
  const asked = steps.flatMap((s) => requests(s.effects).map((r) => ({ at: s.at, to: sameAddress(r.to, B) ? 'b' : sameAddress(r.to, W) ? 'w' : r.to.host })));
  return { steps, asked };
}

test('barrier: every live member is asked at once, the entry travelling in the same packet ahead of the question', () => {
  const n = owner();
  const { barrierId, effects } = startBarrier(n, T0, 'web-1', 5_000);
  const reqs = requests(effects);
  assert.deepEqual(reqs.map((r) => r.to).sort((a, b) => a.host.localeCompare(b.host)), [B, W]);
  const rev = n.serviceRevision('self', 'web-1');
  for (const r of reqs) {
    assert.deepEqual({ ...r.msg, life: 0 }, { type: 'confirm-request', reqId: barrierId, owner: 'self', id: 'web-1', rev, from: 'self', life: 0 });
    const entryAt = r.packet.findIndex((p) => p.type === 'service');
    const questionAt = r.packet.findIndex((p) => p.type === 'confirm-request');
    assert.ok(entryAt >= 0 && entryAt < questionAt, 'the entry comes first, so the answer is about the entry it carried');
  }
  assert.deepEqual(barrierEvents(effects), []);
});

test('barrier: done when every member confirmed, in the order they answered', () => {
  const n = owner();
  const { barrierId, effects } = startBarrier(n, T0, 'web-1', 5_000);
  const req = requests(effects)[0]?.msg as ConfirmRequestMsg;
  assert.deepEqual(barrierEvents(confirm(n, T0 + 7, 'w', W, req)), []);
  assert.deepEqual(barrierEvents(confirm(n, T0 + 7, 'w', W, req)), [], 'a repeated answer changes nothing');
  const done = barrierEvents(confirm(n, T0 + 12, 'b', B, req));
  assert.deepEqual(done, [{
    type: 'barrier', barrierId, serviceId: 'web-1', rev: req.rev, done: true, confirmed: ['w', 'b'], pending: [], excluded: [], elapsedMs: 12,
  }]);
  assert.deepEqual(rounds(n, T0 + 3 * RETRY).asked, [], 'nobody is asked again after the outcome');
});

test('barrier: the silent are asked again every retry interval, those that answered are not', () => {
  const n = owner();
  const req = requests(startBarrier(n, T0, 'web-1', 5_000).effects)[0]?.msg as ConfirmRequestMsg;
  const first = rounds(n, T0 + RETRY);
  assert.deepEqual(first.asked.map((a) => a.at), [T0 + RETRY, T0 + RETRY], reproduce(SEED));
  confirm(n, T0 + RETRY + 1, 'b', B, req);
  const next = rounds(n, T0 + 3 * RETRY);
  assert.deepEqual(next.asked, [{ at: T0 + 2 * RETRY, to: 'w' }, { at: T0 + 3 * RETRY, to: 'w' }], reproduce(SEED));
});

test('barrier: at the timeout the outcome names who did not confirm; a wrong version or an unknown member does not count', () => {
  const n = owner();
  const timeout = 5 * RETRY + RETRY / 2;
  const { barrierId, effects } = startBarrier(n, T0, 'web-1', timeout);
  const req = requests(effects)[0]?.msg as ConfirmRequestMsg;
  confirm(n, T0 + 1, 'b', B, req);
  assert.deepEqual(barrierEvents(confirm(n, T0 + 2, 'w', W, req, req.rev - 1)), [], 'an older version is not a confirmation');
  assert.deepEqual(barrierEvents(confirm(n, T0 + 3, 'stranger', peerAddress(9), req)), [], 'nor is an answer from a non-member');
  const { steps } = rounds(n, T0 + timeout + RETRY);
  const outcome = steps.flatMap((s) => barrierEvents(s.effects).map((e) => ({ at: s.at, e })));
  assert.deepEqual(outcome, [{
    at: T0 + timeout,
    e: { type: 'barrier', barrierId, serviceId: 'web-1', rev: req.rev, done: false, confirmed: ['b'], pending: ['w'], excluded: [], elapsedMs: timeout },
  }], 'the outcome comes exactly at the deadline, not at the next retry' + reproduce(SEED));
});

for (const how of ['dead', 'left'] as const) {
  test(`barrier: a member that is ${how === 'dead' ? 'declared dead' : 'leaves'} during the wait stops holding it up and is named`, () => {
    const n = owner();
    const { barrierId, effects } = startBarrier(n, T0, 'web-1', 5_000);
    const req = requests(effects)[0]?.msg as ConfirmRequestMsg;
    confirm(n, T0 + 1, 'b', B, req);
    const msg = how === 'dead' ? { type: 'dead' as const, name: 'w', incarnation: 0, from: 'b' } : { type: 'leave' as const, name: 'w', incarnation: 0 };
    const out = barrierEvents(deliver(n, T0 + 2, B, msg));
    assert.deepEqual(out, [{
      type: 'barrier', barrierId, serviceId: 'web-1', rev: req.rev, done: true, confirmed: ['b'], pending: [], excluded: [{ name: 'w', status: how }], elapsedMs: 2,
    }]);
  });
}

test('barrier: a member that joins during the wait is asked at once and must confirm too', () => {
  const n = owner();
  const { barrierId, effects } = startBarrier(n, T0, 'web-1', 5_000);
  const req = requests(effects)[0]?.msg as ConfirmRequestMsg;
  const C = peerAddress(4);
  const joined = deliver(n, T0 + 1, C, { type: 'alive', name: 'c', host: C.host, port: C.port, incarnation: 0 });
  assert.deepEqual(requests(joined).map((r) => r.to), [C]);
  confirm(n, T0 + 2, 'b', B, req);
  assert.deepEqual(barrierEvents(confirm(n, T0 + 3, 'w', W, req)), [], 'c has not confirmed');
  const done = barrierEvents(confirm(n, T0 + 4, 'c', C, req));
  assert.deepEqual(done.map((e) => [e.barrierId, e.done, e.confirmed]), [[barrierId, true, ['b', 'w', 'c']]]);
});

test('barrier: with no other member the wait is done at once', () => {
  const n = makeNode({ seed: SEED });
  registerService(n, 0, { id: 'solo', name: 'web', address: '10.0.0.1', port: 8080 });
  const { barrierId, effects } = startBarrier(n, 10, 'solo', 1_000);
  assert.deepEqual(barrierEvents(effects).map((e) => [e.barrierId, e.done, e.confirmed, e.pending]), [[barrierId, true, [], []]]);
});
