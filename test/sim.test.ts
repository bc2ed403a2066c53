/**
 * Tests of the simulator itself, with small fake nodes so that the results depend on the simulator
 * alone and not on protocol behaviour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address } from '../protocol/address.js';
import type { CoreResult } from '../protocol/core.js';
import type { Effect, MemberView } from '../protocol/effects.js';
import { SwimNode, type SwimNodeOptions } from '../protocol/node.js';
import { Rng } from '../protocol/rng.js';
import { EventQueue, SimRunawayError, Simulator, type SimulatorOptions } from '../protocol/sim/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Records every input; answers "ping:x" with "pong:x" and push-pulls with "re:x" (or nothing when refusing). */
class EchoNode {
  readonly name: string;
  readonly log: string[] = [];
  readonly timers: number[] = [];
  readonly incarnation: number | undefined;
  refusePushPull = false;
  /** Set when tick() is called before the deadline the node announced. */
  earlyTick = false;

  constructor(opts: SwimNodeOptions) {
    this.name = opts.name;
    this.incarnation = opts.incarnation;
  }

  send(to: Address, text: string): Effect[] {
    return [{ kind: 'send', to, bytes: enc.encode(text) }];
  }

  pushPull(to: Address, text: string): Effect[] {
    return [{ kind: 'push-pull', to, bytes: enc.encode(text), join: false }];
  }

  join(now: number, seeds: readonly Address[]): Effect[] {
    this.log.push(`${now} join ${seeds.map((s) => s.host).join(',')}`);
    return seeds.flatMap((s) => this.send(s, `hello:${this.name}`));
  }

  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    const text = dec.decode(bytes);
    this.log.push(`${now} recv ${from.host} ${text}`);
    if (text.startsWith('ping:')) return this.send(from, `pong:${text.slice(5)}`);
    if (text.startsWith('event:')) {
      const member: MemberView = { name: text.slice(6), host: from.host, port: from.port, incarnation: 0, status: 'alive' };
      return [{ kind: 'event', event: { type: 'member', member, previous: null } }, { kind: 'rejected', reason: 'limit', detail: 'x' }];
    }
    return [];
  }

  handlePushPull(now: number, from: Address, bytes: Uint8Array): CoreResult<Uint8Array | null> {
    const text = dec.decode(bytes);
    this.log.push(`${now} pp-in ${from.host} ${text}`);
    return { value: this.refusePushPull ? null : enc.encode(`re:${text}`), effects: [] };
  }

  handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] {
    this.log.push(`${now} pp-reply ${from.host} ${dec.decode(bytes)}`);
    return [];
  }

  handlePushPullFailed(now: number, to: Address): Effect[] {
    this.log.push(`${now} pp-failed ${to.host}`);
    return [];
  }

  leave(): Effect[] {
    return [];
  }

  tick(now: number): Effect[] {
    const d = this.nextDeadline();
    if (d === null || now < d) this.earlyTick = true;
    this.log.push(`${now} tick`);
    this.timers.splice(0, this.timers.length, ...this.timers.filter((t) => t > now));
    return [];
  }

  nextDeadline(): number | null {
    return this.timers.length === 0 ? null : Math.min(...this.timers);
  }

  members(): MemberView[] {
    return [];
  }
}

function echoSim(opts: Omit<SimulatorOptions<EchoNode>, 'factory'>): Simulator<EchoNode> {
  return new Simulator<EchoNode>({ ...opts, factory: (o) => new EchoNode(o) });
}

function count(node: EchoNode, word: string): number {
  return node.log.filter((l) => l.split(' ')[1] === word).length;
}

/** Gossips to random peers on a jittered timer, with its own seeded Rng: randomness on both sides. */
class GossipNode extends EchoNode {
  peers: Address[] = [];
  private readonly rng: Rng;
  private sent = 0;

  constructor(opts: SwimNodeOptions) {
    super(opts);
    this.rng = new Rng(opts.seed);
    this.timers.push(this.rng.int(10));
  }

  override tick(now: number): Effect[] {
    super.tick(now);
    this.timers.push(now + 5 + this.rng.int(10));
    const to = this.peers[this.rng.int(this.peers.length)];
    return to === undefined ? [] : this.send(to, `ping:${this.name}.${this.sent++}`);
  }
}

