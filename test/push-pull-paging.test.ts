/**
 * A catalog larger than one push-pull state: a joining node learns all of it, page by page, and
 * periodic push-pull repairs entries anywhere in it, not only in the first page. The byte budget of
 * a state is a node option, so a catalog of a few kilobytes stands in for one of megabytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import type { GossipMsg } from '../protocol/messages.js';
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
