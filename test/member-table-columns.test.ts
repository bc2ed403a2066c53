/**
 * The column member table against the object table it replaced (helpers/object-member-table.ts):
 * the same random operations on both, with Rngs of one seed, must give the same records, the same
 * iteration order, the same samples, the same probe order and the same ring arcs; and its storage
 * must stay bounded while names come and go, as a daemon's members do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MemberRecord, MemberTable, viewOf } from '../protocol/member-table.js';
import type { MemberStatus } from '../protocol/messages.js';
import { Rng } from '../protocol/rng.js';
import { ObjectMemberTable } from './helpers/object-member-table.js';
import { reproduce, testSeed } from './helpers/seed.js';

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

function views(rs: Iterable<MemberRecord>): ReturnType<typeof viewOf>[] {
  return [...rs].map(viewOf);
}

/** Slots the column table holds, removed ones included. */
function slotsHeld(t: MemberTable): number {
  return (t as unknown as { cols: { length: number } }).cols.length;
}

test('member table: columns give the records, order, samples, probe order and arcs the object table gave', () => {
  const seed = testSeed(77);
  const ops = new Rng(seed);
  const table = new MemberTable('self', new Rng(seed + 1));
  const reference = new ObjectMemberTable('self', new Rng(seed + 1));
  const selfRecord = table.add({ name: 'self', host: '10.0.0.1', port: 7946, incarnation: 0, status: 'alive', changedAt: 0 });
  reference.add({ name: 'self', host: '10.0.0.1', port: 7946, incarnation: 0, status: 'alive', changedAt: 0 });
  let maxSlots = 0;
  let now = 0;
  for (let step = 0; step < 40_000; step++) {
    const at = `step ${step}${reproduce(seed)}`;
    now += ops.int(50) + 0.25;
    const roll = ops.next();
    const name = `m${ops.int(400)}`;
    const r = table.get(name);
    const ref = reference.get(name);
    assert.deepEqual(r === undefined ? undefined : viewOf(r), ref === undefined ? undefined : viewOf(ref), at);
    if (roll < 0.3) {
      if (ref !== undefined) continue;
      const host = `10.1.${ops.int(4)}.${step % 250}`;
      const rec = (): MemberRecord => ({
        name, host, port: 7000 + (step % 900), incarnation: step, status: STATUSES[step % 4] as MemberStatus, changedAt: now,
      });
      table.add(rec());
      reference.add(rec());
    } else if (roll < 0.5) {
      if (ref === undefined || r === undefined) continue;
      const status = STATUSES[ops.int(4)] as MemberStatus;
      const incarnation = ref.incarnation + ops.int(2);
      table.setStatus(r, status, incarnation, now);
      reference.setStatus(ref, status, incarnation, now);
      if (ops.next() < 0.2) {
        // An alive from a new address, as membership applies it.
        r.host = ref.host = `10.2.0.${step % 250}`;
        r.port = ref.port = 8000 + (step % 500);
      }
    } else if (roll < 0.7) {
      if (ref === undefined || r === undefined) continue;
      table.remove(name);
      reference.remove(name);
      // A record held across its removal reads what it last held, as a removed object did.
      assert.deepEqual(viewOf(r), viewOf(ref), at);
    } else if (roll < 0.85) {
      const k = 1 + ops.int(5);
      const want = STATUSES[ops.int(4)] as MemberStatus;
      const exclude = ops.next() < 0.3 ? name : undefined;
      const accept = (x: MemberRecord): boolean => x.status === want || x.port % 7 === 0;
      const got = table.sample(k, accept, exclude);
      assert.deepEqual(views(got), views(reference.sample(k, accept, exclude)), at);
    } else if (roll < 0.9) {
      // Mostly a status nobody has, as with dead members in a quiet cluster: the skipped draws.
      const want = ops.next() < 0.5 ? 'dead' : STATUSES[ops.int(4)] as MemberStatus;
      const exclude = ops.next() < 0.3 ? name : undefined;
      const got = table.sampleByStatus(1 + (step % 3), want, exclude);
      const ref = reference.sampleByStatus(1 + (step % 3), want, exclude);
      assert.deepEqual(views(got), views(ref), at);
      assert.ok(got.every((x) => x.status === want && x.name !== 'self' && x.name !== exclude), at);
      assert.equal(new Set(got.map((x) => x.name)).size, got.length, at);
    } else if (roll < 0.95) {
      const got = table.nextProbeTarget();
      const wantProbe = reference.nextProbeTarget();
      assert.deepEqual(got === null ? null : viewOf(got), wantProbe === null ? null : viewOf(wantProbe), at);
    } else {
      const lo = ops.nextU32();
      const arc = { lo, hi: (lo + ops.nextU32() / 4) >>> 0 };
      assert.deepEqual(views(table.inArc(arc, (x) => x.status !== 'left')), views(reference.inArc(arc, (x) => x.status !== 'left')), at);
    }
    assert.equal(table.size, reference.size, at);
    assert.equal(table.liveCount, reference.liveCount, at);
    if (step % 97 === 0) assert.deepEqual(views(table.values()), views(reference.values()), at);
    // Self is one record throughout, through every prune, as the node holds it.
    assert.equal(table.get('self'), selfRecord, at);
    maxSlots = Math.max(maxSlots, slotsHeld(table));
    assert.ok(slotsHeld(table) <= 2 * table.size + 17, `${at}: ${slotsHeld(table)} slots for ${table.size} members`);
  }
  assert.deepEqual(views(table.values()), views(reference.values()));
  assert.ok(maxSlots > 0);
});

