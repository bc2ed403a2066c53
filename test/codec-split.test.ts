/**
 * Wire format of the split messages (types 16–18) and of the splits in a push-pull state: round
 * trips, the split rules enforced at decode (hostile input is refused, never held), and an older
 * agent's state without splits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decodePacket, decodePushPull, encodePacket, encodePart, encodePushPull } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import type { PushPullMsg, SplitMsg } from '../protocol/messages.js';
import { checkSplitRequest, SplitError, splitSupersedes } from '../protocol/splits.js';
import { compareWrites, HybridClock } from '../protocol/hlc.js';

const split: SplitMsg = { type: 'split', service: 'app', wallMs: 1_700_000_000_000, counter: 3, writer: 'n1', cleared: false, weights: [['v1', 90], ['v2', 10]] };
const packr = new Packr({ useRecords: false });

function raw(type: number, body: unknown): Uint8Array {
  return Uint8Array.from([1, type, ...packr.pack(body)]);
}

test('split messages round-trip, alone, in a compound and in a push-pull state', () => {
  const cleared: SplitMsg = { ...split, cleared: true, weights: [] };
  for (const m of [split, cleared]) {
    const back = decodePacket(encodePacket(m));
    assert.ok(back.ok);
    assert.deepStrictEqual(back.value, m);
  }
  const ask = { type: 'split-confirm-request', reqId: 7, service: 'app', from: 'n2', life: 9 } as const;
  const answer = { type: 'split-confirm', reqId: 7, service: 'app', wallMs: 5, counter: 1, writer: '', from: 'n3', life: 9 } as const;
  const c = decodePacket(encodePacket({ type: 'compound', parts: [split, ask, answer] }));
  assert.ok(c.ok);
  assert.deepStrictEqual(c.value, { type: 'compound', parts: [split, ask, answer] });
  const pp: PushPullMsg = { type: 'push-pull', join: false, source: 'a', members: [], services: [], splits: [split, { ...cleared, service: 'db' }] };
  const d = decodePushPull(encodePushPull(pp));
  assert.ok(d.ok);
  assert.deepStrictEqual(d.value, pp);
  // An older agent's state has no splits.
  const old = decodePushPull(raw(10, [false, 'a', [], []]));
  assert.ok(old.ok);
  assert.equal(old.value.splits, undefined);
});

test('a split that breaks the rules is refused at decode', () => {
  const fields = (over: Partial<Record<'service' | 'weights' | 'cleared', unknown>>): unknown[] =>
    [over.service ?? 'app', 1, 0, 'n1', over.cleared ?? false, over.weights ?? [['v1', 100]]];
  const bad: [unknown[], RegExp][] = [
    [fields({ weights: [['v1', 90]] }), /sum to 90/],
    [fields({ weights: [['v1', 50], ['v1', 50]] }), /twice/],
    [fields({ weights: [['v1', 101], ['v2', -1]] }), /percent/],
    [fields({ weights: [['v1', 50.5], ['v2', 49.5]] }), /percent/],
    [fields({ weights: [] }), /no version/],
    [fields({ cleared: true }), /cleared split/],
    [fields({ weights: [['x'.repeat(LIMITS.splitVersionBytesMax + 1), 100]] }), /version/],
    [fields({ weights: Array.from({ length: LIMITS.splitVersionsMax + 1 }, (_, i) => [`v${i}`, i === 0 ? 100 : 0]) }), /exceed/],
    [fields({ service: '' }), /split.service/],
  ];
  for (const [f, why] of bad) {
    const r = decodePacket(raw(16, f));
    assert.equal(r.ok, false, JSON.stringify(f).slice(0, 80));
    if (!r.ok) assert.match(r.detail, why);
  }
  assert.throws(() => encodePart({ ...split, weights: [['v1', 90]] }), RangeError);
  assert.equal(decodePushPull(raw(10, [false, 'a', [], [], null, null, Array.from({ length: LIMITS.splitsMax + 1 }, () => fields({}))])).ok, false);
});

test('local split requests: clear messages naming the fault', () => {
  assert.deepEqual(checkSplitRequest('app', { v2: 10, v1: 90 }), [['v1', 90], ['v2', 10]]);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ v1: 90 }, /sum to 90/],
    [{ v1: -10, v2: 110 }, /whole percentage/],
    [{ v1: 99.5, v2: 0.5 }, /whole percentage/],
    [{ v1: '100' }, /whole percentage/],
    [{ ['x'.repeat(65)]: 100 }, /1 to 64 bytes/],
    [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`v${i}`, i === 0 ? 100 : 0])), /at most 16/],
    [{}, /no version/],
  ];
  for (const [w, why] of cases) assert.throws(() => checkSplitRequest('app', w), (e: unknown) => e instanceof SplitError && why.test(e.message));
});

test('the hybrid clock: above every stamp seen, with the writer as the last tie-break', () => {
  const c = new HybridClock();
  const a = c.next(1000);
  const b = c.next(1000);
  assert.ok(b.counter === a.counter + 1 && b.wallMs === 1000);
  c.observe({ wallMs: 5000, counter: 7 });
  const d = c.next(2000);
  assert.deepEqual(d, { wallMs: 5000, counter: 8 }, 'a clock behind what it saw still stamps above it');
  assert.deepEqual(c.next(6000), { wallMs: 6000, counter: 0 });
  const x = { wallMs: 1, counter: 1, writer: 'a' };
  const y = { wallMs: 1, counter: 1, writer: 'b' };
  assert.ok(compareWrites(x, y) < 0 && compareWrites(y, x) > 0);
  assert.ok(splitSupersedes({ ...split, writer: 'b' }, { ...split, writer: 'a' }));
  assert.ok(!splitSupersedes({ ...split, writer: 'a' }, { ...split, writer: 'b' }));
});
