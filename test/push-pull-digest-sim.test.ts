/**
 * Periodic push-pull with state digests on the simulator: members that agree exchange only
 * digests, and members that differ in one member status, one catalog entry or one split repair it
 * with a full exchange, as before; under loss and a partition every node still converges.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Address } from '../protocol/address.js';
import { pushPullIntervalMs } from '../protocol/anti-entropy.js';
import { decodePacket, decodePushPull, encodePacket } from '../protocol/codec.js';
import type { CoreResult } from '../protocol/core.js';
import type { Effect } from '../protocol/effects.js';
import type { GossipMsg } from '../protocol/messages.js';
import { SwimNode, type SwimNodeOptions } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { Rng } from '../protocol/rng.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

/** One push-pull stream as the two ends saw it. */
interface Exchange {
  readonly from: string;
  /** The request: a digest only, or a state. */
  readonly request: 'digest' | 'full' | 'join';
  readonly requestBytes: number;
  /** Set when the reply was written. */
  reply?: 'in-sync' | 'full';
  replyBytes?: number;
}

/** Every push-pull of a simulation, in order; requests and replies are paired by the initiator. */
class Log {
  readonly exchanges: Exchange[] = [];
  private readonly open = new Map<string, Exchange>();

  request(from: string, to: Address, bytes: Uint8Array, join: boolean): void {
    const d = decodePushPull(bytes);
    assert.ok(d.ok, 'a request this node encoded decodes');
    // A digest alone, or a state (which after a digest carries one too).
    const digestOnly = d.value.digest !== undefined && d.value.members.length === 0;
    const ex: Exchange = { from, request: join ? 'join' : digestOnly ? 'digest' : 'full', requestBytes: bytes.length };
    this.exchanges.push(ex);
    this.open.set(`${from}>${to.host}:${to.port}`, ex);
  }

  reply(initiator: string, self: Address, bytes: Uint8Array): void {
    const ex = this.open.get(`${initiator}>${self.host}:${self.port}`);
    if (ex === undefined) return;
    const d = decodePushPull(bytes);
    assert.ok(d.ok, 'a reply this node encoded decodes');
    ex.reply = d.value.inSync === true ? 'in-sync' : 'full';
    ex.replyBytes = bytes.length;
  }

  since(mark: number): Exchange[] {
    return this.exchanges.slice(mark);
  }
}

/** Drops incoming gossip parts that `drop` matches (a node that missed exactly those updates). */
class LoggedNode extends SwimNode {
  drop: ((m: GossipMsg) => boolean) | null = null;

  constructor(opts: SwimNodeOptions, private readonly log: Log, private readonly address: Address, private readonly nameOf: (a: Address) => string) {
    super(opts);
  }

  override handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    const drop = this.drop;
    const decoded = decodePacket(bytes);
    if (drop === null || !decoded.ok) return this.observe(super.handlePacket(now, from, bytes));
    const msg = decoded.value;
    const parts = (msg.type === 'compound' ? msg.parts : [msg]).filter((p) => !drop(p));
    if (parts.length === 0) return [];
    return this.observe(super.handlePacket(now, from, encodePacket(parts.length === 1 ? parts[0] as GossipMsg : { type: 'compound', parts })));
  }

  override handlePushPull(now: number, from: Address, bytes: Uint8Array): CoreResult<Uint8Array | null> {
    const r = super.handlePushPull(now, from, bytes);
    if (r.value !== null) this.log.reply(this.nameOf(from), this.address, r.value);
    return { value: r.value, effects: this.observe(r.effects) };
  }

  override join(now: number, seeds: readonly Address[]): Effect[] { return this.observe(super.join(now, seeds)); }
  override handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] { return this.observe(super.handlePushPullReply(now, from, bytes)); }
  override handlePushPullFailed(now: number, to: Address): Effect[] { return this.observe(super.handlePushPullFailed(now, to)); }
  override tick(now: number): Effect[] { return this.observe(super.tick(now)); }

  private observe(effects: Effect[]): Effect[] {
    for (const e of effects) if (e.kind === 'push-pull') this.log.request(this.name, e.to, e.bytes, e.join);
    return effects;
  }
}

function cluster(seed: number, n: number, loss = 0): { sim: Simulator<LoggedNode>; names: string[]; log: Log } {
  const log = new Log();
  const byHost = new Map<string, string>();
  const sim: Simulator<LoggedNode> = new Simulator<LoggedNode>({
    seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, loss, recordEvents: false,
    factory: (opts) => {
      byHost.set(opts.host, opts.name);
      return new LoggedNode(opts, log, { host: opts.host, port: opts.port }, (a) => byHost.get(a.host) ?? '?');
    },
  });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  quiesce(sim, names, seed);
  return { sim, names, log };
}

