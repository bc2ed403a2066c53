/**
 * Adaptive probe timeouts: the RFC 6298 estimator on its own, then one core node whose members
 * answer after a chosen round trip — the timeout follows the measurements, a resend under its own
 * sequence number and the ack's source keep ambiguous acks out, relays are given windows from the triangle bound and nack at their own
 * timeout, and the verdict comes as soon as every relay has nacked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Effect } from '../protocol/effects.js';
import type { PingReqMsg } from '../protocol/messages.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES, type RtoBounds } from '../protocol/profiles.js';
import { RttTable } from '../protocol/rtt.js';
import { addressOf, deliver, makeNode, memberEvents, peerAddress, peers, sentOfType } from './helpers/one-node.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(6298);
const LAN = PROFILES.lan;
const BOUNDS = LAN.rto as RtoBounds;
const COUNT = 12;

test('rtt: RFC 6298 — first sample, smoothing, 4 × variance, bounds', () => {
  const t = new RttTable({ minMs: 100, maxMs: 2000, initialMs: 500 }, 8);
  assert.equal(t.rto('a'), 500, 'nothing measured: the initial timeout');
  assert.equal(t.srtt('a'), null);
  t.sample('a', 200);
  // SRTT = 200, RTTVAR = 100: 200 + 4 × 100.
  assert.equal(t.rto('a'), 600);
  t.sample('a', 200);
  // RTTVAR = 3/4 × 100 + 1/4 × 0 = 75; SRTT stays 200.
  assert.equal(t.rto('a'), 500);
  t.sample('a', 280);
  // RTTVAR = 3/4 × 75 + 1/4 × 80 = 76.25; SRTT = 7/8 × 200 + 1/8 × 280 = 210.
  assert.equal(t.rto('a'), 210 + 4 * 76.25);
  for (let i = 0; i < 60; i++) t.sample('a', 20);
  assert.equal(t.rto('a'), 100, 'never below the lower bound');
  for (let i = 0; i < 60; i++) t.sample('b', 5000);
  assert.equal(t.rto('b'), 2000, 'never above the upper bound');
});

test('rtt: a first sample starts at the jitter of paths measured twice; an unmeasured member gets 1.25 × the farthest round trip, at least the initial', () => {
  const t = new RttTable({ minMs: 1, maxMs: 10_000, initialMs: 300 }, 8);
  t.sample('near', 10);
  assert.equal(t.rto('near'), 10 + 4 * 5, 'no repeat sample yet: RTTVAR = R / 2');
  assert.equal(t.rto('x'), 300, 'the initial timeout while nothing measured is larger');
  for (let i = 0; i < 20; i++) t.sample('near', i % 2 === 0 ? 9 : 11);
  const jitterish = t.rto('near') - (t.srtt('near') as number);
  t.sample('far', 400);
  const far = t.rto('far');
  assert.ok(far >= 400 && far < 400 + 4 * 10, `far: ${far} (its variance from the jitter seen, ${jitterish / 4} ms, not 200 ms)`);
  assert.equal(t.rto('x'), 1.25 * 400, 'an unmeasured member may be as far as the farthest measured');
  // The largest is recomputed when its holder comes closer.
  for (let i = 0; i < 80; i++) t.sample('far', 50);
  assert.equal(t.rto('x'), 300);
  t.forget('far');
  assert.equal(t.rto('x'), 300);
});

test('rtt: the table is bounded; the member measured longest ago goes first', () => {
  const t = new RttTable({ minMs: 1, maxMs: 10_000, initialMs: 1000 }, 3);
  for (const name of ['a', 'b', 'c']) t.sample(name, 10);
  t.sample('a', 10);
  t.sample('d', 10);
  assert.equal(t.size, 3);
  assert.ok(!t.measured('b') && t.measured('a') && t.measured('c') && t.measured('d'));
  t.forget('a');
  assert.ok(!t.measured('a'));
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) t.sample('e', bad);
  assert.ok(!t.measured('e'), 'a sample that is no duration is ignored');
});

interface Pending {
  readonly at: number;
  readonly deliver: () => Effect[];
}

/**
 * Drives one node with members that answer pings after `rttMs(target, retry)` (null: never), until
 * `until`; `retry`: another ping went to the same target less than a probe interval before.
 * Returns every step's effects with its time.
 */
