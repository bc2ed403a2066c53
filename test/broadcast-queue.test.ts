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

test('sends made outside the queue count towards an update\'s limit, leaving the repeats it is owed', () => {
  const sendsOf = (q: BroadcastQueue, limit: number): number => {
    let n = 0;
    while (q.take(0, 1400, limit, 16).length > 0) n++;
    return n;
  };
  const credited = new BroadcastQueue();
  credited.enqueue('m:a', new Uint8Array([1, 2, 3]));
  credited.credit('m:a', 8, 12, 4);
  assert.equal(sendsOf(credited, 12), 4, '12 in all: 8 forwarded, 4 queued');
  const few = new BroadcastQueue();
  few.enqueue('m:a', new Uint8Array([1, 2, 3]));
  few.credit('m:a', 3, 12, 4);
  assert.equal(sendsOf(few, 12), 9, 'a forward to 3 members leaves 9');
  const many = new BroadcastQueue();
  many.enqueue('m:a', new Uint8Array([1, 2, 3]));
  many.credit('m:a', 30, 12, 4);
  assert.equal(sendsOf(many, 12), 4, 'however wide the forward, the queue still repeats it 4 times');
  // A credit never takes sends back, and an update no longer queued is left alone.
  const q = new BroadcastQueue();
  q.enqueue('m:a', new Uint8Array([1]));
  for (let i = 0; i < 10; i++) q.take(0, 1400, 12, 16);
  q.credit('m:a', 1, 12, 4);
  q.credit('m:gone', 5, 12, 4);
  assert.equal(sendsOf(q, 12), 2);
  assert.equal(q.size, 0);
});