function quiesce(sim: Simulator<LoggedNode>, names: readonly string[], seed: number): void {
  const quiet = sim.runUntilCondition(() => names.every((o) => !sim.isUp(o) || sim.node(o).pendingBroadcasts() === 0), 60_000, 50);
  assert.notEqual(quiet, null, 'gossip did not settle' + reproduce(seed));
}

/** Everything the digest covers, as one node sees it: equal strings mean the states agree. */
function stateOf(node: SwimNode): string {
  const members = node.members().map((m) => `${m.name}@${m.host}:${m.port}/${m.incarnation}/${m.status}`).sort();
  const services = node.services().map((s) => `${s.node}/${s.id}/${s.rev}/${s.health}`).sort();
  const splits = node.splits().map((s) => `${s.service}/${s.writer}/${s.wallMs}/${s.counter}`).sort();
  return JSON.stringify({ members, services, splits });
}

const INTERVAL_MS = (n: number): number => pushPullIntervalMs(n, PROFILES.lan);

/** Periodic exchanges (not joins) that completed. */
function answered(exchanges: readonly Exchange[]): Exchange[] {
  return exchanges.filter((e) => e.request !== 'join' && e.reply !== undefined);
}

test('members that agree exchange digests only, a few dozen bytes each way', () => {
  const seed = testSeed(7301);
  const n = 8;
  const { sim, names, log } = cluster(seed, n);
  sim.act(names[2] as string, (node, now) => node.registerService(now, { id: 'web', name: 'web', address: '10.9.0.1', port: 80 }).effects);
  sim.act(names[5] as string, (node, now) => node.writeSplit(now, 1_000, 'web', { v1: 60, v2: 40 }).effects);
  quiesce(sim, names, seed);
  sim.runFor(5_000);
  const mark = log.exchanges.length;
  sim.runFor(3 * INTERVAL_MS(n));
  const done = answered(log.since(mark));
  assert.ok(done.length >= 2 * n, `about one exchange per node per interval, saw ${done.length}` + reproduce(seed));
  for (const e of done) {
    assert.equal(e.request, 'digest', 'a periodic exchange starts with a digest' + reproduce(seed));
    assert.equal(e.reply, 'in-sync', `agreeing members answer in sync (from ${e.from})` + reproduce(seed));
    assert.ok(e.requestBytes + (e.replyBytes ?? 0) < 120, `an in-sync exchange is small: ${e.requestBytes} + ${e.replyBytes} bytes` + reproduce(seed));
  }
});

/**
 * `deaf` misses the gossip `drop` matches while `change` is made; the periodic exchanges must then
 * bring it the change: a digest answered with a full state, then a full exchange, and afterwards
 * every member is in sync again.
 */
function repairsOne(seed: number, drop: (m: GossipMsg, victim: string) => boolean, change: (sim: Simulator<LoggedNode>, names: readonly string[]) => void,
  held: (node: SwimNode, victim: string) => boolean): void {
  const n = 6;
  const { sim, names, log } = cluster(seed, n);
  const deaf = names[1] as string;
  const victim = names[4] as string;
  sim.node(deaf).drop = (m) => drop(m, victim);
  change(sim, names);
  quiesce(sim, names, seed);
  sim.runFor(2_000);
  assert.equal(held(sim.node(deaf), victim), false, 'the change missed the deaf member by gossip' + reproduce(seed));
  const mark = log.exchanges.length;
  const repaired = sim.runUntilCondition(() => held(sim.node(deaf), victim), 20 * INTERVAL_MS(n), 50);
  assert.notEqual(repaired, null, 'periodic push-pull repairs the difference' + reproduce(seed));
  const during = answered(log.since(mark));
  assert.ok(during.some((e) => e.request === 'digest' && e.reply === 'full'), 'a differing digest is answered with a full state' + reproduce(seed));
  assert.ok(during.some((e) => e.request === 'full'), 'a full exchange follows it' + reproduce(seed));
  // Let gossip of anything the repair started die down, then every member agrees and is in sync.
  quiesce(sim, names, seed);
  sim.runFor(5_000);
  // The member that made the change may have left: the others must agree.
  const others = names.filter((o) => o !== victim);
  const reference = stateOf(sim.node(others[0] as string));
  for (const o of others) assert.equal(stateOf(sim.node(o)), reference, `${o} agrees` + reproduce(seed));
  const after = log.exchanges.length;
  sim.runFor(2 * INTERVAL_MS(n));
  for (const e of answered(log.since(after))) {
    assert.equal(e.reply, 'in-sync', `once repaired, members are in sync again (from ${e.from})` + reproduce(seed));
  }
}

