/**
 * A catalog larger than one push-pull state: a joining node learns all of it, page by page, and
 * periodic push-pull repairs entries anywhere in it, not only in the first page. The byte budget of
 * a state is a node option, so a catalog of a few kilobytes stands in for one of megabytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import { decodePacket, decodePushPull, encodePacket, encodePart, encodePushPull } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import { LIMITS } from '../protocol/limits.js';
import type { CatalogCursor, GossipMsg, PushPullMsg, ServiceMsg } from '../protocol/messages.js';
import { SwimNode, type SwimNodeOptions } from '../protocol/node.js';
import { pushPullIntervalMs } from '../protocol/anti-entropy.js';
import { PROFILES } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

/** A push-pull state carries at most this many bytes of entries: about 25 of those registered here. */
const STATE_BYTES = 2048;

/** A node that, while `deaf` is set, loses every catalog entry gossiped to it (and nothing else). */
class CatalogDeafNode extends SwimNode {
  deaf = false;

  override handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    if (!this.deaf) return super.handlePacket(now, from, bytes);
    const decoded = decodePacket(bytes);
    if (!decoded.ok) return super.handlePacket(now, from, bytes);
    const msg = decoded.value;
    const parts: GossipMsg[] = msg.type === 'compound' ? msg.parts.filter((p) => p.type !== 'service') : msg.type === 'service' ? [] : [msg];
    if (parts.length === 0) return [];
    return super.handlePacket(now, from, encodePacket(parts.length === 1 ? parts[0] as GossipMsg : { type: 'compound', parts }));
  }
}

function cluster(seed: number, n: number, deafName?: string): { sim: Simulator; names: string[] } {
  const sim = new Simulator({
    seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false,
    factory: (opts: SwimNodeOptions) => {
      const o = { ...opts, pushPullServiceBytes: STATE_BYTES };
      return opts.name === deafName ? new CatalogDeafNode(o) : new SwimNode(o);
    },
  });
  const names = sim.addNodes(n);
  return { sim, names };
}

function formed(sim: Simulator, names: readonly string[], seed: number): void {
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === names.length), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
}

