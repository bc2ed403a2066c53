/**
 * Refutation on one node: an accusation about this node at or above its incarnation raises the
 * incarnation to the accusation's + 1 (mod 2^32), answers the accuser at once and queues the new
 * alive; a stale accusation is answered directly without raising anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../protocol/limits.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { ackPings, allEffects, deliver, makeNode, memberEvents, peerAddress, runUntil, SELF, sameAddress, sentOfType, sent } from './helpers/one-node.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed(1402);
const B = peerAddress(2);
const W = peerAddress(3);
const LAN = PROFILES.lan;
/** When the accusation arrives: after the setup's own timers have run. */
const T = 100;

/** Node "self" at `incarnation`, knowing b and w alive; its setup traffic already done. */
function accused(incarnation: number): SwimNode {
  const n = makeNode({ seed: SEED, incarnation });
  deliver(n, 1, B, { type: 'alive', name: 'b', host: B.host, port: B.port, incarnation: 0 });
  deliver(n, 2, W, { type: 'alive', name: 'w', host: W.host, port: W.port, incarnation: 0 });
  runUntil(n, T - 1, (at, effects) => ackPings(n, at, effects));
  return n;
}

function aliveOfSelf(incarnation: number): { type: 'alive'; name: string; host: string; port: number; incarnation: number } {
  return { type: 'alive', name: 'self', host: SELF.host, port: SELF.port, incarnation };
}

/** Incarnations of the alive messages about self sent to `to` among `effects`, each once. */
function aliveSentTo(effects: Parameters<typeof sent>[0], to: typeof B): number[] {
  const incarnations = sentOfType(effects, 'alive').filter((s) => sameAddress(s.to, to) && s.msg.name === 'self').map((s) => s.msg.incarnation);
  return [...new Set(incarnations)];
}

test('refutation: a suspicion at the own incarnation raises it by one, answers the accuser at once and queues the alive', () => {
  const n = accused(5);
  const effects = deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: 5, from: 'b' });
  assert.equal(n.self().incarnation, 6);
  assert.equal(n.self().status, 'alive');
  assert.deepEqual(memberEvents(effects), [{ type: 'member', member: { name: 'self', host: SELF.host, port: SELF.port, incarnation: 6, status: 'alive' }, previous: 'alive' }]);
  assert.deepEqual(aliveSentTo(effects, B), [6], 'the accuser hears the refutation within the same input');
  assert.deepEqual(aliveSentTo(effects, W), [], 'the messenger is not the accuser');
  assert.equal(n.stats.suspicionsRefuted, 1);
  assert.equal(n.localHealth(), 1, 'being accused counts against our own health (Lifeguard)');
  // Queued: the next periodic gossip carries it to the others.
  const later = allEffects(runUntil(n, T + LAN.gossipIntervalMs));
  assert.ok(aliveSentTo(later, W).includes(6), 'gossip carries the refutation to w');
});

test('refutation: a suspicion above the own incarnation raises it to the claim + 1', () => {
  const n = accused(5);
  deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: 9, from: 'b' });
  assert.equal(n.self().incarnation, 10);
  // No bound on what we answer: the owner outbids any number, even one far past incarnationJumpMax.
  const far = 10 + LIMITS.incarnationJumpMax * 3;
  const effects = deliver(n, T + 1, W, { type: 'suspect', name: 'self', incarnation: far, from: 'b' });
  assert.equal(n.self().incarnation, far + 1);
  assert.deepEqual(aliveSentTo(effects, B), [far + 1]);
});

test('refutation: at 0xffffffff the refutation wraps to 0, which every peer takes as newer', () => {
  const top = LIMITS.incarnationMax;
  const n = accused(top);
  const effects = deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: top, from: 'b' });
  assert.equal(n.self().incarnation, 0);
  assert.deepEqual(aliveSentTo(effects, B), [0]);
  // A peer holding us at 0xffffffff accepts it.
  const peer = makeNode({ seed: SEED, name: 'b' });
  deliver(peer, 1, SELF, aliveOfSelf(top));
  deliver(peer, 2, SELF, aliveOfSelf(0));
  assert.equal(peer.member('self')?.incarnation, 0);
});

test('refutation: a death claim at or above the own incarnation is refuted and forwarded at once', () => {
  const n = accused(5);
  const effects = deliver(n, T, W, { type: 'dead', name: 'self', incarnation: 7, from: 'b' });
  assert.equal(n.self().incarnation, 8);
  assert.equal(n.self().status, 'alive');
  assert.equal(memberEvents(effects).length, 1);
  // The fast path: within one forward batch every live member (fewer than the fanout here) has it.
  const forwarded = allEffects(runUntil(n, T + LAN.forwardBatchMs));
  assert.deepEqual(aliveSentTo(forwarded, B), [8]);
  assert.deepEqual(aliveSentTo(forwarded, W), [8]);
});

