/**
 * The probe cycle on one node: a shuffled round robin over the live members, each once per
 * round; a newcomer is probed within the round it joined; dead and left members are skipped; after
 * the probe timeout, indirect probes through `indirectChecks` members carrying the answer window;
 * the verdict at the next probe tick, weighed by the nacks received (Lifeguard).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Effect } from '../protocol/effects.js';
import type { PingReqMsg } from '../protocol/messages.js';
import type { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { ackPings, deliver, makeNode, memberEvents, peerAddress, peers, runUntil, SELF, sent, sentOfType, type Step } from './helpers/one-node.js';
import { reproduce, testSeed } from './helpers/seed.js';

const SEED = testSeed(1404);
/**
 * The lan timings with the fixed probe timeout (adaptive timeouts: core-rto.test.ts), and a
 * suspicion long enough that no last-chance ping of a suspect falls among the probes counted.
 */
const LAN = { ...PROFILES.lan, rto: null, suspicionMult: 2 };
const COUNT = 10;

function build(count = COUNT, seed = SEED): SwimNode {
  const n = makeNode({ seed, profile: LAN });
  n.preload(peers(count));
  return n;
}

interface Probe {
  readonly at: number;
  readonly target: string;
  readonly seq: number;
}

/**
 * Each probe started (its first ping; the resend, under its own seq, goes to the same target within
 * the probe interval), in order.
 */
function probesIn(steps: readonly Step[]): Probe[] {
  const out: Probe[] = [];
  const seen = new Set<number>();
  for (const s of steps) {
    for (const { msg } of sentOfType(s.effects, 'ping')) {
      if (seen.has(msg.seq)) continue;
      seen.add(msg.seq);
      const last = out[out.length - 1];
      if (last !== undefined && last.target === msg.target && s.at - last.at < LAN.probeIntervalMs) continue;
      out.push({ at: s.at, target: msg.target, seq: msg.seq });
    }
  }
  return out;
}

