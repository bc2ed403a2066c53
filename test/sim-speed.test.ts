/**
 * What makes the simulator fast must not change a single outcome: member sampling from records
 * draws exactly as sampling from names did, a reconnect state encoded when first read is the
 * eager encoding byte for byte, and the simulator leaves a request to a crashed peer unencoded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import { type MemberRecord, MemberTable, viewOf } from '../protocol/member-table.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { Rng } from '../protocol/rng.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

/** The sampling MemberTable did before: over names in insertion order, pruned lazily, one lookup per candidate. */
class NameSampler {
  private readonly records = new Map<string, MemberRecord>();
  private names: string[] = [];
  constructor(private readonly self: string, private readonly rng: Rng) {}
  add(r: MemberRecord): void {
    this.records.set(r.name, r);
    this.names.push(r.name);
  }
  remove(name: string): void {
    this.records.delete(name);
    if (this.names.length > 2 * this.records.size + 16) this.names = this.names.filter((n) => this.records.has(n));
  }
  sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[] {
    const picked = this.rng.sample(this.names, k, (name) => {
      if (name === this.self || name === exclude) return false;
      const r = this.records.get(name);
      return r !== undefined && accept(r);
    });
    return [...new Set(picked)].map((n) => this.records.get(n) as MemberRecord);
  }
}

test('member sampling: the same draws and picks as sampling by name, through removals and re-adds', () => {
  const seed = testSeed(2024);
  const ops = new Rng(seed);
  const table = new MemberTable('self', new Rng(seed + 1));
  const reference = new NameSampler('self', new Rng(seed + 1));
  const self: MemberRecord = { name: 'self', host: '10.0.0.1', port: 1, incarnation: 0, status: 'dead', changedAt: 0 };
  table.add(self);
  reference.add(self);
  const present = new Set<string>();
  for (let step = 0; step < 20_000; step++) {
    const roll = ops.next();
    const name = `m${ops.int(300)}`;
    if (roll < 0.45) {
      if (present.has(name)) continue;
      // Not live: adding a live member draws its probe position from the table's Rng, which the
      // reference does not model (the draws compared here are the sampling's).
      const r: MemberRecord = { name, host: '10.0.0.2', port: 1, incarnation: 0, status: ops.next() < 0.2 ? 'dead' : 'left', changedAt: 0 };
      table.add(r);
      reference.add(r);
      present.add(name);
    } else if (roll < 0.75) {
      if (!present.has(name)) continue;
      table.remove(name);
      reference.remove(name);
      present.delete(name);
    } else {
      const k = 1 + ops.int(4);
      const wantDead = ops.next() < 0.5;
      const exclude = ops.next() < 0.3 ? name : undefined;
      const accept = (r: MemberRecord): boolean => (r.status === 'dead') === wantDead;
      const got = table.sample(k, accept, exclude);
      const want = reference.sample(k, accept, exclude);
      assert.deepEqual(got.map((r) => r.name), want.map((r) => r.name), `step ${step}${reproduce(seed)}`);
      assert.deepEqual(got.map(viewOf), want.map(viewOf), `step ${step}: same records${reproduce(seed)}`);
    }
  }
});

/**
 * These scenarios are about how reconnect requests are encoded and read, not failure detection: they
 * keep the fixed probe timeout they were built on, so the set of members found dead stays the same.
 */
const FIXED_LAN = { ...PROFILES.lan, rto: null };

/** Push-pull requests the node makes, each read as a driver does: right after the input that made it. */
function reconnectRequests(lazy: boolean, seed: number): { to: string; bytes: Uint8Array }[] {
  const node = new SwimNode({ name: 'a', host: '10.0.0.1', port: 7946, profile: FIXED_LAN, seed, now: 0, lazyReconnectState: lazy });
  node.preload(Array.from({ length: 40 }, (_, i) => ({ name: `m${i}`, host: `10.0.1.${i + 1}`, port: 7946, incarnation: i % 3, status: 'alive' as const })));
  // One member dead, so the reconnect tick has someone to try; its age travels in the state.
  node.handlePacket(5, { host: '10.0.1.1', port: 7946 }, encodePacket({ type: 'dead', name: 'm7', incarnation: 1, from: 'm0' }));
  const requests: { to: string; bytes: Uint8Array }[] = [];
  for (let next = node.nextDeadline(); next !== null && next <= 20_000; next = node.nextDeadline()) {
    for (const e of node.tick(next)) if (e.kind === 'push-pull') requests.push({ to: e.to.host, bytes: e.bytes });
  }
  return requests;
}

test('reconnect state encoded when first read: byte for byte the eager encoding', () => {
  const seed = testSeed(77);
  const eager = reconnectRequests(false, seed);
  const lazy = reconnectRequests(true, seed);
  assert.ok(eager.filter((r) => r.to === '10.0.1.8').length >= 2, `reconnects to the dead member expected${reproduce(seed)}`);
  assert.deepEqual(lazy, eager, reproduce(seed));
});

test('simulator: a reconnect to a crashed peer is neither read (so never encoded) nor counted', () => {
  const seed = testSeed(5);
  let crashedHost = '';
  let toCrashed = 0;
  let readsToCrashed = 0;
  // Every push-pull request goes out behind a getter that counts reads of its bytes.
  const watch = (effects: Effect[]): Effect[] => effects.map((e) => {
    if (e.kind !== 'push-pull' || e.to.host !== crashedHost) return e;
    toCrashed++;
    return { kind: 'push-pull', to: e.to, join: e.join, get bytes(): Uint8Array { readsToCrashed++; return e.bytes; } };
  });
  class Watched extends SwimNode {
    override tick(now: number): Effect[] {
      return watch(super.tick(now));
    }
  }
  const sim = new Simulator<Watched>({ seed, recordEvents: false, profile: FIXED_LAN, factory: (opts) => new Watched(opts) });
  sim.addNodes(12);
  sim.joinAll(['n0']);
  sim.runFor(3_000);
  crashedHost = sim.address('n11').host;
  sim.crash('n11');
  const failedBefore = sim.stats.pushPullsFailed;
  sim.runFor(20_000);
  // Requests made from here on are not counted; those in flight get the time to fail.
  crashedHost = '';
  sim.runFor(5_000);
  assert.ok(toCrashed > 0, `reconnects to the crashed node expected${reproduce(seed)}`);
  assert.ok(sim.stats.pushPullsFailed - failedBefore >= toCrashed, 'each fails as a refused connection');
  assert.equal(readsToCrashed, 0, `the engine read ${readsToCrashed} requests to a crashed peer${reproduce(seed)}`);
});
