/**
 * Lifeguard's suspicion timing on one node: a suspicion starts at its maximum timeout and shrinks
 * toward the minimum with each independent confirmation, up to k expected ones; the node probes
 * the suspect a last few times before the deadline; a refutation or an answer stops the death.
 *
 * The node knows 40 members that answer every probe; the suspect is the member its shuffled probe
 * order reaches last, so the node's own probing plays no part before the deadline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Effect } from '../protocol/effects.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { ackPings, addressOf, allEffects, deliver, makeNode, memberEvents, peerAddress, peers, runUntil, sentOfType, sent, type Step } from './helpers/one-node.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(1403);
/** The lan timings with the fixed probe timeout (adaptive timeouts: core-rto.test.ts). */
const LAN = { ...PROFILES.lan, rto: null };
const OTHERS = 40;
/** When the accusation arrives. */
const T0 = 1_000;

/** Timeout of a suspicion with c of k expected confirmations, among n live members (self included). */
function lifeguardTimeout(n: number, c: number, k: number): number {
  const min = LAN.suspicionMult * Math.max(1, Math.log10(n)) * LAN.probeIntervalMs;
  const max = LAN.suspicionMaxMult * min;
  if (k < 1) return min;
  return Math.floor(Math.max(min, max - (max - min) * (Math.log(c + 1) / Math.log(k + 1))));
}

function build(): SwimNode {
  const n = makeNode({ seed: SEED, profile: LAN });
  n.preload(peers(OTHERS));
  return n;
}

/** The order in which a node built like the others probes in its first round. */
function firstRound(): string[] {
  const n = build();
  const order: string[] = [];
  runUntil(n, OTHERS * LAN.probeIntervalMs * 2, (at, effects) => {
    for (const { msg } of sentOfType(effects, 'ping')) if (order.length < OTHERS) order.push(msg.target);
    return ackPings(n, at, effects);
  });
  return order;
}

const ROUND = firstRound();
const SUSPECT = ROUND[OTHERS - 1] as string;
const SUSPECT_AT = addressOf(peers(OTHERS).find((m) => m.name === SUSPECT) as { host: string; port: number });
/** Members other than the suspect, in name order: the accuser first, then the confirmers. */
const WITNESSES = peers(OTHERS).map((m) => m.name).filter((name) => name !== SUSPECT);
const EXPECTED = Math.min(LAN.indirectChecks, OTHERS + 1 - 2);

interface Run {
  readonly node: SwimNode;
  readonly steps: Step[];
  /** When the suspect was declared dead, or null. */
  readonly deadAt: number | null;
}

/**
 * Accuses the suspect at T0 (from the first witness), then delivers a suspect message from each of
 * `confirmers` 10 ms apart, and runs the node until `until`, answering every ping but the suspect's.
 */
function suspicion(confirmers: readonly string[], until: number, answerSuspect: (at: number) => boolean = () => false): Run {
  const node = build();
  const answer = (at: number, effects: readonly Effect[]): Effect[] => ackPings(node, at, effects, (target) => target !== SUSPECT || answerSuspect(at));
  runUntil(node, T0 - 1, answer);
  const steps: Step[] = [];
  const accusation = deliver(node, T0, peerAddress(1), { type: 'suspect', name: SUSPECT, incarnation: 0, from: WITNESSES[0] as string });
  assert.deepEqual(memberEvents(accusation).map((e) => [e.member.name, e.member.status]), [[SUSPECT, 'suspect']]);
  steps.push({ at: T0, effects: accusation });
  confirmers.forEach((from, i) => {
    const at = T0 + 10 * (i + 1);
    steps.push(...runUntil(node, at - 1, answer));
    steps.push({ at, effects: deliver(node, at, peerAddress(1), { type: 'suspect', name: SUSPECT, incarnation: 0, from }) });
  });
  steps.push(...runUntil(node, until, answer));
  const dead = steps.find((s) => memberEvents(s.effects).some((e) => e.member.name === SUSPECT && e.member.status === 'dead'));
  return { node, steps, deadAt: dead?.at ?? null };
}

const MAX_END = T0 + lifeguardTimeout(OTHERS + 1, 0, EXPECTED) + 1_000;

test('suspicion: the suspect is the last of a 40-member probe round, beyond any suspicion timeout', () => {
  assert.equal(new Set(ROUND).size, OTHERS, 'each member once in the round' + reproduce(SEED));
  assert.ok(OTHERS * LAN.probeIntervalMs > lifeguardTimeout(OTHERS + 1, 0, EXPECTED) + T0, 'the setup keeps the suspect out of the probe order until the deadline');
});

for (const c of [0, 1, 2, 3]) {
  test(`suspicion: with ${c} of ${EXPECTED} expected confirmations the suspect dies exactly at the Lifeguard timeout`, () => {
    const run = suspicion(WITNESSES.slice(1, 1 + c), MAX_END);
    const expected = T0 + lifeguardTimeout(OTHERS + 1, c, EXPECTED);
    assert.equal(run.deadAt, expected, reproduce(SEED));
    assert.equal(run.node.member(SUSPECT)?.status, 'dead');
    // The timer fires at its deadline: the step that declared the death ran at it.
    assert.ok(run.steps.some((s) => s.at === expected));
  });
}

test('suspicion: the timeouts shrink strictly from the maximum toward, and at k reach, the minimum', () => {
  const n = OTHERS + 1;
  const t = [0, 1, 2, 3].map((c) => lifeguardTimeout(n, c, EXPECTED));
  for (let i = 1; i < t.length; i++) assert.ok((t[i] as number) < (t[i - 1] as number));
  assert.equal(t[0], Math.floor(LAN.suspicionMaxMult * LAN.suspicionMult * Math.log10(n) * LAN.probeIntervalMs));
  assert.equal(t[3], Math.floor(LAN.suspicionMult * Math.log10(n) * LAN.probeIntervalMs));
});

