/**
 * The deadline heap on its own: the earliest deadline first, a key set again replaces its
 * deadline, a cleared key never fires, ties fire in the order they were set.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deadlines } from '../protocol/timers.js';
import { deadlineKey as k, dueDeadlines as due } from './helpers/core-api.js';
import { mulberry32 } from './helpers/rng.js';
import { reproduce, testSeed } from './helpers/seed.js';

test('an empty heap has no next deadline and nothing due', () => {
  const d = new Deadlines();
  assert.equal(d.next(), null);
  assert.deepEqual(due(d, 1e12), []);
});

test('deadlines come due earliest first, and only those at or before now', () => {
  const d = new Deadlines();
  d.set(k('c'), 30);
  d.set(k('a'), 10);
  d.set(k('b'), 20);
  d.set(k('d'), 40);
  assert.equal(d.next(), 10);
  assert.deepEqual(due(d, 9), [], 'nothing is due before the earliest deadline');
  assert.deepEqual(due(d, 30), [{ key: k('a'), at: 10 }, { key: k('b'), at: 20 }, { key: k('c'), at: 30 }], 'a deadline exactly at now is due');
  assert.equal(d.next(), 40);
  assert.ok(!d.has(k('a')) && !d.has(k('c')), 'a deadline that came due is gone');
  assert.ok(d.has(k('d')));
  assert.deepEqual(due(d, 30), [], 'a deadline comes due once');
});

test('setting a key again replaces its deadline, later or earlier', () => {
  const d = new Deadlines();
  d.set(k('x'), 10);
  d.set(k('y'), 20);
  d.set(k('x'), 50);
  assert.equal(d.next(), 20, 'the replaced earlier deadline no longer counts');
  assert.deepEqual(due(d, 49), [{ key: k('y'), at: 20 }]);
  d.set(k('x'), 5);
  assert.equal(d.next(), 5, 'an earlier replacement moves the key forward');
  assert.deepEqual(due(d, 100), [{ key: k('x'), at: 5 }], 'the key fires once, at its last deadline');
  assert.equal(d.next(), null);
});

test('a cleared key never fires, and clearing an unknown key is harmless', () => {
  const d = new Deadlines();
  d.set(k('x'), 10);
  d.set(k('y'), 20);
  d.clear(k('x'));
  d.clear(k('never-set'));
  assert.ok(!d.has(k('x')));
  assert.equal(d.next(), 20);
  assert.deepEqual(due(d, 100), [{ key: k('y'), at: 20 }]);
  d.set(k('x'), 30);
  assert.deepEqual(due(d, 100), [{ key: k('x'), at: 30 }], 'a cleared key can be set again');
});

test('deadlines at the same time fire in the order they were set', () => {
  const d = new Deadlines();
  for (const label of ['e', 'b', 'd', 'a', 'c']) d.set(k(label), 100);
  d.set(k('b'), 100); // set again: now the last of the tie
  assert.deepEqual(due(d, 100).map((e) => e.key), ['e', 'd', 'a', 'c', 'b'].map(k));
});

test('many replacements and clears (lazy deletion) leave exactly the live deadlines, in order', () => {
  const seed = testSeed(0xdead1);
  const random = mulberry32(seed);
  const d = new Deadlines();
  const model = new Map<string, { at: number; order: number }>();
  let order = 0;
  for (let i = 0; i < 5_000; i++) {
    const label = `t${Math.floor(random() * 50)}`;
    if (random() < 0.2) {
      d.clear(k(label));
      model.delete(label);
    } else {
      const at = Math.floor(random() * 1_000);
      d.set(k(label), at);
      model.set(label, { at, order: order++ });
    }
  }
  const expected = [...model].sort((a, b) => a[1].at - b[1].at || a[1].order - b[1].order);
  assert.equal(d.next(), expected[0]?.[1].at ?? null, reproduce(seed));
  const fired = due(d, 500);
  assert.deepEqual(fired, expected.filter(([, v]) => v.at <= 500).map(([label, v]) => ({ key: k(label), at: v.at })), reproduce(seed));
  const rest = due(d, Number.POSITIVE_INFINITY);
  assert.deepEqual(rest, expected.filter(([, v]) => v.at > 500).map(([label, v]) => ({ key: k(label), at: v.at })), reproduce(seed));
  assert.equal(d.next(), null);
});