test('member table: the self record is one object in get() and values(), and writes through it reach the table', () => {
  const table = new MemberTable('self', new Rng(5));
  for (let i = 0; i < 20; i++) table.add({ name: `a${i}`, host: 'h', port: 1, incarnation: 0, status: 'alive', changedAt: 0 });
  const self = table.add({ name: 'self', host: 'h', port: 2, incarnation: 0, status: 'alive', changedAt: 0 });
  // Enough removals for a prune, which moves every row.
  for (let i = 0; i < 20; i++) table.remove(`a${i}`);
  assert.ok(slotsHeld(table) < 21, `${slotsHeld(table)} slots after a prune`);
  assert.equal(table.get('self'), self);
  assert.equal([...table.values()][0], self);
  table.setStatus(self, 'left', 3, 10);
  assert.deepEqual(viewOf(table.get('self') as MemberRecord), { name: 'self', host: 'h', port: 2, incarnation: 3, status: 'left' });
  assert.equal(table.liveCount, 0);
});

/** Rng.sample as it was written before its shuffle stored only the positions it touched. */
function sampleAsBefore<T>(rng: Rng, items: readonly T[], k: number, accept: (item: T) => boolean): T[] {
  const out: T[] = [];
  if (k <= 0 || items.length === 0) return out;
  if (k * 4 < items.length) {
    const seen = new Set<number>();
    let attempts = 0;
    while (out.length < k && attempts < k * 8) {
      attempts++;
      const i = rng.int(items.length);
      if (seen.has(i)) continue;
      seen.add(i);
      const item = items[i] as T;
      if (accept(item)) out.push(item);
    }
    if (out.length === k) return out;
  }
  const idx = new Int32Array(items.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  out.length = 0;
  for (let i = 0; i < idx.length && out.length < k; i++) {
    const j = i + rng.int(idx.length - i);
    const tmp = idx[i] as number;
    idx[i] = idx[j] as number;
    idx[j] = tmp;
    const item = items[idx[i] as number] as T;
    if (accept(item)) out.push(item);
  }
  return out;
}

test('rng: sampling gives the picks and leaves the stream as before, for rare and common accepts', () => {
  const seed = testSeed(91);
  const ops = new Rng(seed);
  for (let round = 0; round < 3_000; round++) {
    const n = ops.int(300);
    const items = Array.from({ length: n }, (_, i) => i);
    const k = ops.int(6);
    // From nearly nobody accepted to nearly everybody, so both the draws and the shuffle are used.
    const share = [0, 0.002, 0.01, 0.1, 0.5, 1][ops.int(6)] as number;
    const accepted = new Set(items.filter(() => ops.next() < share));
    const a = new Rng(seed + round);
    const b = new Rng(seed + round);
    // Every tenth round samples from another stream inside accept: each shuffle must be its own.
    const other = new Rng(round);
    const nested = (x: number): boolean => {
      if (round % 10 === 0) other.sampleIndex(50, 40, (i) => i % 7 === 0);
      return accepted.has(x);
    };
    const got = a.sample(items, k, nested);
    assert.deepEqual(got, sampleAsBefore(b, items, k, (x) => accepted.has(x)), `round ${round}${reproduce(seed)}`);
    assert.equal(a.nextU32(), b.nextU32(), `round ${round}: stream${reproduce(seed)}`);
  }
});

test('member table: sampling by status finds only members with it, each about equally often, and none when nobody has it', () => {
  const seed = testSeed(11);
  const at = reproduce(seed);
  {
    const rng = new Rng(seed);
    const table = new MemberTable('self', rng);
    table.add({ name: 'self', host: 'h', port: 1, incarnation: 0, status: 'alive', changedAt: 0 });
    for (let i = 0; i < 1_000; i++) table.add({ name: `m${i}`, host: 'h', port: 2 + i, incarnation: 0, status: 'alive', changedAt: 0 });
    assert.deepEqual(table.sampleByStatus(1, 'dead'), [], at);
    const dead = [3, 150, 151, 400, 777, 999].map((i) => `m${i}`);
    for (const name of dead) table.setStatus(table.get(name) as MemberRecord, 'dead', 1, 5);
    // Re-added after removal: found once, at its current row.
    table.remove('m3');
    table.add({ name: 'm3', host: 'h', port: 9, incarnation: 2, status: 'dead', changedAt: 6 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 6_000; i++) {
      const [r] = table.sampleByStatus(1, 'dead', 'm999');
      assert.ok(r !== undefined && r.status === 'dead' && r.name !== 'm999', at);
      counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), dead.filter((n) => n !== 'm999').sort(), at);
    for (const [name, c] of counts) assert.ok(c > 1_000 && c < 1_400, `${name} picked ${c} times of 6,000 (5 candidates)${at}`);
    assert.equal(table.sampleByStatus(10, 'dead').length, dead.length, at);
  }
});
