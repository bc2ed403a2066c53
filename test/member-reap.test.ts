/**
 * Reaping of dead and left members: when the reap clock starts, and what a reap reports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../protocol/codec.js';
import type { Effect, MemberEvent } from '../protocol/effects.js';
import type { GossipMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';

const PEER = { host: '10.0.0.2', port: 7946 };

function node(): SwimNode {
  return new SwimNode({ name: 'a', host: '10.0.0.1', port: 7946, profile: PROFILES.local, seed: 7, now: 0 });
}

function deliver(n: SwimNode, now: number, msg: GossipMsg): Effect[] {
  return n.handlePacket(now, PEER, encodePacket(msg));
}

/** Fires every timer due up to `until`; returns the member events emitted. */
function runTo(n: SwimNode, until: number): MemberEvent[] {
  const events: MemberEvent[] = [];
  for (let next = n.nextDeadline(); next !== null && next <= until; next = n.nextDeadline()) {
    for (const e of n.tick(next)) if (e.kind === 'event') events.push(e.event);
  }
  return events;
}

const reapAfter = PROFILES.local.reapAfterMs;

test('a dead member re-declared dead at a higher incarnation is reaped relative to the new declaration', () => {
  const n = node();
  deliver(n, 10, { type: 'alive', name: 'x', host: '10.0.0.3', port: 7946, incarnation: 0 });
  deliver(n, 1_000, { type: 'dead', name: 'x', incarnation: 0, from: 'b' });
  runTo(n, 1_000 + reapAfter / 2);
  const redeclaredAt = 1_000 + reapAfter / 2;
  deliver(n, redeclaredAt, { type: 'dead', name: 'x', incarnation: 3, from: 'b' });
  assert.equal(n.member('x')?.incarnation, 3);
  // Well past the first death's reap time, still short of the second's.
  runTo(n, redeclaredAt + reapAfter - 60_000);
  assert.equal(n.member('x')?.status, 'dead', 'reaped on the clock of the first death, not the latest one');
  runTo(n, redeclaredAt + reapAfter + 120_000);
  assert.equal(n.member('x'), undefined, 'reaped once the latest death is old enough');
});

test('a left member re-announced at a higher incarnation is reaped relative to the new leave', () => {
  const n = node();
  deliver(n, 10, { type: 'alive', name: 'x', host: '10.0.0.3', port: 7946, incarnation: 0 });
  deliver(n, 1_000, { type: 'leave', name: 'x', incarnation: 0 });
  runTo(n, 1_000 + reapAfter / 2);
  const again = 1_000 + reapAfter / 2;
  deliver(n, again, { type: 'leave', name: 'x', incarnation: 2 });
  runTo(n, again + reapAfter - 60_000);
  assert.equal(n.member('x')?.status, 'left');
  runTo(n, again + reapAfter + 120_000);
  assert.equal(n.member('x'), undefined);
});
