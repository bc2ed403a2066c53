/**
 * Lifeguard nacks: a relay that cannot reach the target says so before the requester's verdict, so
 * a healthy requester is not penalised (its awareness raised) as if its relays had not answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import { Packr } from 'msgpackr';
import { type GossipMsg, MessageType, PROTOCOL_VERSION, type PingReqMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES, type Profile, RELAY_NACK_SHARE, type RtoBounds } from '../protocol/profiles.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

function allAlive(sim: Simulator, names: readonly string[]): boolean {
  return names.every((o) => {
    const view = sim.node(o).members();
    return names.every((t) => view.some((m) => m.name === t && m.status === 'alive'));
  });
}

/** Highest awareness any of `observers` reaches while the down `target` is probed, suspected and declared dead. */
function awarenessWhileTargetDown(profile: Profile['name'], seed: number, latencyMs: number, jitterMs: number): { worst: number; who: string } {
  const sim = new Simulator({ seed, profile, latencyMs, jitterMs, loss: 0 });
  const names = sim.addNodes(12);
  sim.joinAll([names[0] as string], { spreadMs: 200 });
  assert.notEqual(sim.runUntilCondition(() => allAlive(sim, names), 120_000, 50), null, 'join' + reproduce(seed));
  // Let the join's awareness settle: every healthy probe lowers it again.
  sim.runFor(20 * PROFILES[profile].probeIntervalMs);
  const victim = names[5] as string;
  const others = names.filter((n) => n !== victim);
  assert.deepEqual(others.map((n) => sim.node(n).localHealth()).filter((h) => h > 0), [], 'healthy before the crash' + reproduce(seed));
  sim.crash(victim);
  let worst = 0;
  let who = '';
  const until = sim.now + 40 * PROFILES[profile].probeIntervalMs;
  while (sim.now < until) {
    sim.runFor(PROFILES[profile].probeTimeoutMs / 10);
    for (const n of others) {
      const h = sim.node(n).localHealth();
      if (h > worst) {
        worst = h;
        who = n;
      }
    }
  }
  assert.ok(others.every((o) => sim.membersStatusAt(o, victim) === 'dead'), `${victim} declared dead everywhere` + reproduce(seed));
  return { worst, who };
}

test('lan, 5 ms latency: probing a crashed member does not raise a healthy prober\'s awareness', () => {
  const seed = testSeed(8101);
  const { worst, who } = awarenessWhileTargetDown('lan', seed, 5, 2);
  assert.equal(worst, 0, `${who} reached awareness ${worst}: its relays' nacks arrived after its verdict` + reproduce(seed));
});

test('wan, 60 ms latency: probing a crashed member does not raise a healthy prober\'s awareness', () => {
  const seed = testSeed(8102);
  const { worst, who } = awarenessWhileTargetDown('wan', seed, 60, 20);
  assert.equal(worst, 0, `${who} reached awareness ${worst}: its relays' nacks arrived after its verdict` + reproduce(seed));
});

function relay(profile: Profile): SwimNode {
  return new SwimNode({ name: 'relay', host: '10.0.0.2', port: 7946, profile, seed: 1, now: 0 });
}

function pingReq(budgetMs: number | undefined): Uint8Array {
  const msg: PingReqMsg = {
    type: 'ping-req', seq: 77, target: 'gone', targetHost: '10.0.0.9', targetPort: 7946,
    source: 'req', sourceHost: '10.0.0.1', sourcePort: 7946, wantNack: true,
    ...(budgetMs === undefined ? {} : { budgetMs }),
  };
  return encodePacket(msg);
}