test('suspicion: confirmations beyond k, repeated ones and the accuser\'s own do not shorten it further', () => {
  const k = WITNESSES.slice(1, 1 + EXPECTED);
  const noisy = [WITNESSES[0] as string, k[0] as string, k[0] as string, ...k.slice(1), WITNESSES[EXPECTED + 1] as string, WITNESSES[EXPECTED + 2] as string];
  assert.equal(suspicion(noisy, MAX_END).deadAt, T0 + lifeguardTimeout(OTHERS + 1, EXPECTED, EXPECTED), reproduce(SEED));
  const repeated = [k[0] as string, k[0] as string, WITNESSES[0] as string];
  assert.equal(suspicion(repeated, MAX_END).deadAt, T0 + lifeguardTimeout(OTHERS + 1, 1, EXPECTED), reproduce(SEED));
});

test('suspicion: the node probes the suspect a last few times before the deadline, carrying the suspicion', () => {
  const run = suspicion([], MAX_END);
  const deadline = T0 + lifeguardTimeout(OTHERS + 1, 0, EXPECTED);
  assert.equal(run.deadAt, deadline);
  const probes = run.steps.flatMap((s) => sent(s.effects).filter((d) => d.to.host === SUSPECT_AT.host).map((d) => ({ at: s.at, parts: d.parts })))
    .filter((d) => d.parts.some((p) => p.type === 'ping'));
  assert.ok(probes.length >= 2, `at least two last-chance probes (${probes.length})`);
  for (const p of probes) {
    assert.ok(p.at > T0 && p.at < deadline, `probe at ${p.at} lies inside the suspicion`);
    const before = deadline - p.at;
    assert.equal(before % LAN.probeTimeoutMs, 0, `probe at ${p.at}: a whole number of probe timeouts before the deadline`);
    assert.deepEqual(p.parts[0], { type: 'suspect', name: SUSPECT, incarnation: 0, from: 'self' }, 'the suspicion leads the packet, so the refutation can ride on the ack');
    assert.ok(p.parts.some((m) => m.type === 'ping' && m.target === SUSPECT));
  }
  assert.equal(probes.at(-1)?.at, deadline - LAN.probeTimeoutMs, 'the last one comes one probe timeout before the deadline');
  const times = probes.map((p) => p.at);
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  assert.equal(new Set(times).size, times.length);
});

test('suspicion: a suspect that answers a last-chance probe is not declared dead at the deadline; its death is put off a probe interval at a time', () => {
  const deadline = T0 + lifeguardTimeout(OTHERS + 1, 0, EXPECTED);
  const run = suspicion([], deadline + LAN.probeIntervalMs - 1, (at) => at === deadline - LAN.probeTimeoutMs);
  assert.equal(run.deadAt, null, reproduce(SEED));
  assert.equal(run.node.member(SUSPECT)?.status, 'suspect', 'the gossip still says suspect until the refutation arrives');
  const atDeadline = run.steps.find((s) => s.at === deadline);
  assert.ok(atDeadline !== undefined, 'the suspicion timer still fired at the deadline');
  const probe = sent(atDeadline.effects).find((d) => d.to.host === SUSPECT_AT.host && d.parts.some((p) => p.type === 'ping'));
  assert.ok(probe !== undefined, 'and probed the suspect again, with the suspicion');
  const next = runUntil(run.node, deadline + LAN.probeIntervalMs).find((st) => st.at === deadline + LAN.probeIntervalMs);
  assert.ok(next !== undefined && sent(next.effects).some((d) => d.to.host === SUSPECT_AT.host && d.parts.some((p) => p.type === 'ping')),
    'one probe interval later the timer fires again and probes the suspect once more');
});

test('suspicion: a refutation ends it: no death, and the timers are gone', () => {
  const run = suspicion([], T0 + 200);
  const refuted = deliver(run.node, T0 + 201, SUSPECT_AT, { type: 'alive', name: SUSPECT, host: SUSPECT_AT.host, port: SUSPECT_AT.port, incarnation: 1 });
  assert.deepEqual(memberEvents(refuted).map((e) => [e.member.status, e.previous]), [['alive', 'suspect']]);
  const rest = runUntil(run.node, MAX_END, (at, effects) => ackPings(run.node, at, effects));
  assert.deepEqual(memberEvents(allEffects(rest)).filter((e) => e.member.name === SUSPECT), [], reproduce(SEED));
  assert.equal(run.node.member(SUSPECT)?.status, 'alive');
});

test('suspicion: with no other member to confirm (k = 0) the minimum applies at once', () => {
  const node = makeNode({ seed: SEED, profile: LAN });
  const b = peerAddress(1);
  node.preload([{ name: 'b', host: b.host, port: b.port, incarnation: 0, status: 'alive' }]);
  runUntil(node, T0 - 1, (at, effects) => ackPings(node, at, effects));
  deliver(node, T0, b, { type: 'suspect', name: 'b', incarnation: 0, from: 'x' });
  // From here on b never answers.
  const steps = runUntil(node, T0 + lifeguardTimeout(2, 0, 1) + 1);
  const dead = steps.find((s) => memberEvents(s.effects).some((e) => e.member.status === 'dead'));
  assert.equal(dead?.at, T0 + lifeguardTimeout(2, 0, 0), reproduce(SEED));
});
