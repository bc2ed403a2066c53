/**
 * Incarnations and catalog versions as 32-bit serial numbers: forged values at the top of the range
 * or far ahead can no longer stop an owner from refuting; accusations far ahead are refused and
 * counted; equal versions with different contents converge; a failing timer handler loses nothing
 * else. Single nodes fed crafted packets, and seeded simulations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import { Catalog } from '../protocol/catalog.js';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import type { GossipMsg, PacketMsg, ServiceMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { isNewer, newest, serialNext } from '../protocol/serial.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

const TOP = 0xffff_ffff;
const MALLORY: Address = { host: '10.9.9.9', port: 9999 };

function node(name: string, opts: { incarnation?: number; catalogRevision?: number } = {}): SwimNode {
  return new SwimNode({ name, host: '10.0.0.1', port: 7946, profile: PROFILES.lan, seed: 1, now: 0, ...opts });
}

/** A node `a` that knows member `b` alive at incarnation `inc`. */
function pair(inc: number): SwimNode {
  const a = node('a');
  a.handlePacket(10, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.0.0.2', port: 7946, incarnation: inc }));
  assert.equal(a.member('b')?.incarnation, inc);
  return a;
}

/** Every gossip part in the datagrams among `effects`. */
function sentParts(effects: readonly Effect[]): GossipMsg[] {
  const out: GossipMsg[] = [];
  for (const e of effects) {
    if (e.kind !== 'send') continue;
    const d = decodePacket(e.bytes);
    assert.ok(d.ok, 'every datagram the node sends decodes');
    if (d.value.type === 'compound') out.push(...d.value.parts);
    else out.push(d.value as GossipMsg);
  }
  return out;
}

function rejections(effects: readonly Effect[], reason: string): number {
  return effects.filter((e) => e.kind === 'rejected' && e.reason === reason).length;
}

/** Runs the node's timers for `ms`, collecting effects; throws if any input throws. */
function runTimers(n: SwimNode, from: number, ms: number): Effect[] {
  const out: Effect[] = [];
  let t = from;
  for (;;) {
    const next = n.nextDeadline();
    if (next === null || next > from + ms) break;
    t = Math.max(t, next);
    out.push(...n.tick(t));
  }
  return out;
}

function service(node: string, id: string, rev: number, port = 8080, deleted = false): ServiceMsg {
  return {
    type: 'service', node, id, rev, deleted, name: 'web', address: '10.0.0.5', port, tags: [], meta: [],
    version: '', weight: 1, health: 'passing', draining: false,
  };
}

test('serial arithmetic: the successor is always newer, across the wrap, and any two distinct values have exactly one newer', () => {
  for (const x of [0, 1, 2 ** 31 - 1, 2 ** 31, TOP - 1, TOP]) {
    assert.ok(isNewer(serialNext(x), x), `${x}+1`);
    assert.ok(!isNewer(x, serialNext(x)));
    assert.ok(!isNewer(x, x));
    assert.ok(serialNext(x) <= TOP);
  }
  assert.equal(serialNext(TOP), 0);
  assert.ok(isNewer(5, TOP - 5));
  assert.ok(!isNewer(TOP, 0), '0xffffffff is older than 0');
  for (const [a, b] of [[0, 2 ** 31], [7, 2 ** 31 + 7], [TOP, 2 ** 31 - 1], [3, 100]] as const) {
    assert.notEqual(isNewer(a, b), isNewer(b, a), `${a} vs ${b}`);
    assert.equal(newest(a, b), newest(b, a));
  }
});

for (const type of ['suspect', 'dead', 'alive'] as const) {
  for (const where of ['top', 'far'] as const) {
    test(`a forged ${type} about the node itself at ${where === 'top' ? '0xffffffff' : 'own + 2^31 - 1'}: it refutes with an encodable, newer incarnation and keeps running`, () => {
      const n = node('a', { incarnation: 7 });
      const forged = where === 'top' ? TOP : 7 + 2 ** 31 - 1;
      const msg: PacketMsg = type === 'alive'
        ? { type, name: 'a', host: '10.6.6.6', port: 1, incarnation: forged }
        : { type, name: 'a', incarnation: forged, from: 'mallory' };
      const effects = [...n.handlePacket(100, MALLORY, encodePacket(msg)), ...runTimers(n, 100, 5_000)];
      const own = n.self().incarnation;
      assert.ok(own <= TOP);
      assert.ok(isNewer(own, forged), `refuted above the forged value (own ${own})`);
      assert.equal(n.self().status, 'alive');
      const alives = sentParts(effects).filter((p) => p.type === 'alive' && p.name === 'a');
      assert.ok(alives.length > 0 || n.pendingBroadcasts() > 0, 'the refutation is sent or queued');
    });
  }
}

test('forged accusations about another member: 0xffffffff is older and changes nothing; far ahead is refused and counted', () => {
  for (const type of ['suspect', 'dead'] as const) {
    const a = pair(7);
    const top = a.handlePacket(100, MALLORY, encodePacket({ type, name: 'b', incarnation: TOP, from: 'mallory' }));
    assert.equal(rejections(top, 'implausible_incarnation'), 0, 'an older value is not news, not an attack');
    assert.deepEqual(a.member('b'), { name: 'b', host: '10.0.0.2', port: 7946, incarnation: 7, status: 'alive' });
    const far = a.handlePacket(200, MALLORY, encodePacket({ type, name: 'b', incarnation: 7 + 100_000, from: 'mallory' }));
    assert.equal(rejections(far, 'implausible_incarnation'), 1, `${type} far ahead refused`);
    assert.deepEqual(a.member('b'), { name: 'b', host: '10.0.0.2', port: 7946, incarnation: 7, status: 'alive' });
    // A plausible accusation still counts.
    a.handlePacket(300, MALLORY, encodePacket({ type, name: 'b', incarnation: 8, from: 'c' }));
    assert.equal(a.member('b')?.status, type);
  }
});

test('an alive about another member far ahead is taken (the owner must be able to outbid any claim), and the owner\'s answer across the wrap is taken too', () => {
  const a = pair(7);
  a.handlePacket(100, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.6.6.6', port: 1, incarnation: TOP }));
  assert.equal(a.member('b')?.incarnation, 7, '0xffffffff is older than 7: ignored');
  // At another address the claim is refused while b is alive (one name, one live address)...
  a.handlePacket(105, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.6.6.6', port: 1, incarnation: 7 + 2 ** 31 - 1 }));
  assert.equal(a.member('b')?.port, 7946);
  // ...at b's own address it is taken, however far ahead.
  a.handlePacket(110, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.0.0.2', port: 7946, incarnation: 7 + 2 ** 31 - 1 }));
  assert.equal(a.member('b')?.incarnation, 7 + 2 ** 31 - 1);
  // b outbids it: the successor, which wraps past 2^32 for a claim near the top.
  a.handlePacket(120, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.0.0.2', port: 7946, incarnation: 7 + 2 ** 31 }));
  assert.deepEqual(a.member('b'), { name: 'b', host: '10.0.0.2', port: 7946, incarnation: 7 + 2 ** 31, status: 'alive' });
  const w = pair(TOP);
  w.handlePacket(100, MALLORY, encodePacket({ type: 'suspect', name: 'b', incarnation: TOP, from: 'c' }));
  w.handlePacket(110, MALLORY, encodePacket({ type: 'alive', name: 'b', host: '10.0.0.2', port: 7946, incarnation: 0 }));
  assert.equal(w.member('b')?.status, 'alive', 'the refutation at 0 beats the suspicion at 0xffffffff');
  assert.equal(w.member('b')?.incarnation, 0);
});

test('own-entry echoes at 0xffffffff and far ahead: re-issued above the claim, encodable, and the other own entries stay updatable', () => {
  const n = node('a');
  n.registerService(10, { id: 'web', name: 'web', address: '10.0.0.5', port: 8080 });
  n.registerService(11, { id: 'db', name: 'db', address: '10.0.0.5', port: 5432 });
  const webRev = n.serviceRevision('a', 'web');
  const dbRev = n.serviceRevision('a', 'db');
  // 0xffffffff about a held entry is older than its version: nothing happens.
  n.handlePacket(20, MALLORY, encodePacket(service('a', 'web', TOP, 1)));
  assert.equal(n.serviceRevision('a', 'web'), webRev);
  // About an entry we do not have: a tombstone at its successor, 0.
  n.handlePacket(21, MALLORY, encodePacket(service('a', 'ghost', TOP, 1)));
  assert.equal(n.serviceRevision('a', 'ghost'), 0);
  assert.ok(!n.services().some((s) => s.id === 'ghost'));
  // Far ahead (but newer): re-issued above it, with our content.
  const far = (webRev + 2 ** 31 - 1) % 2 ** 32;
  n.handlePacket(22, MALLORY, encodePacket(service('a', 'web', far, 1)));
  const reissued = n.serviceRevision('a', 'web');
  assert.ok(isNewer(reissued, far));
  assert.equal(n.services().find((s) => s.id === 'web')?.port, 8080);
  // The counter did not jump with it: the other entry's next version is still newer than its own.
  const db = n.updateService(30, 'db', { health: 'warning' });
  assert.ok(isNewer(db.value, dbRev), `db ${dbRev} -> ${db.value}`);
  const web = n.updateService(31, 'web', { health: 'warning' });
  assert.ok(isNewer(web.value, reissued), `web ${reissued} -> ${web.value}`);
  assert.ok(n.catalogRevision() <= TOP);
  runTimers(n, 31, 5_000);
});

test('catalog versions across the wrap: 0 replaces 0xffffffff; equal versions with different content resolve the same way everywhere', () => {
  const c = new Catalog();
  c.put(service('o', 'x', TOP, 1), 0);
  assert.equal(c.put(service('o', 'x', 0, 2), 1).stored, true);
  assert.equal(c.get('o', 'x')?.port, 2);
  assert.equal(c.put(service('o', 'x', TOP, 3), 2).stored, false);
  const p = new Catalog();
  const q = new Catalog();
  p.put(service('o', 'y', 5, 1000), 0);
  p.put(service('o', 'y', 5, 2000), 0);
  q.put(service('o', 'y', 5, 2000), 0);
  q.put(service('o', 'y', 5, 1000), 0);
  assert.deepEqual(p.get('o', 'y'), q.get('o', 'y'), 'arrival order does not matter');
  assert.equal(p.put(service('o', 'y', 5, p.get('o', 'y')?.port), 0).stored, false, 'the same entry again is not a change');
});

test('a failing timer handler: the other deadlines of the tick still run, and its half-built effects are dropped', () => {
  const a = pair(7);
  a.handlePacket(100, MALLORY, encodePacket({ type: 'suspect', name: 'b', incarnation: 7, from: 'c' }));
  // Test-only fault: the suspicion handler queues a datagram, then throws.
  const marker: Effect = { kind: 'send', to: { host: '10.66.66.66', port: 1 }, bytes: new Uint8Array([1]) };
  const inner = a as unknown as { ctx: { out: Effect[] }; membership: { onSuspicionTimeout: (name: string) => void } };
  inner.membership.onSuspicionTimeout = () => {
    inner.ctx.out.push(marker);
    throw new Error('injected');
  };
  const late = 10 * 60_000;
  const effects = a.tick(late);
  assert.equal(rejections(effects, 'internal_error'), 1, 'the failure is reported');
  assert.ok(!effects.includes(marker), 'the failed handler\'s effects are dropped');
  const next = a.nextDeadline();
  assert.ok(next !== null && next > late, 'periodic timers popped in the same tick were re-armed (they ran)');
  assert.ok(effects.some((e) => e.kind === 'send'), 'the probe due in the same tick went out');
  assert.ok(!a.tick(late + 1).includes(marker));
});

test('an input that throws leaves nothing behind for the next input', () => {
  const a = pair(7);
  const marker: Effect = { kind: 'send', to: { host: '10.66.66.66', port: 1 }, bytes: new Uint8Array([1]) };
  const inner = a as unknown as { ctx: { out: Effect[] }; membership: { applyAlive: (m: unknown) => void } };
  inner.membership.applyAlive = () => {
    inner.ctx.out.push(marker);
    throw new Error('injected');
  };
  assert.throws(() => a.handlePacket(100, MALLORY, encodePacket({ type: 'alive', name: 'c', host: '10.0.0.3', port: 1, incarnation: 1 })));
  const next = a.handlePacket(101, MALLORY, encodePacket({ type: 'nack', seq: 1 }));
  assert.ok(!next.includes(marker));
});

function settled(n: number, seed: number): { sim: Simulator; names: string[] } {
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, loss: 0, recordEvents: false });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  return { sim, names };
}

function forge(sim: Simulator, at: string, msg: PacketMsg): void {
  sim.act(at, (node, now) => node.handlePacket(now, MALLORY, encodePacket(msg)));
}

/** Every node sees `victim` alive at the victim's own incarnation. */
function ownerWon(sim: Simulator, names: readonly string[], victim: string): boolean {
  const own = sim.node(victim).self().incarnation;
  return names.every((o) => {
    const m = sim.node(o).member(victim);
    return m !== undefined && m.status === 'alive' && m.incarnation === own;
  });
}

test('simulated cluster: forged claims at 0xffffffff and far ahead, sent to the victim and to others; the victim stays refutable and alive everywhere', () => {
  const seed = testSeed(4101);
  const { sim, names } = settled(10, seed);
  const victim = names[4] as string;
  const other = names[2] as string;
  const inc = (): number => sim.node(victim).self().incarnation;
  const steps: [string, string, () => PacketMsg][] = [
    ['suspect 0xffffffff to a peer', other, () => ({ type: 'suspect', name: victim, incarnation: TOP, from: 'mallory' })],
    ['suspect 0xffffffff to the victim', victim, () => ({ type: 'suspect', name: victim, incarnation: TOP, from: 'mallory' })],
    ['dead far ahead to the victim', victim, () => ({ type: 'dead', name: victim, incarnation: (inc() + 2 ** 31 - 1) % 2 ** 32, from: 'mallory' })],
    // Then an accusation at exactly the incarnation the peers hold: the victim must still win.
    ['suspect at the held incarnation to a peer', other, () => ({ type: 'suspect', name: victim, incarnation: sim.node(other).member(victim)?.incarnation ?? 0, from: 'mallory' })],
    ['alive far ahead at another address to a peer', other, () => ({ type: 'alive', name: victim, host: '10.6.6.6', port: 1, incarnation: (inc() + 2 ** 30) % 2 ** 32 })],
    ['dead far ahead to a peer', other, () => ({ type: 'dead', name: victim, incarnation: (inc() + 2 ** 20) % 2 ** 32, from: 'mallory' })],
  ];
  for (const [what, at, msg] of steps) {
    forge(sim, at, msg());
    const won = sim.runUntilCondition(() => ownerWon(sim, names, victim), 30_000, 10);
    assert.notEqual(won, null, `${what}: the victim is alive everywhere at its own incarnation` + reproduce(seed));
    sim.runFor(2_000);
  }
  // A genuine suspicion afterwards is still refuted.
  sim.pause(victim, 1_500);
  sim.runFor(2_000);
  assert.notEqual(sim.runUntilCondition(() => ownerWon(sim, names, victim), 30_000, 10), null, 'refutes a real suspicion' + reproduce(seed));
});

test('simulated cluster: a node whose incarnation passes 2^32 keeps refuting and stays alive everywhere', () => {
  const seed = testSeed(4102);
  const { sim, names } = settled(8, seed);
  const victim = names[3] as string;
  sim.restart(victim, { incarnation: TOP - 1, seeds: [names[0] as string] });
  assert.notEqual(sim.runUntilCondition(() => ownerWon(sim, names, victim), 30_000, 10), null, 'rejoined' + reproduce(seed));
  for (let i = 0; i < 4; i++) {
    sim.pause(victim, 1_500);
    sim.runFor(2_000);
    assert.notEqual(sim.runUntilCondition(() => ownerWon(sim, names, victim), 30_000, 10), null, `round ${i}` + reproduce(seed));
  }
  const own = sim.node(victim).self().incarnation;
  assert.ok(own < TOP - 1, `wrapped past 2^32 (now ${own})`);
});

test('simulated cluster: an owner that lost its catalog reuses a version with new content; every node ends with the owner\'s content', () => {
  const seed = testSeed(4103);
  const { sim, names } = settled(12, seed);
  const owner = names[5] as string;
  const port = (o: string): number | undefined => sim.node(o).services().find((s) => s.node === owner && s.id === 'web')?.port;
  sim.act(owner, (node, now) => node.registerService(now, { id: 'web', name: 'web', address: '10.0.0.5', port: 8080 }).effects);
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => port(o) === 8080), 10_000, 5), null, 'spread' + reproduce(seed));
  const oldRev = sim.node(names[0] as string).serviceRevision(owner, 'web');
  // A new process without its saved catalog registers again before it rejoins: same version, new content.
  sim.restart(owner);
  sim.act(owner, (node, now) => node.registerService(now, { id: 'web', name: 'web', address: '10.0.0.5', port: 9090 }).effects);
  assert.equal(sim.node(owner).serviceRevision(owner, 'web'), oldRev, 'the scenario reuses the version');
  sim.join(owner, [names[0] as string]);
  const at = sim.runUntilCondition(() => names.every((o) => port(o) === 9090), 60_000, 10);
  assert.notEqual(at, null, `every node holds the owner's content (holding: ${names.map((o) => port(o)).join(',')})` + reproduce(seed));
});

test('a barrier question about an entry not held is answered with a version older than the one asked, past 2^31 too', () => {
  const b = node('b');
  for (const asked of [5, 2 ** 31 + 11, TOP, 0]) {
    const effects = b.handlePacket(10, MALLORY, encodePacket({ type: 'confirm-request', reqId: 1, owner: 'a', id: 'web', rev: asked, from: 'a' }));
    const answer = sentParts(effects).find((p) => p.type === 'confirm');
    assert.ok(answer !== undefined && answer.type === 'confirm');
    assert.ok(isNewer(asked, answer.rev), `asked ${asked}, answered ${answer.rev}: must not read as a confirmation`);
  }
});
