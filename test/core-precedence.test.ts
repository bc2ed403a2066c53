/**
 * SWIM's precedence rules on one node: what an alive, suspect, dead or leave message does to a
 * member held alive, suspect, dead or left, at a lower, equal or higher incarnation; members not
 * known yet; incarnations compared as 32-bit serial numbers; accusations implausibly far ahead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../protocol/limits.js';
import type { GossipMsg, MemberStatus } from '../protocol/messages.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { ackPings, allEffects, deliver, makeNode, memberEvents, peerAddress, rejections, runUntil, sentParts } from './helpers/one-node.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed(1401);
const B = peerAddress(2);
/** A third member, always alive, so that there is always someone to spread news to. */
const W = peerAddress(3);

type Kind = 'alive' | 'suspect' | 'dead' | 'leave';

function message(kind: Kind, incarnation: number, name = 'b'): GossipMsg {
  switch (kind) {
    case 'alive': return { type: 'alive', name, host: B.host, port: B.port, incarnation };
    case 'suspect': return { type: 'suspect', name, incarnation, from: 'w' };
    case 'dead': return { type: 'dead', name, incarnation, from: 'w' };
    case 'leave': return { type: 'leave', name, incarnation };
  }
}

/** A node that holds b with `status` at `incarnation`, and w alive. */
function holding(status: MemberStatus, incarnation: number): SwimNode {
  const n = makeNode({ seed: SEED });
  deliver(n, 1, W, { type: 'alive', name: 'w', host: W.host, port: W.port, incarnation: 0 });
  deliver(n, 2, B, message('alive', incarnation));
  const kind: Kind | null = status === 'alive' ? null : status === 'left' ? 'leave' : status;
  if (kind !== null) deliver(n, 3, W, message(kind, incarnation));
  assert.deepEqual({ status: n.member('b')?.status, incarnation: n.member('b')?.incarnation }, { status, incarnation }, 'setup');
  // Everything the setup set in motion (its forward batch) happens before the message under test.
  runUntil(n, 99, (at, effects) => ackPings(n, at, effects));
  return n;
}

interface Case {
  readonly held: MemberStatus;
  readonly kind: Kind;
  /** Incarnation of the message relative to the one held (5). */
  readonly delta: -1 | 0 | 1;
  /** The status afterwards, or null when the message changes nothing. */
  readonly becomes: MemberStatus | null;
}

const STATUS_OF: Record<Kind, MemberStatus> = { alive: 'alive', suspect: 'suspect', dead: 'dead', leave: 'left' };

/**
 * A higher incarnation always wins. At an equal one: dead and left override suspect and alive,
 * suspect overrides alive, and left is final (a dead at the same incarnation does not undo a
 * graceful leave, while a leave does replace a death). A lower one never changes anything.
 */
function expectation(held: MemberStatus, kind: Kind, delta: -1 | 0 | 1): MemberStatus | null {
  if (delta < 0) return null;
  if (delta > 0) return STATUS_OF[kind];
  const rank: Record<MemberStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
  const next = STATUS_OF[kind];
  if (held === 'dead' && next === 'left') return 'left';
  return rank[next] > rank[held] ? next : null;
}

const CASES: Case[] = [];
for (const held of ['alive', 'suspect', 'dead', 'left'] as const) {
  for (const kind of ['alive', 'suspect', 'dead', 'leave'] as const) {
    for (const delta of [-1, 0, 1] as const) CASES.push({ held, kind, delta, becomes: expectation(held, kind, delta) });
  }
}

const HELD = 5;

for (const c of CASES) {
  const sign = c.delta < 0 ? 'a lower' : c.delta === 0 ? 'an equal' : 'a higher';
  const outcome = c.becomes === null ? 'changes nothing' : `makes it ${c.becomes}`;
  test(`precedence: ${c.kind} at ${sign} incarnation about a member held ${c.held} ${outcome}`, () => {
    const n = holding(c.held, HELD);
    const inc = HELD + c.delta;
    const effects = deliver(n, 100, W, message(c.kind, inc));
    const events = memberEvents(effects);
    if (c.becomes === null) {
      assert.deepEqual(events, []);
      assert.deepEqual(n.member('b'), { name: 'b', host: B.host, port: B.port, incarnation: HELD, status: c.held });
    } else {
      const after = { name: 'b', host: B.host, port: B.port, incarnation: inc, status: c.becomes };
      assert.deepEqual(events, [{ type: 'member', member: after, previous: c.held }]);
      assert.deepEqual(n.member('b'), after);
    }
    // What changed the view is passed on; what did not is not.
    const spread = sentParts(allEffects(runUntil(n, 100 + PROFILES.lan.gossipIntervalMs)))
      .filter((p) => p.type === c.kind && 'name' in p && p.name === 'b' && 'incarnation' in p && p.incarnation === inc);
    // A message equal to what is held is the held state itself: whether it is still being spread
    // depends on how long ago it came, not on this message, so nothing is asserted of it.
    const same = c.delta === 0 && STATUS_OF[c.kind] === c.held;
    if (c.becomes !== null) assert.ok(spread.length > 0, 'the update that won is spread within one gossip interval');
    else if (!same) assert.deepEqual(spread, [], 'an update that lost is not spread');
  });
}