function drive(node: SwimNode, until: number, rttMs: (target: string, retry: boolean) => number | null,
  onPingReq?: (at: number, req: { to: { host: string; port: number }; msg: PingReqMsg }) => Pending[]): { at: number; effects: Effect[] }[] {
  const steps: { at: number; effects: Effect[] }[] = [];
  let pending: Pending[] = [];
  const lastPing = new Map<string, number>();
  const schedule = (at: number, effects: readonly Effect[]): void => {
    for (const { to, msg } of sentOfType(effects, 'ping')) {
      const retry = at - (lastPing.get(msg.target) ?? Number.NEGATIVE_INFINITY) < LAN.probeIntervalMs;
      lastPing.set(msg.target, at);
      const rtt = rttMs(msg.target, retry);
      if (rtt !== null) pending.push({ at: at + rtt, deliver: () => deliver(node, at + rtt, to, { type: 'ack', seq: msg.seq }) });
    }
    if (onPingReq !== undefined) for (const req of sentOfType(effects, 'ping-req')) pending.push(...onPingReq(at, req));
  };
  for (;;) {
    const timer = node.nextDeadline();
    pending.sort((a, b) => a.at - b.at);
    const first = pending[0];
    const at = Math.min(timer ?? Number.POSITIVE_INFINITY, first?.at ?? Number.POSITIVE_INFINITY);
    if (at > until) break;
    let effects: Effect[];
    if (first !== undefined && first.at === at) {
      pending = pending.slice(1);
      effects = first.deliver();
    } else {
      effects = node.tick(at);
    }
    schedule(at, effects);
    steps.push({ at, effects });
  }
  return steps;
}

function build(profile = LAN): SwimNode {
  const n = makeNode({ seed: SEED, profile });
  n.preload(peers(COUNT));
  return n;
}

test('rto: members 400 ms away (beyond the fixed 150 ms probe timeout and the 300 ms interval) are never suspected', () => {
  const far = (): number => 400;
  const adaptive = build();
  const steps = drive(adaptive, 60_000, far);
  const suspects = memberEvents(steps.flatMap((s) => s.effects)).filter((e) => e.member.status !== 'alive');
  assert.deepEqual(suspects.map((e) => `${e.member.name} ${e.member.status}`), [], reproduce(SEED));
  // Measured: the timeout sits just above the round trip.
  const rto = adaptive.probeTimeoutMs('p1');
  assert.ok(rto >= 400 && rto < 600, `timeout for p1: ${rto} ms${reproduce(SEED)}`);
  assert.equal(adaptive.localHealth(), 0);
  // The same members with the fixed timeout: every probe fails, and the suspicions follow.
  const fixed = build({ ...LAN, rto: null });
  const fixedSteps = drive(fixed, 60_000, far);
  const fixedSuspects = memberEvents(fixedSteps.flatMap((s) => s.effects)).filter((e) => e.member.status === 'suspect');
  assert.ok(fixedSuspects.length > 0, 'the fixed timeout suspects members this far away');
});

test('rto: near members get the lower bound; the probe interval stays the profile\'s', () => {
  const node = build();
  const steps = drive(node, 30_000, () => 2);
  assert.equal(node.probeTimeoutMs('p3'), BOUNDS.minMs);
  const starts = new Set<number>();
  const times: number[] = [];
  for (const s of steps) {
    for (const { msg } of sentOfType(s.effects, 'ping')) {
      if (starts.has(msg.seq)) continue;
      starts.add(msg.seq);
      times.push(s.at);
    }
  }
  const late = times.slice(10);
  for (let i = 1; i < late.length; i++) assert.equal((late[i] as number) - (late[i - 1] as number), LAN.probeIntervalMs, reproduce(SEED));
});

test('rto: the resent ping has its own sequence number — its ack is timed from the resend, not from the first send', () => {
  // Every member answers only the resend, 5 ms after it. Timed from the first send (halfway through
  // the 300 ms initial timeout), the estimates would sit near 155 ms; timed from the resend, at 5 ms.
  const node = build();
  const steps = drive(node, 20_000, (_target, retry) => (retry ? 5 : null));
  const pings = steps.flatMap((s) => sentOfType(s.effects, 'ping').map((x) => x.msg.seq));
  assert.equal(new Set(pings).size, pings.length, 'no sequence number is sent twice');
  for (const m of peers(COUNT)) assert.equal(node.probeTimeoutMs(m.name), BOUNDS.minMs, `${m.name}: timed from the resend${reproduce(SEED)}`);
});