function gossipRun(seed: number): string[] {
  const sim = new Simulator<GossipNode>({
    seed, latencyMs: 5, jitterMs: 4, loss: 0.1, factory: (o) => new GossipNode(o),
  });
  const names = sim.addNodes(20);
  const addrs = names.map((n) => sim.address(n));
  for (const n of names) sim.node(n).peers = addrs.filter((a) => a !== sim.address(n));
  sim.setNodeLoss('n3', 0.3);
  sim.runFor(300);
  sim.pause('n5', 100);
  sim.crash('n7');
  sim.runFor(300);
  sim.restart('n7');
  sim.node('n7').peers = addrs;
  sim.runFor(400);
  return names.flatMap((n) => sim.node(n).log.map((l) => `${n} ${l}`)).concat(JSON.stringify(sim.stats.drops));
}

test('event queue pops by time, then insertion order', () => {
  const q = new EventQueue<{ time: number; seq: number; id: number }>();
  const rng = new Rng(7);
  const items = Array.from({ length: 2000 }, (_, id) => ({ time: rng.int(50), seq: 0, id }));
  for (const it of items) q.schedule(it.time, it);
  const out: { time: number; id: number }[] = [];
  for (let it = q.pop(); it !== undefined; it = q.pop()) out.push(it);
  const expected = [...items].sort((a, b) => a.time - b.time || a.id - b.id);
  assert.deepEqual(out.map((o) => o.id), expected.map((o) => o.id));
});

test('same seed gives an identical run; another seed a different one', () => {
  const a = gossipRun(42);
  const b = gossipRun(42);
  assert.ok(a.length > 1000, `too little traffic: ${a.length}`);
  assert.deepEqual(a, b);
  assert.notDeepEqual(gossipRun(43), a);
});

test('latency: base, per-link override and jitter bounds', () => {
  const sim = echoSim({ seed: 1, latencyMs: 10 });
  const [a, b, c] = sim.addNodes(3) as [string, string, string];
  sim.setLink(a, c, { latencyMs: 50 });
  sim.act(a, (n) => [...n.send(sim.address(c), 'x'), ...n.send(sim.address(b), 'y')]);
  sim.runFor(100);
  assert.deepEqual(sim.node(b).log, ['10 recv 10.0.0.1 y']);
  assert.deepEqual(sim.node(c).log, ['50 recv 10.0.0.1 x']);

  const j = echoSim({ seed: 2, latencyMs: 20, jitterMs: 5 });
  const [p, q] = j.addNodes(2) as [string, string];
  j.act(p, (n) => Array.from({ length: 200 }, (_, i) => n.send(j.address(q), `m${i}`)).flat());
  j.runFor(100);
  const times = j.node(q).log.map((l) => Number(l.split(' ')[0]));
  assert.equal(times.length, 200);
  assert.ok(times.every((t) => t >= 15 && t <= 25), 'jitter out of bounds');
  assert.ok(new Set(times).size > 100, 'jitter should spread arrival times');
  assert.ok(times.every((t, i) => i === 0 || t >= (times[i - 1] as number)), 'arrivals happen in time order');
});

test('loss rates follow the configuration (global, per link, per node)', () => {
  const seed = 1234;
  const N = 20_000;
  const sim = echoSim({ seed, latencyMs: 1, loss: 0.2 });
  const [a, b, c, d] = sim.addNodes(4) as [string, string, string, string];
  sim.setLink(a, c, { loss: 1 });
  sim.setLink(a, d, { loss: 0 });
  sim.setNodeLoss(d, 0.5);
  sim.act(a, (n) => {
    const out: Effect[] = [];
    for (let i = 0; i < N; i++) out.push(...n.send(sim.address(b), 'p'), ...n.send(sim.address(c), 'p'), ...n.send(sim.address(d), 'p'));
    return out;
  });
  sim.runFor(10);
  const rb = count(sim.node(b), 'recv') / N;
  const rd = count(sim.node(d), 'recv') / N;
  assert.ok(Math.abs(rb - 0.8) < 0.015, `seed ${seed}: global loss 0.2 delivered ${rb}`);
  assert.equal(count(sim.node(c), 'recv'), 0, `seed ${seed}: link loss 1 delivered something`);
  assert.ok(Math.abs(rd - 0.5) < 0.015, `seed ${seed}: node loss 0.5 delivered ${rd}`);
  assert.equal(sim.stats.packetsSent, 3 * N);
  assert.equal(sim.stats.drops.loss + sim.stats.packetsDelivered, 3 * N);
  assert.equal(sim.stats.packetsDropped, sim.stats.drops.loss);
});

