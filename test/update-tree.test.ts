/**
 * The relay ring and the update tree: arcs, splitting, and that a whole tree built the way every
 * node builds its part of it sends each member a fresh update exactly once; the packing of a
 * batch; measured proximity.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket, encodePart } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import { firstAfter, forEachInArc, type MemberRecord, MemberTable } from '../protocol/member-table.js';
import { PROXIMITY_NEAR_FACTOR, PROXIMITY_NEAR_SLACK_MS } from '../protocol/profiles.js';
import { Proximity } from '../protocol/proximity.js';
import { arcAround, arcKey, inArc, relayFanout, type RelayArc, ringPosition, splitArc } from '../protocol/ring.js';
import { Rng } from '../protocol/rng.js';
import { pack } from '../protocol/update-tree.js';
import { reproduce, testSeed } from './helpers/seed.js';

test('arcs are half-open, run clockwise and wrap; lo === hi is empty on the wire', () => {
  const arc = (lo: number, hi: number): RelayArc => ({ lo, hi });
  assert.equal(inArc(10, arc(5, 10)), true);
  assert.equal(inArc(5, arc(5, 10)), false);
  assert.equal(inArc(11, arc(5, 10)), false);
  // Wrapping past the top of the ring.
  assert.equal(inArc(0xffff_fff0, arc(0xffff_ff00, 3)), true);
  assert.equal(inArc(2, arc(0xffff_ff00, 3)), true);
  assert.equal(inArc(4, arc(0xffff_ff00, 3)), false);
  assert.equal(inArc(7, arc(7, 7)), false);
  // An origin's arc: everything but its own position.
  assert.equal(inArc(7, arcAround(7)), false);
  assert.equal(inArc(8, arcAround(7)), true);
  assert.equal(inArc(6, arcAround(7)), true);
  assert.equal(inArc(0, arcAround(0)), false);
  assert.equal(inArc(0xffff_ffff, arcAround(0)), true);
  assert.notEqual(arcKey(arc(1, 2)), arcKey(arc(2, 1)));
});

test('ring positions are 32-bit, fixed by the name alone', () => {
  assert.equal(ringPosition('node-1'), ringPosition('node-1'));
  assert.notEqual(ringPosition('node-1'), ringPosition('node-2'));
  for (const name of ['', 'a', 'ü-名前', 'x'.repeat(128)]) {
    const p = ringPosition(name);
    assert.ok(Number.isInteger(p) && p >= 0 && p <= 0xffff_ffff, `${name}: ${p}`);
  }
});

test('forEachInArc visits the sorted positions on an arc clockwise from its start', () => {
  const pos = [10, 20, 30, 40, 50];
  const seen = (arc: RelayArc): number[] => {
    const out: number[] = [];
    forEachInArc(pos, arc, (i) => out.push(pos[i] as number));
    return out;
  };
  assert.deepEqual(seen({ lo: 15, hi: 40 }), [20, 30, 40]);
  assert.deepEqual(seen({ lo: 45, hi: 20 }), [50, 10, 20]);
  assert.deepEqual(seen({ lo: 30, hi: 30 }), []);
  assert.deepEqual(seen(arcAround(30)), [40, 50, 10, 20]);
  assert.equal(firstAfter(pos, 50), 5);
  assert.equal(firstAfter(pos, 9), 0);
});

test('the fanout of a step is bounded, and two steps reach relayFanoutMax² members', () => {
  assert.equal(relayFanout(1), 1);
  assert.equal(relayFanout(LIMITS.relayFanoutMax), LIMITS.relayFanoutMax);
  assert.equal(relayFanout(2000), 45);
  for (const c of [65, 1000, 4096, 1_000_000]) assert.ok(relayFanout(c) <= LIMITS.relayFanoutMax, `${c}`);
});

/**
 * Builds the whole tree from `origin` as the nodes would, each splitting the arc it was handed over
 * the members it knows (one table here, whose own member is the origin: every node knows the same
 * members, and each leaves itself out).
 */
function runTree(names: readonly string[], origin: string, seed: number): Map<string, number> {
  const rng = new Rng(seed);
  const table = new MemberTable(origin, new Rng(seed));
  for (const m of names) table.add({ name: m, host: m, port: 1, incarnation: 0, status: 'alive', changedAt: 0 });
  const received = new Map<string, number>();
  const work: { node: string; arc: RelayArc }[] = [{ node: origin, arc: arcAround(ringPosition(origin)) }];
  while (work.length > 0) {
    const { node, arc } = work.pop() as { node: string; arc: RelayArc };
    const members = table.inArc(arc, (r) => r.name !== node);
    const choose = (chunk: readonly MemberRecord[]): MemberRecord => chunk[rng.int(chunk.length)] as MemberRecord;
    for (const step of splitArc(arc, members, (m) => ringPosition(m.name), choose, ringPosition(node))) {
      received.set(step.to.name, (received.get(step.to.name) ?? 0) + 1);
      if (step.arc !== null) work.push({ node: step.to.name, arc: step.arc });
    }
  }
  return received;
}

