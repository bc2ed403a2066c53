import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import type { Effect, MemberView } from '../protocol/effects.js';
import { Driver, type PushPullFn } from '../daemon/driver.js';
import type { CoreNode, CoreResult } from '../protocol/core.js';
import { AgentEvents } from '../daemon/events.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';

const PEER: Address = { host: '127.0.0.1', port: 1 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A core with a fixed tick period; every input and its time is recorded. */
class FakeNode implements CoreNode {
  readonly name = 'fake';
  readonly calls: string[] = [];
  readonly tickTimes: number[] = [];
  next: number | null;
  onTick: (now: number) => Effect[] = () => [];
  throwOnPacket = false;

  constructor(start: number, readonly period: number) {
    this.next = start + period;
  }
  join(): Effect[] { this.calls.push('join'); return []; }
  handlePacket(): Effect[] {
    this.calls.push('packet');
    if (this.throwOnPacket) throw new Error('boom');
    return [];
  }
  handlePushPull(): CoreResult<Uint8Array | null> { this.calls.push('push-pull'); return { value: new Uint8Array([9]), effects: [] }; }
  handlePushPullReply(_now: number, _from: Address, bytes: Uint8Array): Effect[] { this.calls.push(`reply:${bytes.length}`); return []; }
  handlePushPullFailed(): Effect[] { this.calls.push('failed'); return []; }
  leave(): Effect[] { this.calls.push('leave'); return []; }
  members(): MemberView[] { return []; }
  nextDeadline(): number | null { return this.next; }
  tick(now: number): Effect[] {
    this.tickTimes.push(now);
    // Absolute schedule, as the real core keeps it: late ticks do not shift later deadlines.
    if (this.next !== null) while (this.next <= now) this.next += this.period;
    return this.onTick(now);
  }
}

function makeDriver(node: FakeNode, pushPull: PushPullFn = () => Promise.reject(new Error('unused'))) {
  const metrics = new Metrics();
  const log = silentLogger();
  const sent: Address[] = [];
  const driver = new Driver({
    node, udp: { send: (to) => sent.push(to) }, pushPull, clock: () => performance.now(), metrics, log, events: new AgentEvents(log),
  });
  return { driver, metrics, sent };
}

test('ticks follow the core deadlines and a blocked loop is counted as a late tick', async (t) => {
  const node = new FakeNode(performance.now(), 10);
  const { driver, metrics } = makeDriver(node);
  driver.start();
  // A failed assertion must not leave the driver's timer holding the test process open.
  t.after(() => driver.stop());
  // Three ticks of a 10 ms period: within 55 ms on an idle machine; a loaded one gets 2 s.
  const by = performance.now() + 2_000;
  while (node.tickTimes.length < 3 && performance.now() < by) await sleep(10);
  const before = node.tickTimes.length;
  assert.ok(before >= 3, `ticks so far: ${before}`);
  const lateBefore = metrics.lateTicks;
  const end = performance.now() + DAEMON_LIMITS.lateTickThresholdMs + 40;
  while (performance.now() < end) { /* block the event loop */ }
  await sleep(30);
  driver.stop();
  const late = metrics.lateTicks - lateBefore;
  // One late firing, not a burst of catch-up ticks (a busy machine may add one more).
  assert.ok(late >= 1 && late <= 2, `late ticks: ${late}`);
  assert.ok(metrics.tickLatenessMaxMs > DAEMON_LIMITS.lateTickThresholdMs);
  const n = node.tickTimes.length;
  await sleep(30);
  assert.equal(node.tickTimes.length, n, 'no ticks after stop');
});

test('push-pull effects are carried out and their outcome fed back', async () => {
  const node = new FakeNode(performance.now(), 1e9);
  let calls = 0;
  const { driver, metrics } = makeDriver(node, async () => {
    calls++;
    if (calls === 1) return new Uint8Array([1, 2, 3]);
    throw new Error('refused');
  });
  const outcomes: boolean[] = [];
  driver.onPushPullOutcome((o) => outcomes.push(o.ok));
  node.onTick = () => [];
  // Effects come from any input; use join's path through a fake that emits two push-pulls.
  node.join = () => [
    { kind: 'push-pull', to: PEER, bytes: new Uint8Array([0]), join: true },
    { kind: 'push-pull', to: PEER, bytes: new Uint8Array([0]), join: true },
    { kind: 'rejected', reason: 'malformed', detail: 'x' },
  ];
  driver.join([PEER]);
  await sleep(10);
  assert.deepEqual(node.calls.filter((c) => c !== 'join').sort(), ['failed', 'reply:3']);
  assert.deepEqual(outcomes.sort(), [false, true]);
  assert.equal(metrics.streams.get('out\u0000ok'), 1);
  assert.equal(metrics.streams.get('out\u0000failed'), 1);
  assert.equal(metrics.rejected.get('malformed'), 1);
  driver.stop();
});

test('outbound push-pulls beyond the cap fail fast', async () => {
  const node = new FakeNode(performance.now(), 1e9);
  const hang = new Promise<Uint8Array>(() => undefined);
  const { driver, metrics } = makeDriver(node, () => hang);
  const n = DAEMON_LIMITS.streamsOutboundMax + 2;
  node.join = () => Array.from({ length: n }, () => ({ kind: 'push-pull', to: PEER, bytes: new Uint8Array(0), join: false }) as const);
  driver.join([PEER]);
  await sleep(10);
  assert.equal(metrics.streams.get('out\u0000refused'), 2);
  assert.equal(node.calls.filter((c) => c === 'failed').length, 2);
  driver.stop();
});

test('a throwing core loses the input, not the agent', () => {
  const node = new FakeNode(performance.now(), 1e9);
  const { driver, metrics } = makeDriver(node);
  node.throwOnPacket = true;
  driver.handlePacket(PEER, new Uint8Array([1]));
  assert.equal(metrics.rejected.get('internal_error'), 1);
  node.throwOnPacket = false;
  driver.handlePacket(PEER, new Uint8Array([1]));
  assert.deepEqual(driver.handlePushPull(PEER, new Uint8Array([1])), new Uint8Array([9]));
  driver.stop();
  assert.equal(driver.handlePushPull(PEER, new Uint8Array([1])), null, 'stopped driver serves nothing');
});
