/**
 * Convergence scenarios on the deterministic simulator: the very protocol code the daemon runs,
 * on virtual time, for clusters larger than one machine can host.
 */
import type { MemberEvent } from '../protocol/effects.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { type Summary, summarize } from './stats.js';

export interface SimScenarioOptions {
  readonly nodes: number;
  readonly seed: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** Loss during the steady period, 0..1. */
  readonly loss: number;
  /** Length of the steady period in which false deaths are counted, ms (0 skips it). */
  readonly steadyMs: number;
  /** Called with a line of progress now and then. */
  readonly progress?: (done: number, total: number, label: string) => void;
}

export interface SimScenarioResult {
  readonly nodes: number;
  readonly transport: 'sim';
  readonly seed: number;
  readonly latency_ms: number;
  readonly loss_pct: number;
  /** Virtual time from the first join until every node saw every node alive. */
  readonly join_all_ms: number | null;
  /** A new node joins a settled cluster: time until each old node lists it alive. */
  readonly new_member: Summary;
  /** A node is crashed: time until each other node lists it dead. */
  readonly dead: Summary;
  /** Healthy nodes declared dead by anyone during the steady period (events, one per observer). */
  readonly false_dead: number;
  /** Distinct suspicions (member, incarnation) raised during the steady period. */
  readonly suspicions_raised: number;
  readonly steady_ms: number;
  readonly bytes_per_node_per_s: number;
  readonly packets_per_node_per_s: number;
  readonly wall_ms: number;
  /** Per-node latencies, for charts. */
  readonly curves: { readonly new_member: number[]; readonly dead: number[] };
}

export function runSimScenarios(o: SimScenarioOptions): SimScenarioResult {
  const started = performance.now();
  let listener: ((time: number, observer: string, e: MemberEvent) => void) | null = null;
  const sim = new Simulator({
    seed: o.seed, profile: 'lan', latencyMs: o.latencyMs, jitterMs: o.jitterMs, recordEvents: false,
    onEvent: (time, observer, e) => listener?.(time, observer, e),
  });
  const total = 4;
  const names = sim.addNodes(o.nodes);
  const seedNode = names[0] as string;

  // Join: everyone joins through one seed, spread over 1 s (agents never start in the same instant).
  o.progress?.(0, total, 'join');
  const aliveCount = new Map<string, number>(names.map((n) => [n, 1]));
  let complete = 0;
  listener = (_t, observer, e) => {
    if (e.member.status === 'alive' && e.previous === null) {
      const c = (aliveCount.get(observer) ?? 0) + 1;
      aliveCount.set(observer, c);
      if (c === o.nodes) complete++;
    }
  };
  const joinStart = sim.now;
  sim.joinAll([seedNode], { spreadMs: 1_000 });
  const joinedAt = sim.runUntilCondition(() => complete >= o.nodes, 600_000, 10);
  const join_all_ms = joinedAt === null ? null : joinedAt - joinStart;
  sim.runFor(5_000);

  // A new member.
  o.progress?.(1, total, 'new member');
  const newcomer = sim.addNode();
  const seen = new Map<string, number>();
  listener = (t, observer, e) => {
    if (e.member.name === newcomer && e.member.status === 'alive' && !seen.has(observer)) seen.set(observer, t);
  };
  const t0 = sim.now;
  sim.join(newcomer, [names[1 % names.length] as string]);
  sim.runUntilCondition(() => seen.size >= o.nodes, 120_000, 5);
  const newMember = [...seen.entries()].filter(([obs]) => obs !== newcomer).map(([, t]) => t - t0);
  sim.runFor(5_000);

  // A crash.
  o.progress?.(2, total, 'dead');
  const victim = names[Math.floor(names.length / 2)] as string;
  const deadSeen = new Map<string, number>();
  listener = (t, observer, e) => {
    if (e.member.name === victim && e.member.status === 'dead' && !deadSeen.has(observer)) deadSeen.set(observer, t);
  };
  const t1 = sim.now;
  sim.crash(victim);
  const expectedDead = o.nodes; // every other old node plus the newcomer
  sim.runUntilCondition(() => deadSeen.size >= expectedDead, 120_000, 10);
  const dead = [...deadSeen.values()].map((t) => t - t1);

  // Steady period with loss: count healthy nodes declared dead.
  o.progress?.(3, total, 'steady');
  let falseDead = 0;
  const suspicions = new Set<string>();
  listener = (_t, _observer, e) => {
    if (e.member.name === victim) return;
    if (e.member.status === 'dead') falseDead++;
    if (e.member.status === 'suspect') suspicions.add(`${e.member.name}:${e.member.incarnation}`);
  };
  sim.configure({ loss: o.loss });
  const bytes0 = sim.stats.bytesSent;
  const packets0 = sim.stats.packetsSent;
  sim.runFor(o.steadyMs);
  const steadyS = o.steadyMs / 1000;
  const liveNodes = o.nodes; // o.nodes old nodes + newcomer − victim
  o.progress?.(4, total, 'done');

  return {
    nodes: o.nodes,
    transport: 'sim',
    seed: o.seed,
    latency_ms: o.latencyMs,
    loss_pct: o.loss * 100,
    join_all_ms,
    new_member: summarize(newMember, o.nodes),
    dead: summarize(dead, expectedDead),
    false_dead: falseDead,
    suspicions_raised: suspicions.size,
    steady_ms: o.steadyMs,
    bytes_per_node_per_s: steadyS > 0 ? Math.round((sim.stats.bytesSent - bytes0) / liveNodes / steadyS) : 0,
    packets_per_node_per_s: steadyS > 0 ? Math.round(((sim.stats.packetsSent - packets0) / liveNodes / steadyS) * 10) / 10 : 0,
    wall_ms: Math.round(performance.now() - started),
    curves: { new_member: newMember, dead },
  };
}
