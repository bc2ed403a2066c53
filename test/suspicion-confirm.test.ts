/**
 * Lifeguard confirmations on their way: a member whose own probe confirms a suspicion someone else
 * raised sends its accusation straight to that first accuser, whose suspicion is the oldest and so
 * the first that can expire once it has heard enough confirmations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROFILES } from '../protocol/profiles.js';
import { ackPings, addressOf, deliver, makeNode, peers, runUntil, sameAddress, sent } from './helpers/one-node.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(3105);
const COUNT = 10;

test('suspicion: our own confirmation goes straight to the member that accused first', () => {
  const node = makeNode({ seed: SEED, profile: PROFILES.lan });
  const all = peers(COUNT);
  node.preload(all);
  const accuser = all[0] as (typeof all)[number];
  // The accuser suspects every other member; only the accuser answers our pings.
  for (const m of all.slice(1)) deliver(node, 0, addressOf(accuser), { type: 'suspect', name: m.name, incarnation: 0, from: accuser.name });
  const steps = runUntil(node, 5_000, (at, effects) => ackPings(node, at, effects, (t) => t === accuser.name));
  // Sent on its own (first in its datagram), not merely piggybacked on something else for the accuser.
  const direct: string[] = [];
  for (const s of steps) {
    for (const d of sent(s.effects)) {
      const first = d.parts[0];
      if (sameAddress(d.to, addressOf(accuser)) && first?.type === 'suspect' && first.from === 'self') direct.push(first.name);
    }
  }
  assert.ok(direct.length > 0, 'no confirmation went straight to the accuser' + reproduce(SEED));
  for (const name of direct) assert.ok(all.slice(1).some((m) => m.name === name), `a confirmation about ${name}`);
  assert.equal(new Set(direct).size, direct.length, 'each confirmation is sent to the accuser once' + reproduce(SEED));
});