test('the update tree sends every member other than the origin the update exactly once', () => {
  const seed = testSeed(4101);
  const rng = new Rng(seed);
  for (const n of [1, 2, 3, 64, 65, 500, 5000]) {
    const names = Array.from({ length: n }, (_, i) => `n${i}-${rng.nextU32().toString(36)}`);
    const origin = names[rng.int(n)] as string;
    const received = runTree(names, origin, seed + n);
    assert.equal(received.has(origin), false, `n=${n}: the origin is sent its own update` + reproduce(seed));
    assert.equal(received.size, n - 1, `n=${n}: ${received.size} of ${n - 1} members reached` + reproduce(seed));
    for (const [name, k] of received) assert.equal(k, 1, `n=${n}: ${name} was sent ${k} copies` + reproduce(seed));
  }
});

test('a chunk of one member is a leaf; larger chunks carry the arc they cover', () => {
  const members = Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, p: (i + 1) * 100 }));
  const steps = splitArc({ lo: 50, hi: 2000 }, members, (m) => m.p, (c) => c[0] as (typeof c)[number], 3000);
  assert.equal(steps.length, 10);
  for (const s of steps) assert.equal(s.arc, null);
  const many = Array.from({ length: 100 }, (_, i) => ({ name: `m${i}`, p: (i + 1) * 10 }));
  const split = splitArc({ lo: 5, hi: 5000 }, many, (m) => m.p, (c) => c[0] as (typeof c)[number], 9000);
  assert.equal(split.length, relayFanout(100));
  // Consecutive arcs meet end to start and together span the arc handed down.
  const arcs = split.map((s) => s.arc as { lo: number; hi: number });
  assert.equal(arcs[0]?.lo, 5);
  assert.equal(arcs[arcs.length - 1]?.hi, 5000);
  for (let i = 1; i < arcs.length; i++) assert.equal(arcs[i]?.lo, arcs[i - 1]?.hi);
});

test('a batch is packed with the relay arc leading every packet, within the packet size', () => {
  const head = encodePart({ type: 'relay', lo: 1, hi: 2 });
  const parts = Array.from({ length: 30 }, (_, i) => encodePart({ type: 'have', node: 'n'.repeat(100), id: `web-${i}-${'x'.repeat(80)}`, rev: i }));
  const packets = pack(head, parts, 1400);
  assert.ok(packets.length > 1 && packets.length <= LIMITS.forwardPacketsMax);
  for (const p of packets) {
    assert.ok(p.length <= 1400, `${p.length} bytes`);
    const d = decodePacket(p);
    assert.ok(d.ok && d.value.type === 'compound');
    if (d.value.type === 'compound') assert.deepEqual(d.value.parts[0], { type: 'relay', lo: 1, hi: 2 }, 'the relay arc leads every packet');
  }
  assert.deepEqual(pack(null, [], 1400), []);
});

test('proximity: smoothed round trips, near members relative to the nearest, and a bound', () => {
  const p = new Proximity(new Rng(1), 3);
  p.observe('a', 2);
  p.observe('b', 100);
  p.observe('c', 5);
  assert.equal(p.rttOf('a'), 2);
  p.observe('a', 10);
  assert.equal(p.rttOf('a'), 3);
  assert.equal(p.nearThresholdMs(), 3 * PROXIMITY_NEAR_FACTOR + PROXIMITY_NEAR_SLACK_MS);
  assert.deepEqual(p.sampleNear(5, () => true).sort(), ['a', 'c']);
  assert.deepEqual(p.sampleNear(5, (n) => n !== 'a'), ['c']);
  // Bounded: the member measured longest ago goes first.
  p.observe('d', 1);
  assert.equal(p.size, 3);
  assert.equal(p.rttOf('b'), undefined);
  p.observe('e', Number.NaN);
  assert.equal(p.rttOf('e'), undefined);
  p.forget('d');
  assert.equal(p.nearThresholdMs(), 3 * PROXIMITY_NEAR_FACTOR + PROXIMITY_NEAR_SLACK_MS);
});

test('decoding: a packet led by a relay arc decodes to it', () => {
  const [bytes] = pack(encodePart({ type: 'relay', lo: 7, hi: 9 }), [encodePart({ type: 'nack', seq: 1 })], 1400);
  const d = decodePacket(bytes as Uint8Array);
  assert.ok(d.ok);
  assert.equal(d.value.type, 'compound');
  if (d.value.type !== 'compound') return;
  assert.deepEqual(d.value.parts[0], { type: 'relay', lo: 7, hi: 9 });
  assert.deepEqual(d.value.parts[1], { type: 'nack', seq: 1 });
});
