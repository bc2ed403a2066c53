/**
 * The dissemination queue: membership updates go ahead of catalog updates, without starving them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BroadcastQueue } from '../protocol/broadcast-queue.js';

const BUDGET = 1_300;
const LIMIT = 12;

function part(tag: number, bytes: number): Uint8Array {
  const p = new Uint8Array(bytes);
  p[0] = tag;
  return p;
}

test('a member update is taken ahead of a full queue of service updates', () => {
  const q = new BroadcastQueue();
  for (let i = 0; i < 4_000; i++) q.enqueue(`s:n${i % 200}/svc-${i}`, part(1, 120));
  q.enqueue('m:n7', part(2, 40));
  const first = q.take(0, BUDGET, LIMIT, 255);
  assert.equal(first[0]?.[0], 2, 'the member update leads the first packet');
  assert.ok(first.some((p) => p[0] === 1), 'the rest of the packet still carries service updates');
});

test('a member update is not evicted by a flood of service updates', () => {
  const q = new BroadcastQueue(100);
  q.enqueue('m:n7', part(2, 40));
  for (let i = 0; i < 1_000; i++) q.enqueue(`s:n1/svc-${i}`, part(1, 120));
  assert.equal(q.size, 100);
  assert.equal(q.take(0, BUDGET, LIMIT, 255)[0]?.[0], 2, 'the member update is still queued');
});

test('service updates keep a share of every packet while member updates wait', () => {
  const q = new BroadcastQueue();
  for (let i = 0; i < 500; i++) q.enqueue(`m:n${i}`, part(2, 40));
  for (let i = 0; i < 50; i++) q.enqueue(`s:n1/svc-${i}`, part(1, 200));
  for (let k = 0; k < 5; k++) {
    const out = q.take(0, BUDGET, LIMIT, 255);
    assert.ok(out.some((p) => p[0] === 1), `packet ${k} carries a service update`);
    assert.ok(out.some((p) => p[0] === 2), `packet ${k} carries member updates`);
  }
});

test('a service update too large for the catalog\'s share still goes out within two packets', () => {
  const q = new BroadcastQueue();
  for (let i = 0; i < 500; i++) q.enqueue(`m:n${i}`, part(2, 40));
  q.enqueue('s:n1/big', part(1, 900));
  const sent: number[] = [];
  for (let k = 0; k < 2; k++) sent.push(...q.take(0, BUDGET, LIMIT, 255).map((p) => p[0] as number));
  assert.ok(sent.includes(1), 'the large service update was sent');
});