test('symmetric partition blocks both ways until healed', () => {
  const sim = echoSim({ seed: 3, latencyMs: 1 });
  const [a, b, c] = sim.addNodes(3) as [string, string, string];
  sim.partition([[a, b]]); // c is left in the remaining group
  for (const [x, y] of [[a, b], [a, c], [c, a], [c, b]] as const) sim.act(x, (n) => n.send(sim.address(y), 'p1'));
  sim.runFor(10);
  assert.equal(count(sim.node(b), 'recv'), 1);
  assert.equal(count(sim.node(c), 'recv'), 0);
  assert.equal(count(sim.node(a), 'recv'), 0);
  assert.equal(sim.stats.drops.partition, 3);
  sim.heal();
  sim.act(c, (n) => n.send(sim.address(a), 'p2'));
  sim.runFor(10);
  assert.equal(count(sim.node(a), 'recv'), 1);
});

test('one-way block: datagrams flow the other way, push-pull needs both', () => {
  const sim = echoSim({ seed: 4, latencyMs: 5, connectTimeoutMs: 1000 });
  const [a, b] = sim.addNodes(2) as [string, string];
  sim.blockOneWay(a, b);
  sim.act(a, (n) => n.send(sim.address(b), 'lost'));
  sim.act(b, (n) => n.send(sim.address(a), 'arrives'));
  sim.act(b, (n) => n.pushPull(sim.address(a), 'state'));
  sim.runFor(2000);
  assert.equal(count(sim.node(b), 'recv'), 0);
  assert.deepEqual(sim.node(a).log, ['5 recv 10.0.0.2 arrives']);
  assert.deepEqual(sim.node(b).log, ['1000 pp-failed 10.0.0.1']);
  sim.unblockOneWay(a, b);
  sim.act(b, (n) => n.pushPull(sim.address(a), 'state'));
  sim.runFor(100);
  assert.deepEqual(sim.node(b).log.slice(1), ['2010 pp-reply 10.0.0.1 re:state']);
  assert.equal(sim.stats.pushPullsCompleted, 1);
  assert.equal(sim.stats.pushPullsFailed, 1);
});

test('push-pull: refused reply, crashed peer, and stream timeout on a paused peer', () => {
  const sim = echoSim({ seed: 5, latencyMs: 5, connectTimeoutMs: 1000, streamTimeoutMs: 3000 });
  const [a, b, c, d] = sim.addNodes(4) as [string, string, string, string];
  sim.node(b).refusePushPull = true;
  sim.crash(c);
  sim.pause(d, 5000);
  sim.act(a, (n) => [...n.pushPull(sim.address(b), 'x'), ...n.pushPull(sim.address(c), 'y'), ...n.pushPull(sim.address(d), 'z')]);
  sim.runFor(6000);
  assert.deepEqual(sim.node(a).log, ['10 pp-failed 10.0.0.2', '1000 pp-failed 10.0.0.3', '3000 pp-failed 10.0.0.4']);
  // The paused peer still reads the request when it resumes; its late reply is discarded.
  assert.deepEqual(sim.node(d).log, ['5000 pp-in 10.0.0.1 z']);
  assert.equal(sim.stats.pushPullsFailed, 3);
});

test('crash drops traffic and timers; restart is a fresh process that can join', () => {
  const seen: number[] = [];
  const sim = new Simulator<EchoNode>({
    seed: 6, latencyMs: 10, factory: (o) => {
      seen.push(o.seed);
      const n = new EchoNode(o);
      n.timers.push(o.now + 50);
      return n;
    },
  });
  const [a, b] = sim.addNodes(2) as [string, string];
  const old = sim.node(b);
  sim.act(a, (n) => n.send(sim.address(b), 'in-flight'));
  sim.runFor(5);
  sim.crash(b);
  assert.equal(sim.isUp(b), false);
  sim.act(a, (n) => n.send(sim.address(b), 'to-dead'));
  sim.runFor(100);
  assert.deepEqual(old.log, [], 'a crashed node handles nothing and its timer never fires');
  assert.equal(sim.stats.drops.down, 2);
  sim.restart(b, { incarnation: 9, seeds: [a] });
  const fresh = sim.node(b);
  assert.notEqual(fresh, old);
  assert.equal(fresh.incarnation, 9);
  assert.equal(new Set(seen).size, 3, 'each process gets its own seed');
  sim.runFor(100);
  assert.deepEqual(fresh.log, ['105 join 10.0.0.1', '155 tick']);
  assert.deepEqual(sim.node(a).log, ['50 tick', '115 recv 10.0.0.2 hello:n1']);
});