test('refutation: a leave in our name at or above our incarnation (a previous life) is refuted', () => {
  const n = accused(5);
  deliver(n, T, W, { type: 'leave', name: 'self', incarnation: 5 });
  assert.deepEqual([n.self().status, n.self().incarnation], ['alive', 6]);
  const stale = deliver(n, T + 1, W, { type: 'leave', name: 'self', incarnation: 4 });
  assert.equal(n.self().incarnation, 6);
  assert.deepEqual(memberEvents(stale), []);
});

test('refutation: an alive in our name at our address above our incarnation is a previous life, refuted; an equal one is ignored', () => {
  const n = accused(5);
  const same = deliver(n, T, W, aliveOfSelf(5));
  assert.deepEqual(memberEvents(same), []);
  assert.equal(n.self().incarnation, 5);
  deliver(n, T + 1, W, aliveOfSelf(12));
  assert.equal(n.self().incarnation, 13);
});

for (const type of ['suspect', 'dead'] as const) {
  test(`refutation: a stale ${type} (below the own incarnation) is answered to the accuser directly, nothing raised`, () => {
    const n = accused(5);
    const effects = deliver(n, T, W, { type, name: 'self', incarnation: 4, from: 'b' });
    assert.equal(n.self().incarnation, 5);
    assert.deepEqual(memberEvents(effects), []);
    assert.equal(n.stats.suspicionsRefuted, 0);
    assert.deepEqual(aliveSentTo(effects, B), [5], 'the accuser is told the current incarnation');
    assert.deepEqual(sent(effects).map((s) => s.to), [B], 'one datagram, to the accuser only');
  });
}

test('refutation: "older" is serial: a claim half the circle ahead is stale', () => {
  const n = accused(5);
  const effects = deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: 5 + 2 ** 31 + 1, from: 'b' });
  assert.equal(n.self().incarnation, 5);
  assert.deepEqual(aliveSentTo(effects, B), [5]);
});

test('refutation: an accusation by an unknown member is refuted through the queue only', () => {
  const n = accused(5);
  const effects = deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: 5, from: 'stranger' });
  assert.equal(n.self().incarnation, 6);
  assert.deepEqual(sent(effects), [], 'nobody to answer directly');
  const later = allEffects(runUntil(n, T + LAN.gossipIntervalMs));
  assert.ok(aliveSentTo(later, B).includes(6) || aliveSentTo(later, W).includes(6));
});

test('refutation: a node that announced its leave refutes nothing', () => {
  const n = accused(5);
  n.leave(T);
  const effects = deliver(n, T + 1, W, { type: 'suspect', name: 'self', incarnation: 5, from: 'b' });
  assert.deepEqual([n.self().status, n.self().incarnation], ['left', 5]);
  assert.deepEqual(memberEvents(effects), []);
  assert.deepEqual(aliveSentTo(effects, B), []);
});

test('refutation: the datagram that answers the accuser carries the refutation once', () => {
  const n = accused(5);
  const effects = deliver(n, T, W, { type: 'suspect', name: 'self', incarnation: 5, from: 'b' });
  for (const d of sent(effects)) {
    const aboutSelf = d.parts.filter((p) => p.type === 'alive' && p.name === 'self');
    assert.equal(aboutSelf.length, 1, `datagram to ${d.to.host} carries ${aboutSelf.length} copies of the refutation`);
  }
});

test('a newer update queued without the fast path supersedes an older one still waiting for the forward batch', () => {
  // An alive about a newcomer is forwarded on first receipt after forwardBatchMs; a suspicion of it
  // arriving before that batch leaves makes the alive stale news: the batch must not carry it.
  const n = accused(5);
  const X = peerAddress(9);
  const at = T + 10;
  deliver(n, at, B, { type: 'alive', name: 'x', host: X.host, port: X.port, incarnation: 0 });
  deliver(n, at, B, { type: 'suspect', name: 'x', incarnation: 0, from: 'b' });
  assert.equal(n.member('x')?.status, 'suspect');
  const batch = allEffects(runUntil(n, at + LAN.forwardBatchMs));
  const stale = sent(batch).flatMap((d) => d.parts).filter((p) => p.type === 'alive' && p.name === 'x');
  assert.deepEqual(stale, [], 'the superseded alive about x went out after x was suspected');
});