function registerMany(sim: Simulator, owner: string, prefix: string, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${String(i).padStart(3, '0')}`;
    sim.act(owner, (node, now) => node.registerService(now, { id, name: 'app', address: '10.1.2.3', port: 8000 + i, tags: ['blue'] }).effects);
    ids.push(id);
  }
  return ids;
}

function serviceKeys(node: SwimNode): Set<string> {
  return new Set(node.services().map((s) => `${s.node}/${s.id}`));
}

/** Runs until no node has updates left to gossip, so what is missing now is only push-pull's to repair. */
function quiesce(sim: Simulator, names: readonly string[], seed: number): void {
  const quiet = sim.runUntilCondition(() => names.every((o) => sim.node(o).pendingBroadcasts() === 0), 30_000, 50);
  assert.notEqual(quiet, null, 'gossip did not settle' + reproduce(seed));
}

test('a joining node learns a catalog of several push-pull states, page by page', () => {
  const seed = testSeed(4101);
  const { sim, names } = cluster(seed, 6);
  const members = names.slice(0, 5);
  const joiner = names[5] as string;
  // Start the joiner alone: it stays out until the catalog is in place.
  sim.crash(joiner);
  formed(sim, members, seed);
  for (const owner of members) registerMany(sim, owner, 'svc', 30);
  quiesce(sim, members, seed);
  const want = serviceKeys(sim.node(members[0] as string));
  assert.equal(want.size, 150);
  assert.ok(members.every((o) => serviceKeys(sim.node(o)).size === 150), 'every member holds the catalog' + reproduce(seed));

  sim.restart(joiner);
  sim.join(joiner, [members[2] as string]);
  // Well before the joiner's first periodic exchange (at least half an interval after it starts):
  // only the join can have brought the catalog.
  const within = pushPullIntervalMs(6, PROFILES.lan) / 4;
  const learned = sim.runUntilCondition(() => serviceKeys(sim.node(joiner)).size === want.size, within, 5);
  const held = serviceKeys(sim.node(joiner));
  assert.notEqual(learned, null, `the joiner learned ${held.size} of ${want.size} entries` + reproduce(seed));
  for (const k of want) assert.ok(held.has(k), `missing ${k}` + reproduce(seed));
});

test('periodic push-pull repairs lost entries anywhere in a catalog of several states', () => {
  const seed = testSeed(4102);
  const deafName = 'n5';
  const { sim, names } = cluster(seed, 6, deafName);
  formed(sim, names, seed);
  const owners = names.slice(0, 5);
  for (const owner of owners) registerMany(sim, owner, 'base', 30);
  quiesce(sim, names, seed);
  assert.equal(serviceKeys(sim.node(deafName)).size, 150, 'the catalog spread' + reproduce(seed));

  // Entries registered now never reach n5 by gossip. They sort after the ones above (same owners,
  // later ids) and were stored last everywhere: far beyond the first page in any order.
  const deaf = sim.node(deafName) as CatalogDeafNode;
  deaf.deaf = true;
  const lost: string[] = [];
  for (const owner of owners) for (const id of registerMany(sim, owner, 'late', 4)) lost.push(`${owner}/${id}`);
  quiesce(sim, names, seed);
  deaf.deaf = false;
  const before = serviceKeys(sim.node(deafName));
  assert.ok(lost.every((k) => !before.has(k)), 'n5 missed the late entries' + reproduce(seed));

  // 170 entries of about 80 bytes are 7 states of 2 KiB. Each of n5's own exchanges pulls the page
  // after the one before; the other nodes' exchanges with n5 add more. Allow two full sweeps.
  const interval = pushPullIntervalMs(6, PROFILES.lan);
  const repaired = sim.runUntilCondition(() => {
    const held = serviceKeys(sim.node(deafName));
    return lost.every((k) => held.has(k));
  }, 2 * 8 * 1.5 * interval, 100);
  const held = serviceKeys(sim.node(deafName));
  assert.notEqual(repaired, null, `n5 repaired ${lost.filter((k) => held.has(k)).length} of ${lost.length} lost entries` + reproduce(seed));
});

// ---- The joiner's decisions, one reply at a time --------------------------------------------

const SEED_A: Address = { host: '10.0.0.1', port: 7946 };
const SEED_B: Address = { host: '10.0.0.2', port: 7946 };

function joiner(): SwimNode {
  return new SwimNode({ name: 'j', host: '10.0.0.9', port: 7946, profile: PROFILES.lan, seed: 1, now: 0 });
}

function pushPulls(effects: readonly Effect[]): { to: Address; msg: PushPullMsg }[] {
  const out: { to: Address; msg: PushPullMsg }[] = [];
  for (const e of effects) {
    if (e.kind !== 'push-pull') continue;
    const d = decodePushPull(e.bytes);
    assert.ok(d.ok);
    out.push({ to: e.to, msg: d.value });
  }
  return out;
}

/** A seed's reply: itself as a member, one entry, and optionally "more after" a cursor. */
function seedReply(source: string, id: string, moreAfter?: CatalogCursor): Uint8Array {
  const entry: ServiceMsg = {
    type: 'service', node: source, id, rev: 1, deleted: false, name: 'app', address: '10.1.2.3', port: 80,
    tags: [], meta: [], version: '', weight: 1, health: 'passing', draining: false,
  };
  const members = [{ name: source, host: source === 'a' ? SEED_A.host : SEED_B.host, port: 7946, incarnation: 0, status: 'alive' as const }];
  return encodePushPull({ type: 'push-pull', join: false, source, members, services: [entry], ...(moreAfter === undefined ? {} : { moreAfter }) });
}

test('a joiner asks its seed for the next page, and an older seed (no cursor) for nothing more', () => {
  const older = joiner();
  assert.equal(pushPulls(older.join(0, [SEED_A])).length, 1);
  assert.deepEqual(pushPulls(older.handlePushPullReply(5, SEED_A, seedReply('a', 'k-000'))), [], 'page one only');

  const node = joiner();
  const first = pushPulls(node.join(0, [SEED_A, SEED_B]));
  assert.equal(first.length, 2);
  assert.ok(first.every((p) => p.msg.pageFrom === undefined && p.msg.members.length === 1));
  const next = pushPulls(node.handlePushPullReply(5, SEED_A, seedReply('a', 'k-000', { node: 'a', id: 'k-000' })));
  assert.equal(next.length, 1);
  assert.deepEqual(next[0]?.to, SEED_A);
  // The next page asks from where the last one ended, and carries no state of its own again.
  assert.deepEqual(next[0]?.msg.pageFrom, { node: 'a', id: 'k-000' });
  assert.equal(next[0]?.msg.join, true);
  assert.deepEqual([next[0]?.msg.members.length, next[0]?.msg.services.length], [0, 0]);
  // Seed B offers more too, but one seed is paged, not every seed.
  assert.deepEqual(pushPulls(node.handlePushPullReply(6, SEED_B, seedReply('b', 'k-000', { node: 'b', id: 'k-000' }))), []);
  // A's last page ends the join; nothing further is asked.
  assert.deepEqual(pushPulls(node.handlePushPullReply(9, SEED_A, seedReply('a', 'k-001'))), []);
  assert.deepEqual(node.services().map((s) => `${s.node}/${s.id}`).sort(), ['a/k-000', 'a/k-001', 'b/k-000']);
});

test('a seed whose cursor does not move on, or whose pages never end, is cut off', () => {
  const stuck = joiner();
  stuck.join(0, [SEED_A]);
  const p2 = pushPulls(stuck.handlePushPullReply(5, SEED_A, seedReply('a', 'k-005', { node: 'a', id: 'k-005' })));
  assert.equal(p2.length, 1);
  // The same cursor again (or an earlier one) would page forever.
  const effects = stuck.handlePushPullReply(9, SEED_A, seedReply('a', 'k-004', { node: 'a', id: 'k-004' }));
  assert.deepEqual(pushPulls(effects), []);
  assert.ok(effects.some((e) => e.kind === 'rejected' && e.reason === 'bad_field' && e.detail.includes('moreAfter')));

  const endless = joiner();
  endless.join(0, [SEED_A]);
  let pages = 1;
  let effectsNow: Effect[] = [];
  for (let i = 0; i < 2 * LIMITS.pushPullPagesMax; i++) {
    const id = `k-${String(i).padStart(4, '0')}`;
    effectsNow = endless.handlePushPullReply(10 + i, SEED_A, seedReply('a', id, { node: 'a', id }));
    if (pushPulls(effectsNow).length === 0) break;
    pages++;
  }
  assert.equal(pages, LIMITS.pushPullPagesMax);
  assert.ok(effectsNow.some((e) => e.kind === 'rejected' && e.reason === 'limit'));
});

test('the page bound lets a join fetch a full catalog of the largest entries', () => {
  const text = (bytes: number, tail = ''): string => 'x'.repeat(bytes - tail.length) + tail;
  const largest: ServiceMsg = {
    type: 'service', node: text(LIMITS.nameBytesMax), id: text(LIMITS.serviceIdBytesMax), rev: LIMITS.incarnationMax,
    deleted: false, name: text(LIMITS.serviceIdBytesMax), address: text(LIMITS.addressBytesMax), port: 65_535,
    tags: Array.from({ length: LIMITS.serviceTagsMax }, (_, i) => text(LIMITS.serviceTagBytesMax, String(i))),
    meta: Array.from({ length: LIMITS.serviceMetaMax }, (_, i) => [text(LIMITS.serviceMetaKeyBytesMax, String(i)), text(LIMITS.serviceMetaValueBytesMax)] as const),
    version: text(LIMITS.serviceVersionBytesMax), weight: LIMITS.serviceWeightMax, health: 'critical', draining: true,
  };
  const perPage = Math.floor(LIMITS.pushPullServiceBytesMax / encodePart(largest).length);
  assert.ok(perPage * LIMITS.pushPullPagesMax >= LIMITS.servicesMax, `${LIMITS.pushPullPagesMax} pages of ${perPage} entries`);
});