test('precedence: an alive about an unknown member adds it; suspect, dead and leave about one are ignored', () => {
  for (const kind of ['suspect', 'dead', 'leave'] as const) {
    const n = makeNode({ seed: SEED });
    const effects = deliver(n, 10, W, message(kind, 3, 'ghost'));
    assert.equal(n.member('ghost'), undefined, kind);
    assert.deepEqual(memberEvents(effects), [], kind);
    assert.deepEqual(rejections(effects), [], `${kind}: ignored, not refused`);
  }
  const n = makeNode({ seed: SEED });
  const effects = deliver(n, 10, B, message('alive', 3, 'newcomer'));
  const view = { name: 'newcomer', host: B.host, port: B.port, incarnation: 3, status: 'alive' as const };
  assert.deepEqual(n.member('newcomer'), view);
  assert.deepEqual(memberEvents(effects), [{ type: 'member', member: view, previous: null }]);
});

test('precedence: incarnations compare as 32-bit serial numbers, across the wrap', () => {
  const top = LIMITS.incarnationMax;
  const n = holding('alive', top);
  deliver(n, 10, B, message('alive', top - 1));
  assert.equal(n.member('b')?.incarnation, top, 'one below is older');
  deliver(n, 11, B, message('alive', 0));
  assert.deepEqual({ ...n.member('b') }, { name: 'b', host: B.host, port: B.port, incarnation: 0, status: 'alive' }, '0 follows 0xffffffff');
  deliver(n, 12, W, message('suspect', top));
  assert.equal(n.member('b')?.status, 'alive', 'a suspicion at 0xffffffff is older than incarnation 0');
  deliver(n, 13, W, message('suspect', 1));
  assert.deepEqual([n.member('b')?.status, n.member('b')?.incarnation], ['suspect', 1]);

  // Half the circle apart: the numerically larger value is the newer one, so two nodes agree.
  const m = holding('alive', 0);
  deliver(m, 10, B, message('alive', 2 ** 31));
  assert.equal(m.member('b')?.incarnation, 2 ** 31);
  deliver(m, 11, B, message('alive', 0));
  assert.equal(m.member('b')?.incarnation, 2 ** 31, 'and 0 is not newer than 2^31');
});

test('precedence: an accusation implausibly far ahead is refused and counted; one at the bound is taken', () => {
  for (const kind of ['suspect', 'dead'] as const) {
    const n = holding('alive', HELD);
    const far = deliver(n, 10, W, message(kind, HELD + LIMITS.incarnationJumpMax + 1));
    assert.deepEqual(rejections(far).map((r) => r.reason), ['implausible_incarnation'], kind);
    assert.deepEqual([n.member('b')?.status, n.member('b')?.incarnation], ['alive', HELD], kind);
    deliver(n, 11, W, message(kind, HELD + LIMITS.incarnationJumpMax));
    assert.deepEqual([n.member('b')?.status, n.member('b')?.incarnation], [STATUS_OF[kind], HELD + LIMITS.incarnationJumpMax], kind);
  }
  // The owner's own word is never bounded: it must be able to outbid any forged claim.
  const n = holding('alive', HELD);
  deliver(n, 10, B, message('alive', HELD + LIMITS.incarnationJumpMax + 1));
  assert.equal(n.member('b')?.incarnation, HELD + LIMITS.incarnationJumpMax + 1);
});

test('precedence: an alive for a live member from another address is a name conflict and changes nothing', () => {
  const n = holding('alive', HELD);
  const other = peerAddress(9);
  const effects = deliver(n, 10, other, { type: 'alive', name: 'b', host: other.host, port: other.port, incarnation: HELD + 1 });
  assert.deepEqual(n.member('b'), { name: 'b', host: B.host, port: B.port, incarnation: HELD, status: 'alive' });
  const conflicts = effects.flatMap((e) => (e.kind === 'conflict' ? [e.conflict] : []));
  assert.deepEqual(conflicts, [{ name: 'b', held: B, other, about: 'member', phase: 'running', stepAside: false }]);
});