test('a relay nacks inside the window the ping-req gives, and within the default window without one', () => {
  const lan = PROFILES.lan;
  for (const budget of [undefined, 1_000, 40]) {
    const node = relay(lan);
    const from = { host: '10.0.0.1', port: 7946 };
    let nackAt: number | null = null;
    const look = (t: number, effects: readonly Effect[]): void => {
      for (const e of effects) {
        if (e.kind !== 'send' || e.to.host !== from.host) continue;
        const d = decodePacket(e.bytes);
        if (!d.ok) continue;
        const parts = d.value.type === 'compound' ? d.value.parts : [d.value];
        if (nackAt === null && parts.some((p) => p.type === 'nack' && p.seq === 77)) nackAt = t;
      }
    };
    const start = 1_000;
    look(start, node.handlePacket(start, from, pingReq(budget)));
    for (let t = start; t <= start + 2_000 && nackAt === null; t++) {
      const next = node.nextDeadline();
      if (next !== null && next <= t) look(t, node.tick(t));
    }
    const window = budget ?? lan.probeIntervalMs - lan.probeTimeoutMs;
    assert.notEqual(nackAt, null, `budget ${String(budget)}: no nack`);
    const after = (nackAt as unknown as number) - start;
    assert.ok(after < window, `budget ${String(budget)}: nack after ${after} ms, window ${window} ms`);
    // At 80% of the window, or once the relay's own timeout for the target (unmeasured: the
    // initial one) has passed, if that is sooner.
    const expected = Math.ceil(Math.min(window * RELAY_NACK_SHARE, (lan.rto as RtoBounds).initialMs));
    assert.equal(after, expected, `budget ${String(budget)}: nack after ${after} ms, expected ${expected} ms`);
  }
});

test('ping-req budget: round-trips, absent from older agents, out of range rejected', () => {
  const with1 = decodePacket(pingReq(1_234));
  assert.ok(with1.ok && with1.value.type === 'ping-req' && with1.value.budgetMs === 1_234);
  const without = decodePacket(pingReq(undefined));
  assert.ok(without.ok && without.value.type === 'ping-req' && without.value.budgetMs === undefined);
  // Built by hand: the encoder refuses to write what every peer would drop.
  const fields = [77, 'gone', '10.0.0.9', 7946, 'req', '10.0.0.1', 7946, true, 60_001];
  const body = new Packr({ useRecords: false, moreTypes: false }).pack(fields);
  const tooLong = decodePacket(new Uint8Array([PROTOCOL_VERSION, MessageType.PingReq, ...body]));
  assert.ok(!tooLong.ok && tooLong.reason === 'bad_field', 'a budget above LIMITS.probeBudgetMsMax is refused');
});

test('a relay that has nacked still forwards an ack that arrives inside the window, and forgets the probe after it', () => {
  const node = relay(PROFILES.lan);
  const requester = { host: '10.0.0.1', port: 7946 };
  const target = { host: '10.0.0.9', port: 7946 };
  const partsTo = (effects: readonly Effect[], host: string): GossipMsg[] => effects.flatMap((e) => {
    if (e.kind !== 'send' || e.to.host !== host) return [];
    const d = decodePacket(e.bytes);
    if (!d.ok) return [];
    return d.value.type === 'compound' ? [...d.value.parts] : [d.value];
  });
  const sent = partsTo(node.handlePacket(0, requester, pingReq(1_000)), target.host);
  const ping = sent.find((p) => p.type === 'ping');
  assert.ok(ping !== undefined && ping.type === 'ping');
  const nacked = partsTo(node.tick(800), requester.host);
  assert.ok(nacked.some((p) => p.type === 'nack' && p.seq === 77), 'nack at 80% of the window');
  const late = partsTo(node.handlePacket(900, target, encodePacket({ type: 'ack', seq: ping.seq })), requester.host);
  assert.ok(late.some((p) => p.type === 'ack' && p.seq === 77), 'the late ack is passed on');
  // A second probe whose target answers only after the window: nothing goes back.
  const ping2 = partsTo(node.handlePacket(2_000, requester, pingReq(1_000)), target.host).find((p) => p.type === 'ping');
  assert.ok(ping2 !== undefined && ping2.type === 'ping');
  node.tick(2_800);
  node.tick(3_000);
  const tooLate = partsTo(node.handlePacket(3_100, target, encodePacket({ type: 'ack', seq: ping2.seq })), requester.host);
  assert.ok(!tooLate.some((p) => p.type === 'ack'), 'an ack after the window is dropped');
});