test('pause queues packets, delivers them in order on resume, then fires the late timer', () => {
  const sim = echoSim({ seed: 7, latencyMs: 10, recvQueueMax: 3 });
  const [a, b] = sim.addNodes(2) as [string, string];
  sim.act(b, (n) => {
    n.timers.push(300);
    return [];
  });
  sim.runUntil(100);
  sim.pause(b, 500);
  sim.runUntil(150);
  sim.act(a, (n) => n.send(sim.address(b), 'ping:1'));
  sim.runUntil(200);
  sim.act(a, (n) => [...n.send(sim.address(b), 'ping:2'), ...n.send(sim.address(b), 'ping:3'), ...n.send(sim.address(b), 'ping:4')]);
  sim.runUntil(599);
  assert.deepEqual(sim.node(b).log, []);
  assert.equal(sim.isPaused(b), true);
  sim.runUntil(700);
  assert.deepEqual(sim.node(b).log, ['600 recv 10.0.0.1 ping:1', '600 recv 10.0.0.1 ping:2', '600 recv 10.0.0.1 ping:3', '600 tick']);
  assert.deepEqual(sim.node(a).log, ['610 recv 10.0.0.2 pong:1', '610 recv 10.0.0.2 pong:2', '610 recv 10.0.0.2 pong:3']);
  assert.equal(sim.stats.drops.overflow, 1);
  assert.equal(sim.node(b).earlyTick, false);
});

test('wake-ups follow the deadline as it moves; tick is never early', () => {
  const sim = echoSim({ seed: 8 });
  const [a] = sim.addNodes(1) as [string];
  sim.act(a, (n) => {
    n.timers.push(100);
    return [];
  });
  sim.runUntil(10);
  sim.act(a, (n) => {
    n.timers.push(50);
    return [];
  });
  sim.runUntil(60);
  sim.act(a, (n) => {
    n.timers.splice(0, n.timers.length, 200);
    return [];
  });
  sim.runUntil(300);
  assert.deepEqual(sim.node(a).log, ['50 tick', '200 tick']);
  assert.equal(sim.node(a).earlyTick, false);
});

test('member events and rejections are recorded and reported', () => {
  const seenBy: string[] = [];
  const sim = new Simulator<EchoNode>({
    seed: 9, latencyMs: 2, factory: (o) => new EchoNode(o),
    onEvent: (t, observer, ev) => seenBy.push(`${t} ${observer} ${ev.member.name}`),
  });
  const [a, b] = sim.addNodes(2) as [string, string];
  sim.act(a, (n) => n.send(sim.address(b), 'event:zed'));
  sim.runFor(10);
  assert.deepEqual(seenBy, ['2 n1 zed']);
  assert.equal(sim.events.length, 1);
  assert.equal(sim.events[0]?.observer, b);
  assert.equal(sim.stats.rejected.get('limit'), 1);
});

test('runUntilCondition reports when a condition first holds, or null', () => {
  const sim = echoSim({ seed: 10, latencyMs: 25 });
  const [a, b] = sim.addNodes(2) as [string, string];
  sim.act(a, (n) => n.send(sim.address(b), 'x'));
  assert.equal(sim.runUntilCondition((s) => s.node(b).log.length > 0, 1000, 10), 30);
  assert.equal(sim.runUntilCondition((s) => s.node(a).log.length > 0, 100, 10), null);
  assert.equal(sim.now, 130);
});

test('a runaway run is stopped by the event guard', () => {
  const sim = new Simulator<EchoNode>({
    seed: 11, maxEventsPerRun: 1000, factory: (o) => {
      const n = new EchoNode(o);
      // A deadline that never advances: every tick leaves the node due again.
      n.nextDeadline = () => 0;
      return n;
    },
  });
  sim.addNode();
  assert.throws(() => sim.runFor(10), SimRunawayError);
});

test('the default factory builds real SwimNodes with unique addresses', () => {
  const sim = new Simulator({ seed: 12 });
  const names = sim.addNodes(3);
  assert.ok(sim.node('n0') instanceof SwimNode);
  assert.equal(new Set(names.map((n) => sim.address(n).host)).size, 3);
  assert.equal(sim.address('n0').port, 7946);
});
