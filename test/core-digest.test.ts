/**
 * One node and the catalog's lazy path: a digest (have) of an entry it lacks makes it ask the
 * sender (want), again on a timer while unanswered, a bounded number of times; a want is answered
 * with the entry held; a relay arc leading a packet is passed on down the tree, and only then.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryFromSpec } from '../protocol/catalog.js';
import { LIMITS } from '../protocol/limits.js';
import { PROFILES, wantRetryMs } from '../protocol/profiles.js';
import { ringPosition } from '../protocol/ring.js';
import { addressOf, deliver, makeNode, peerAddress, peers, sentOfType } from './helpers/one-node.js';

const retry = wantRetryMs(PROFILES.lan);
const TREE = { ...PROFILES.lan, updateTree: true };
const FLOODING = { ...PROFILES.lan, updateTree: false };

function withPeers(n: number, profile = TREE) {
  const node = makeNode({ seed: 7, profile });
  node.preload(peers(n));
  return node;
}

test('a digest of an entry the node lacks is answered with a want to its sender; an equal or older one is not', () => {
  const node = withPeers(5);
  const from = peerAddress(2);
  const e = deliver(node, 10, from, { type: 'have', node: 'p1', id: 'web', rev: 3 });
  const wants = sentOfType(e, 'want');
  assert.equal(wants.length, 1);
  assert.deepEqual(wants[0]?.to, from);
  assert.deepEqual(wants[0]?.msg, { type: 'want', node: 'p1', id: 'web', rev: 3 });
  // The entry arrives: further digests of that version are not asked for.
  const entry = entryFromSpec('p1', { id: 'web', name: 'web', address: '10.1.1.1', port: 80 }, 3);
  deliver(node, 12, from, entry);
  assert.equal(sentOfType(deliver(node, 13, peerAddress(3), { type: 'have', node: 'p1', id: 'web', rev: 3 }), 'want').length, 0);
  assert.equal(sentOfType(deliver(node, 14, peerAddress(3), { type: 'have', node: 'p1', id: 'web', rev: 2 }), 'want').length, 0);
  assert.equal(sentOfType(deliver(node, 15, peerAddress(3), { type: 'have', node: 'p1', id: 'web', rev: 4 }), 'want').length, 1);
});

test('an unanswered want is sent again on a timer, to the latest digest sender, a bounded number of times', () => {
  const node = withPeers(5);
  deliver(node, 0, peerAddress(1), { type: 'have', node: 'p1', id: 'db', rev: 1 });
  // A second digest while waiting is not asked for at once; it names whom to ask next.
  assert.equal(sentOfType(deliver(node, 1, peerAddress(4), { type: 'have', node: 'p1', id: 'db', rev: 1 }), 'want').length, 0);
  const resent: string[] = [];
  for (let t = 0; t <= retry * (LIMITS.wantAttemptsMax + 3); t += retry / 2) {
    for (const w of sentOfType(node.tick(t), 'want')) resent.push(w.to.host);
  }
  assert.equal(resent.length, LIMITS.wantAttemptsMax - 1, `resent ${resent.length} times`);
  assert.ok(resent.every((h) => h === peerAddress(4).host), 'asks the member that sent the latest digest');
});

test('a want is answered with the entry held, if at least as new; nothing otherwise', () => {
  const node = withPeers(3);
  const entry = entryFromSpec('p1', { id: 'api', name: 'api', address: '10.1.1.1', port: 80 }, 5);
  deliver(node, 0, addressOf(peers(1)[0] as { host: string; port: number }), entry);
  const asker = peerAddress(3);
  const answer = sentOfType(deliver(node, 1, asker, { type: 'want', node: 'p1', id: 'api', rev: 5 }), 'service');
  assert.equal(answer.length, 1);
  assert.deepEqual(answer[0]?.to, asker);
  assert.equal(answer[0]?.msg.rev, 5);
  assert.equal(sentOfType(deliver(node, 2, asker, { type: 'want', node: 'p1', id: 'api', rev: 6 }), 'service').length, 0);
  assert.equal(sentOfType(deliver(node, 3, asker, { type: 'want', node: 'p9', id: 'x', rev: 1 }), 'service').length, 0);
});

test('a fresh entry is relayed down the tree only when its packet leads with an arc', () => {
  const n = 200;
  const node = withPeers(n);
  const entry = entryFromSpec('p1', { id: 'web', name: 'web', address: '10.1.1.1', port: 80 }, 1);
  // No arc (a piggybacked copy, a repair): only the digest queue, no eager sends.
  deliver(node, 0, peerAddress(1), entry);
  const quiet = node.tick(PROFILES.lan.forwardBatchMs + 0.5);
  assert.equal(sentOfType(quiet, 'service').length, 0);
  // With an arc: the node splits it among the members on it (self excluded) and sends each its share.
  const entry2 = entryFromSpec('p1', { id: 'web', name: 'web', address: '10.1.1.1', port: 81 }, 2);
  const self = ringPosition('self');
  deliver(node, 10, peerAddress(1), { type: 'relay', lo: self, hi: (self - 1) >>> 0 }, entry2);
  const sends = sentOfType(node.tick(10 + PROFILES.lan.forwardBatchMs), 'service');
  assert.ok(sends.length > 0 && sends.length <= LIMITS.relayFanoutMax, `${sends.length} sends`);
  const relays = sentOfType(node.tick(10 + PROFILES.lan.forwardBatchMs), 'relay');
  assert.equal(relays.length, 0, 'the batch went out once');
  // The same copy again with an arc: relayed again (a relay need not lie in its arc), not stored anew.
  deliver(node, 20, peerAddress(2), { type: 'relay', lo: 1, hi: 0x7fff_ffff }, entry2);
  const again = sentOfType(node.tick(20 + PROFILES.lan.forwardBatchMs), 'service');
  assert.ok(again.length > 0, 'an arc for an entry held is still relayed');
});

test('with the update tree off (bench --flooding; agents before it): a fresh entry is flooded on first receipt, an arc is not honoured, the queue repeats the entry, and a want is still answered', () => {
  assert.equal(PROFILES.lan.updateTree && PROFILES.wan.updateTree && PROFILES.local.updateTree, true, 'on in every shipped profile');
  const n = 200;
  const node = withPeers(n, FLOODING);
  const entry = entryFromSpec('p1', { id: 'web', name: 'web', address: '10.1.1.1', port: 80 }, 1);
  // No arc: flooded at once to ceil(ln n) + extra members.
  deliver(node, 0, peerAddress(1), entry);
  const flooded = sentOfType(node.tick(PROFILES.lan.forwardBatchMs + 0.5), 'service');
  assert.equal(flooded.length, Math.ceil(Math.log(n + 1)) + PROFILES.lan.forwardFanoutExtra);
  // Periodic gossip repeats the whole entry, never a digest.
  let haves = 0;
  let copies = 0;
  for (let t = 10; t < 1_000; t += PROFILES.lan.gossipIntervalMs) {
    const e = node.tick(t);
    haves += sentOfType(e, 'have').length;
    copies += sentOfType(e, 'service').length;
  }
  assert.equal(haves, 0, 'no digests without the update tree');
  assert.ok(copies > 0, 'the queue repeats the entry');
  // A copy held already, led by an arc: not relayed.
  const self = ringPosition('self');
  deliver(node, 2_000, peerAddress(2), { type: 'relay', lo: self, hi: (self - 1) >>> 0 }, entry);
  assert.equal(sentOfType(node.tick(2_000 + PROFILES.lan.forwardBatchMs + 0.5), 'service').length, 0);
  // A want from a node that runs the tree is answered.
  const answer = sentOfType(deliver(node, 2_100, peerAddress(3), { type: 'want', node: 'p1', id: 'web', rev: 1 }), 'service');
  assert.equal(answer.length, 1);
});