/** Fires `node`'s timers one at a time until `probes` more probes have started, every member answering. */
function runProbes(node: SwimNode, probes: number): Probe[] {
  const out: Probe[] = [];
  const seen = new Set<number>();
  while (out.length < probes) {
    const at = node.nextDeadline();
    assert.ok(at !== null, 'the node always has a probe scheduled');
    const effects = node.tick(at);
    for (const p of probesIn([{ at, effects }])) {
      if (!seen.has(p.seq)) out.push(p);
      seen.add(p.seq);
    }
    ackPings(node, at, effects);
  }
  return out;
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const names = (count: number): string[] => peers(count).map((m) => m.name).sort();

test('probe order: each live member exactly once per round, rounds shuffled, one probe per interval', () => {
  const node = build();
  const probes = runProbes(node, 4 * COUNT);
  assert.equal(probes.length, 4 * COUNT);
  const rounds = chunks(probes.map((p) => p.target), COUNT);
  for (const [i, r] of rounds.entries()) assert.deepEqual([...r].sort(), names(COUNT), `round ${i}` + reproduce(SEED));
  assert.equal(new Set(rounds.slice(1).map((r) => r.join())).size, rounds.length - 1, 'each round after the first is shuffled anew' + reproduce(SEED));
  assert.ok(rounds[0]?.join() !== names(COUNT).join(), 'the first round is not the order the members arrived in' + reproduce(SEED));
  for (let i = 1; i < probes.length; i++) {
    assert.equal((probes[i] as Probe).at - (probes[i - 1] as Probe).at, LAN.probeIntervalMs, `probe ${i} one interval after the one before`);
  }
  assert.ok((probes[0] as Probe).at < LAN.probeIntervalMs, 'the first probe comes within one interval of the start (staggered)');
});

test('probe order: a member that joins mid-round is probed before the round ends', () => {
  // Over many seeds: wherever the newcomer lands, it is in the part of the round still to come.
  for (let i = 0; i < 20; i++) {
    const seed = SEED + i;
    const node = build(COUNT, seed);
    const before = runProbes(node, 3);
    const joinedAt = (before[2] as Probe).at + 1;
    const n = peerAddress(99);
    deliver(node, joinedAt, n, { type: 'alive', name: 'newcomer', host: n.host, port: n.port, incarnation: 0 });
    const after = runProbes(node, COUNT + 1 - 3);
    assert.deepEqual([...before, ...after].map((p) => p.target).sort(), [...names(COUNT), 'newcomer'].sort(),
      'the round that was under way takes in the newcomer: every member once, the newcomer too' + reproduce(seed));
  }
});

test('probe order: dead and left members are skipped, in the round under way and after', () => {
  const node = build();
  const before = runProbes(node, 3);
  const probed = new Set(before.map((p) => p.target));
  const [dead, left] = names(COUNT).filter((x) => !probed.has(x)) as [string, string];
  const at = (before[2] as Probe).at + 1;
  deliver(node, at, peerAddress(50), { type: 'dead', name: dead, incarnation: 0, from: 'p0' });
  deliver(node, at, peerAddress(50), { type: 'leave', name: left, incarnation: 0 });
  const live = names(COUNT).filter((x) => x !== dead && x !== left);
  // The rest of the round under way, then three whole rounds.
  const rest = runProbes(node, live.length - 3).map((p) => p.target);
  assert.deepEqual([...before.map((p) => p.target), ...rest].sort(), live, 'the round ends without them' + reproduce(SEED));
  const later = runProbes(node, 3 * live.length).map((p) => p.target);
  for (const [i, r] of chunks(later, live.length).entries()) assert.deepEqual([...r].sort(), live, `round ${i + 1}` + reproduce(SEED));
});

test('probe order: a suspect is still probed in its turn, told of the suspicion so it can refute', () => {
  const node = build();
  const before = runProbes(node, 3);
  const probed = new Set(before.map((p) => p.target));
  const suspect = names(COUNT).find((x) => !probed.has(x)) as string;
  const at = (before[2] as Probe).at + 1;
  deliver(node, at, peerAddress(50), { type: 'suspect', name: suspect, incarnation: 0, from: 'p0' });
  let found = false;
  for (let i = 0; i < COUNT - 3 && !found; i++) {
    const t = node.nextDeadline() as number;
    const effects = node.tick(t);
    for (const d of sentOfType(effects, 'ping')) {
      if (d.msg.target !== suspect) continue;
      found = true;
      const packet = sent(effects).find((x) => x.parts.some((m) => m.type === 'ping' && m.seq === d.msg.seq));
      assert.deepEqual(packet?.parts[0], { type: 'suspect', name: suspect, incarnation: 0, from: 'self' }, 'the suspicion leads the probe');
    }
    ackPings(node, t, effects);
  }
  assert.ok(found, 'the suspect was probed before the round ended' + reproduce(SEED));
});

interface Failed {
  readonly node: SwimNode;
  readonly probe: Probe;
  /** Up to just before the verdict. */
  readonly steps: Step[];
  /** What the node did at the next probe tick, before anyone answered. */
  readonly verdict: Step;
}

/**
 * Runs until the first probe, of a target that never answers, comes to its verdict; every other
 * member answers its pings, and `helpers` decides what the members asked to probe indirectly send back.
 */
function failedProbe(helpers: (node: SwimNode, at: number, req: { to: { host: string; port: number }; msg: PingReqMsg }) => Effect[]): Failed {
  const node = build();
  const first = runProbes(build(), 1)[0] as Probe;
  const verdictAt = first.at + LAN.probeIntervalMs;
  const steps = runUntil(node, verdictAt - 1, (at, effects) => {
    const out = ackPings(node, at, effects, (target) => target !== first.target);
    for (const req of sentOfType(effects, 'ping-req')) out.push(...helpers(node, at, req));
    return out;
  });
  assert.equal(node.nextDeadline(), verdictAt);
  return { node, probe: first, steps, verdict: { at: verdictAt, effects: node.tick(verdictAt) } };
}

const silent = (): Effect[] => [];

test('probe order: after the probe timeout, indirect probes through indirectChecks alive members, carrying the window to the verdict', () => {
  const { probe, steps } = failedProbe(silent);
  const target = peers(COUNT).find((m) => m.name === probe.target) as { host: string; port: number };
  const pings = steps.flatMap((s) => sentOfType(s.effects, 'ping').filter((p) => p.msg.target === probe.target).map((p) => ({ at: s.at, ...p })));
  assert.deepEqual(pings.map((p) => p.at), [probe.at, probe.at + LAN.probeTimeoutMs / 2],
    'the direct ping, then once more halfway through the probe timeout' + reproduce(SEED));
  assert.equal(pings[0]?.msg.seq, probe.seq);
  assert.notEqual(pings[1]?.msg.seq, probe.seq, 'the resend has its own sequence number: its ack says which send it answers');
  const reqs = steps.flatMap((s) => sentOfType(s.effects, 'ping-req').map((r) => ({ at: s.at, ...r })));
  assert.equal(reqs.length, LAN.indirectChecks);
  const helpers = new Set(reqs.map((r) => `${r.to.host}:${r.to.port}`));
  assert.equal(helpers.size, LAN.indirectChecks, 'distinct members');
  assert.ok(!helpers.has(`${target.host}:${target.port}`), 'never the target itself');
  for (const r of reqs) {
    assert.equal(r.at, probe.at + LAN.probeTimeoutMs);
    assert.deepEqual(r.msg, {
      type: 'ping-req', seq: probe.seq, target: probe.target, targetHost: target.host, targetPort: target.port,
      source: 'self', sourceHost: SELF.host, sourcePort: SELF.port, wantNack: true, budgetMs: LAN.probeIntervalMs - LAN.probeTimeoutMs,
    });
  }
});

test('probe order: the verdict comes at the next probe tick; missing nacks count against our own health', () => {
  const { node, probe, verdict } = failedProbe(silent);
  assert.deepEqual(memberEvents(verdict.effects).map((e) => [e.member.name, e.member.status]), [[probe.target, 'suspect']], reproduce(SEED));
  assert.equal(node.localHealth(), LAN.indirectChecks, 'one point for each nack that never came');
  // A node that doubts itself slows down: the probe after the one started at the verdict comes one
  // scaled interval later.
  ackPings(node, verdict.at, verdict.effects);
  const next = runProbes(node, 1)[0];
  assert.equal(next?.at, verdict.at + (LAN.indirectChecks + 1) * LAN.probeIntervalMs, reproduce(SEED));
});

test('probe order: with every nack back the failure is the target\'s alone; a relayed ack clears the target', () => {
  const nacked = failedProbe((node, at, req) => deliver(node, at, req.to, { type: 'nack', seq: req.msg.seq }));
  assert.equal(nacked.node.member(nacked.probe.target)?.status, 'suspect', reproduce(SEED));
  assert.equal(nacked.node.localHealth(), 0, 'every relay answered: our own links are fine');

  const relayed = failedProbe((node, at, req) => deliver(node, at, req.to, { type: 'ack', seq: req.msg.seq }));
  assert.equal(relayed.node.member(relayed.probe.target)?.status, 'alive', reproduce(SEED));
  assert.deepEqual([...relayed.steps, relayed.verdict].flatMap((s) => memberEvents(s.effects)), []);
  assert.equal(relayed.node.localHealth(), 0);
});