test('rto: an ack that a relay forwards (from its own address) is no sample', () => {
  // Direct pings go unanswered; each relay answers 5 ms after the ping-req with our sequence number.
  const node = build();
  const steps = drive(node, 20_000, () => null, (at, req) => [{
    at: at + 5, deliver: () => deliver(node, at + 5, addressOf(req.to), { type: 'ack', seq: req.msg.seq }),
  }]);
  const suspects = memberEvents(steps.flatMap((s) => s.effects)).filter((e) => e.member.status !== 'alive');
  assert.deepEqual(suspects.map((e) => e.member.name), [], 'the relays\' acks count as answers');
  for (const m of peers(COUNT)) assert.equal(node.probeTimeoutMs(m.name), BOUNDS.initialMs, `${m.name}: nothing measured${reproduce(SEED)}`);
});

test('rto: a relay gets RTO(relay) + RTO(target); once every relay nacked, the verdict comes at once', () => {
  const node = build();
  // Measure every member at 40 ms first.
  drive(node, 20_000, () => 40);
  const rto = node.probeTimeoutMs('p1');
  assert.ok(rto === BOUNDS.minMs, `rto ${rto}`);
  const start = 20_000;
  let victim: string | null = null;
  const reqs: { at: number; msg: PingReqMsg }[] = [];
  const steps = drive(node, start + 5_000, (target) => {
    if (victim === null) victim = target;
    return target === victim ? null : 40;
  }, (at, req) => {
    reqs.push({ at, msg: req.msg });
    // Each relay nacks 100 ms later.
    return [{ at: at + 100, deliver: () => deliver(node, at + 100, addressOf(req.to), { type: 'nack', seq: req.msg.seq }) }];
  });
  assert.ok(reqs.length >= 3, `${reqs.length} ping-reqs${reproduce(SEED)}`);
  const first = reqs.slice(0, 3);
  for (const r of first) assert.equal(r.msg.budgetMs, 2 * BOUNDS.minMs, 'the relay\'s window: RTO(relay) + RTO(target)');
  const sentAt = (first[0] as { at: number }).at;
  const suspectedAt = steps.find((s) => memberEvents(s.effects).some((e) => e.member.name === victim && e.member.status === 'suspect'))?.at;
  assert.equal(suspectedAt, sentAt + 100, 'suspected when the last nack arrived, not at the end of the window' + reproduce(SEED));
  assert.equal(node.localHealth(), 0, 'every nack came: no doubt about ourselves');
});

test('rto: a relay nacks once its own timeout for the target passed, when that comes before its share of the window', () => {
  const node = build();
  drive(node, 20_000, () => 40);
  const t = 20_000;
  const requester = peerAddress(1);
  const target = peers(COUNT)[1] as { name: string; host: string; port: number };
  const out = deliver(node, t, requester, {
    type: 'ping-req', seq: 77, target: target.name, targetHost: target.host, targetPort: target.port,
    source: 'p1', sourceHost: requester.host, sourcePort: requester.port, wantNack: true, budgetMs: 10_000,
  });
  assert.equal(sentOfType(out, 'ping').length, 1);
  const expected = t + node.probeTimeoutMs(target.name);
  const steps = drive(node, t + 10_000, () => 40);
  const nacks = steps.flatMap((s) => sentOfType(s.effects, 'nack').map((n) => ({ at: s.at, seq: n.msg.seq })));
  assert.deepEqual(nacks, [{ at: expected, seq: 77 }], `nack at the relay's own timeout, not at 80% of 10 s${reproduce(SEED)}`);
});

test('rto: a direct timeout due at the very probe tick still asks the relays before the verdict', () => {
  // Nothing measured: the first probe waits the initial timeout, here exactly one probe interval,
  // so the probe tick and the direct timeout fall due together.
  const profile = { ...LAN, rto: { ...BOUNDS, initialMs: LAN.probeIntervalMs } };
  const node = makeNode({ seed: SEED, profile });
  node.preload(peers(COUNT));
  let target: string | null = null;
  const steps = drive(node, 5_000, (t) => {
    target ??= t;
    return t === target ? null : 2;
  });
  const suspectedAt = steps.find((s) => memberEvents(s.effects).some((e) => e.member.name === target && e.member.status === 'suspect'))?.at;
  const askedAt = steps.find((s) => sentOfType(s.effects, 'ping-req').some((r) => r.msg.target === target))?.at;
  assert.ok(suspectedAt !== undefined, 'the silent target is suspected' + reproduce(SEED));
  assert.ok(askedAt !== undefined && askedAt < suspectedAt, `relays asked at ${String(askedAt)}, suspected at ${suspectedAt}${reproduce(SEED)}`);
});
