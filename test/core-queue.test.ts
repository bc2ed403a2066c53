/**
 * The dissemination queue on its own: least-sent first, the retransmit limit, a newer update
 * replacing an older one, expiry, eviction at the bound (catalog before membership, most-sent
 * first), and membership's lane.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BroadcastQueue, MEMBER_KEY_PREFIX } from '../protocol/broadcast-queue.js';
import { LIMITS } from '../protocol/limits.js';
import { takeParts } from './helpers/core-api.js';

/** A part whose first byte names it, `bytes` long. */
function part(tag: number, bytes = 20): Uint8Array {
  const p = new Uint8Array(bytes);
  p[0] = tag;
  return p;
}

const tags = (parts: readonly Uint8Array[]): number[] => parts.map((p) => p[0] as number);

const member = (name: string): string => MEMBER_KEY_PREFIX + name;
const entry = (id: string): string => `s:owner/${id}`;

const ROOMY = 10_000;
const LIMIT = 5;
const PARTS = LIMITS.compoundPartsMax;

test('the least-sent updates go first; among equals, the oldest', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1));
  q.enqueue(member('b'), part(2));
  q.enqueue(member('c'), part(3));
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, 2)), [1, 2], 'two parts allowed: the two oldest');
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, 2)), [3, 1], 'the unsent one overtakes those sent once');
  q.enqueue(member('d'), part(4));
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, 1)), [4], 'a fresh update overtakes all that have spread');
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [2, 3, 4, 1], 'then by count: b once, c once, d once, a twice');
});

test('each update is handed out exactly `limit` times, then leaves the queue', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1));
  q.enqueue(entry('x'), part(2));
  const seen: number[][] = [];
  for (let i = 0; i < LIMIT + 2; i++) seen.push(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)));
  assert.deepEqual(seen, [...Array(LIMIT).fill([1, 2]), [], []]);
  assert.equal(q.size, 0);
});

test('a newer update about the same subject replaces the older one and starts its count again', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1));
  q.enqueue(member('b'), part(2));
  for (let i = 0; i < LIMIT - 1; i++) takeParts(q, 0, ROOMY, LIMIT, PARTS);
  q.enqueue(member('a'), part(9));
  assert.equal(q.size, 2);
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [9, 2], 'the replacement counts as unsent; the old part is gone');
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [9], 'b reached its limit; a has LIMIT - 1 sends to go');
});

test('removing a key takes its update out', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1));
  q.enqueue(entry('x'), part(2));
  q.remove(member('a'));
  q.remove(member('never'));
  assert.equal(q.size, 1);
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [2]);
});

test('an update past its expiry is dropped unsent; one not yet expired still goes', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1), 100);
  q.enqueue(member('b'), part(2), 101);
  q.enqueue(member('c'), part(3));
  assert.deepEqual(tags(takeParts(q, 99, ROOMY, LIMIT, PARTS)), [1, 2, 3]);
  assert.deepEqual(tags(takeParts(q, 100, ROOMY, LIMIT, PARTS)), [2, 3], 'expired at exactly its expiry time');
  assert.equal(q.size, 2, 'the expired update left the queue');
  assert.deepEqual(tags(takeParts(q, 101, ROOMY, LIMIT, PARTS)), [3]);
  assert.equal(q.size, 1);
});

test('parts are taken while they fit the budget; one that does not fit is passed over for smaller ones', () => {
  const q = new BroadcastQueue();
  q.enqueue(member('a'), part(1, 40));
  q.enqueue(member('b'), part(2, 100));
  q.enqueue(member('c'), part(3, 40));
  assert.deepEqual(tags(takeParts(q, 0, 90, LIMIT, PARTS)), [1, 3]);
  assert.deepEqual(tags(takeParts(q, 0, 100, LIMIT, PARTS)), [2], 'the large one went first once unsent and fitting');
});

test('at the bound, catalog updates are evicted before membership, most-sent and oldest first', () => {
  const q = new BroadcastQueue(4);
  q.enqueue(member('a'), part(1));
  q.enqueue(entry('x'), part(2));
  q.enqueue(entry('y'), part(3));
  takeParts(q, 0, ROOMY, LIMIT, PARTS); // each sent once
  q.enqueue(entry('z'), part(4)); // unsent
  q.enqueue(member('b'), part(5)); // fifth: one must go
  assert.equal(q.size, 4);
  let sent = tags(takeParts(q, 0, ROOMY, LIMIT, PARTS));
  assert.deepEqual(sent.sort(), [1, 3, 4, 5], 'x went: a catalog update, sent most, oldest among those');
  q.enqueue(member('c'), part(6));
  q.enqueue(member('d'), part(7));
  q.enqueue(member('e'), part(8));
  sent = tags(takeParts(q, 0, ROOMY, LIMIT, PARTS));
  // Three more evictions: y (catalog, sent twice), z (catalog, sent once), then a (membership, sent twice).
  assert.deepEqual(sent.sort(), [5, 6, 7, 8], 'the catalog went before any membership update');
});

test('with only membership evictable, the most-sent membership update goes', () => {
  const q = new BroadcastQueue(3);
  q.enqueue(member('a'), part(1));
  takeParts(q, 0, ROOMY, LIMIT, PARTS);
  takeParts(q, 0, ROOMY, LIMIT, PARTS);
  q.enqueue(member('b'), part(2));
  takeParts(q, 0, ROOMY, LIMIT, 1); // b once (it is least-sent)
  q.enqueue(member('c'), part(3));
  q.enqueue(member('d'), part(4));
  assert.equal(q.size, 3);
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [3, 4, 2], 'a, sent twice, was evicted');
});

test('membership fills the whole packet when no catalog update waits, and leaves room when one does', () => {
  const budget = 1_000;
  const fill = (withCatalog: boolean): { members: number; catalog: number } => {
    const q = new BroadcastQueue();
    for (let i = 0; i < 200; i++) q.enqueue(member(`n${i}`), part(1, 50));
    if (withCatalog) for (let i = 0; i < 20; i++) q.enqueue(entry(`e${i}`), part(2, 50));
    const t = tags(takeParts(q, 0, budget, LIMIT, PARTS));
    return { members: t.filter((x) => x === 1).length, catalog: t.filter((x) => x === 2).length };
  };
  const alone = fill(false);
  assert.equal(alone.members, budget / 50, 'no catalog waiting: membership takes every byte');
  const shared = fill(true);
  assert.ok(shared.catalog > 0, 'a catalog update rides along');
  assert.ok(shared.members > 0 && shared.members < alone.members, `membership keeps its share (${shared.members} of ${alone.members})`);
  assert.equal(shared.members + shared.catalog, budget / 50, 'the packet is still filled');
});

test('a membership update goes first in a packet that also carries catalog updates enqueued earlier', () => {
  const q = new BroadcastQueue();
  for (let i = 0; i < 5; i++) q.enqueue(entry(`e${i}`), part(2));
  q.enqueue(member('late'), part(1));
  assert.deepEqual(tags(takeParts(q, 0, ROOMY, LIMIT, PARTS)), [1, 2, 2, 2, 2, 2]);
});