test('one member status missed by gossip is repaired by push-pull', () => {
  repairsOne(testSeed(7302),
    (m, victim) => (m.type === 'leave' || m.type === 'dead' || m.type === 'suspect') && m.name === victim,
    (sim, names) => sim.act(names[4] as string, (node, now) => node.leave(now)),
    (node, victim) => node.members().find((m) => m.name === victim)?.status === 'left');
});

test('one catalog entry missed by gossip is repaired by push-pull', () => {
  repairsOne(testSeed(7303),
    (m) => m.type === 'service',
    (sim, names) => sim.act(names[4] as string, (node, now) => node.registerService(now, { id: 'db', name: 'db', address: '10.9.0.2', port: 5432 }).effects),
    (node, victim) => node.services().some((s) => s.node === victim && s.id === 'db'));
});

test('one split missed by gossip is repaired by push-pull', () => {
  repairsOne(testSeed(7304),
    (m) => m.type === 'split',
    (sim, names) => sim.act(names[4] as string, (node, now) => node.writeSplit(now, 5_000, 'api', { blue: 90, green: 10 }).effects),
    (node) => node.split('api')?.['blue'] === 90);
});

test('under loss and a partition with changes on both sides, every node converges after the heal (seeded)', () => {
  const base = testSeed(7310);
  const seeds = process.env['SWIMD_SEED'] ? [base] : [base, base + 1, base + 2];
  for (const seed of seeds) {
    const rng = new Rng(seed);
    const n = 10 + rng.int(8);
    const { sim, names, log } = cluster(seed, n, 0.05);
    const shuffled = rng.shuffle([...names]);
    const cut = 2 + rng.int(n - 4);
    const [left, right] = [shuffled.slice(0, cut), shuffled.slice(cut)];
    const a = left[0] as string;
    const b = right[0] as string;
    sim.act(a, (node, now) => node.registerService(now, { id: 'pre', name: 'pre', address: '10.9.0.3', port: 1 }).effects);
    sim.runFor(5_000);
    sim.partition([left, right]);
    sim.runFor(5_000 + rng.int(20_000));
    sim.act(a, (node, now) => node.deregisterService(now, 'pre').effects);
    sim.act(a, (node, now) => node.registerService(now, { id: 'left-side', name: 'x', address: '10.9.0.4', port: 2 }).effects);
    sim.act(b, (node, now) => node.registerService(now, { id: 'right-side', name: 'x', address: '10.9.0.5', port: 3 }).effects);
    sim.act(b, (node, now) => node.writeSplit(now, 9_000, 'x', { a: 50, b: 50 }).effects);
    sim.runFor(30_000 + rng.int(30_000));
    sim.heal();
    const converged = sim.runUntilCondition(() => {
      const reference = stateOf(sim.node(names[0] as string));
      return names.every((o) => sim.node(o).liveCount() === n && stateOf(sim.node(o)) === reference);
    }, 600_000, 200);
    assert.notEqual(converged, null, `every node converges after the heal (n=${n}, cut=${cut})` + reproduce(seed));
    const view = sim.node(names[0] as string);
    assert.ok(view.services().some((s) => s.id === 'left-side') && view.services().some((s) => s.id === 'right-side'), 'both sides\' entries' + reproduce(seed));
    assert.ok(!view.services().some((s) => s.id === 'pre'), 'the deregistration holds' + reproduce(seed));
    assert.equal(view.split('x')?.['a'], 50, 'the split crossed' + reproduce(seed));
    // Converged members settle into digest-only exchanges (without loss, which keeps raising suspicions).
    sim.configure({ loss: 0 });
    quiesce(sim, names, seed);
    sim.runFor(10_000);
    const mark = log.exchanges.length;
    sim.runFor(2 * INTERVAL_MS(n));
    const late = answered(log.since(mark)).filter((e) => e.request !== 'full');
    assert.ok(late.length > 0 && late.every((e) => e.reply === 'in-sync'), 'converged members exchange digests only' + reproduce(seed));
  }
});
