/**
 * Real mode: N agents on loopback, each on its own 127.0.x.y address (agentHost), spread over the worker processes, and the scenarios run against
 * them in order. Each change is timed from the moment it happened to the moment each agent's own
 * view held it, both on the shared clock.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES } from '../../protocol/profiles.js';
import { lowerBoundFigures } from '../dissemination/lower-bound.js';
import { measuredExchange, steadyStartsAfterMs, steadyTrafficFigures } from '../steady.js';
import { type BenchOptions, sharedWorkers } from '../options.js';
import { bar, type Progress } from '../progress.js';
import type { Curve, CurveName, JsonObject, RunResult } from '../result.js';
import { summarize } from '../stats.js';
import { sharedNow } from './clock.js';
import { agentHost, type FalseDeadCounts, type MemorySnapshot, type TrafficSnapshot, type Watch } from './ipc.js';
import { WorkerPool } from './pool.js';

/** After the join, until the join's own gossip has died down. */
const SETTLE_AFTER_JOIN_MS = 5_000;
const SETTLE_MS = 1_000;
const JOIN_WAIT_MS = 60_000;
const CHANGE_WAIT_MS = 30_000;
const DEAD_WAIT_MS = 60_000;
const POLL_MS = 50;
const SERVICE_ID = 'bench-web';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const nameOf = (i: number): string => `a${i}`;

export async function runReal(o: BenchOptions, progress: Progress): Promise<RunResult> {
  const started = performance.now();
  const pool = WorkerPool.open(sharedWorkers(o), o.sharedSeed);
  const dir = mkdtempSync(join(tmpdir(), 'swimd-bench-'));
  try {
    return await new RealRun(o, pool, dir, progress).run(started);
  } finally {
    progress.update('stopping agents');
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

class RealRun {
  private readonly figures: JsonObject = {};
  private readonly curves: Partial<Record<CurveName, Curve>> = {};
  /** Indices of running agents. */
  private live: number[] = [];
  private ports: number[] = [];
  private victim: number | null = null;
  /** When the last agent was started. */
  private startedAt = 0;

  constructor(private readonly o: BenchOptions, private readonly pool: WorkerPool, private readonly dir: string,
    private readonly progress: Progress) {}

  private get seed(): string {
    return `${agentHost(0)}:${this.ports[0] ?? 0}`;
  }

  async run(started: number): Promise<RunResult> {
    const o = this.o;
    const f = this.figures;
    f['nodes'] = o.nodes;
    f['transport'] = 'udp';
    f['mode'] = 'real';
    f['profile'] = o.profile;
    f['workers'] = this.pool.shared;
    f['seed_process'] = this.pool.seedAlone ? 'own' : 'shared';
    await this.startAgents(Array.from({ length: o.nodes }, (_, i) => i));
    f['loss_scope'] = o.lossAll ? 'all' : 'steady';
    if (o.lossAll) {
      f['loss_pct'] = o.lossPct;
      await this.pool.all('loss', { fraction: o.lossPct / 100 });
    }
    await this.join();
    await sleep(SETTLE_AFTER_JOIN_MS);
    if (o.scenarios.includes('new_member')) await this.newMember();
    if (o.scenarios.includes('register')) await this.service('register');
    if (o.scenarios.includes('deregister')) await this.service('deregister');
    if (o.scenarios.includes('dead')) await this.dead();
    if (o.scenarios.includes('false_dead')) await this.steady();
    await this.memory();
    f['agent_counters'] = await this.counters();
    // Loopback latency is a few microseconds: the bound is the forward batch delay per hop.
    Object.assign(f, lowerBoundFigures(this.live.length, PROFILES[o.profile], 0));
    f['wall_ms'] = Math.round(performance.now() - started);
    return { figures: f, curves: this.curves };
  }

  private async startAgents(indices: number[]): Promise<void> {
    this.progress.update(`starting ${indices.length} agents in ${this.pool.size} processes`);
    const byWorker = new Map<number, number[]>();
    for (const i of indices) {
      const w = this.pool.workerOf(i);
      byWorker.set(w, [...(byWorker.get(w) ?? []), i]);
    }
    await Promise.all([...byWorker].map(async ([w, list]) => {
      // One folder per worker: each removes its own when it stops.
      const agents = list.map((index) => ({ index, name: nameOf(index) }));
      const r = await this.pool.call(w, 'start', { agents, dir: join(this.dir, `w${w}`), profile: this.o.profile });
      list.forEach((index, k) => (this.ports[index] = r.ports[k] ?? 0));
    }));
    this.live.push(...indices);
    this.startedAt = sharedNow();
  }

  /** Every agent but the first joins through the first; timed until each lists all N alive. */
  private async join(): Promise<void> {
    const n = this.o.nodes;
    await this.arm('join', { kind: 'all-alive', total: n });
    const before = await this.observeStart();
    const at = sharedNow() + 100;
    await Promise.all(Array.from({ length: this.pool.size }, (_, w) => this.pool.call(w, 'join', {
      seed: this.seed, at, spreadMs: this.o.joinSpreadMs, total: n,
      only: this.live.filter((i) => i !== 0 && this.pool.workerOf(i) === w),
    })));
    await this.waitFor('join', n, JOIN_WAIT_MS, 'join: agents listing all alive');
    this.figures['join_cluster_during'] = await this.observeStop('join', before);
    const { times } = await this.collect('join');
    const lat = Object.values(times).map((t) => t - at);
    this.curves.join = { latencies: lat, expected: n };
    this.figures['join_all_ms'] = lat.length === n ? round(Math.max(...lat)) : null;
    // With spread joins, how long after the join window closed the last node saw everyone.
    if (this.o.joinSpreadMs > 0 && lat.length === n) {
      this.figures['join_all_after_spread_ms'] = Math.max(0, Math.round(Math.max(...lat) - this.o.joinSpreadMs));
    }
    this.figures['join'] = { ...summarize(lat, n) };
    this.figures['join_spread_ms'] = this.o.joinSpreadMs;
    this.figures['join_agent_counters'] = await this.counters();
  }

  /** One more agent joins the settled cluster: timed until each old agent lists it alive. */
  private async newMember(): Promise<void> {
    const idx = this.o.nodes;
    const old = this.live.length;
    await this.startAgents([idx]);
    await this.arm('new_member', { kind: 'member', member: nameOf(idx), status: 'alive' });
    const at = sharedNow() + 20;
    await this.pool.call(this.pool.workerOf(idx), 'join', { seed: this.seed, at, spreadMs: 0, total: 1, only: [idx] });
    await this.waitFor('new_member', old, CHANGE_WAIT_MS, 'new member: agents listing it');
    const { times } = await this.collect('new_member');
    const lat = Object.entries(times).filter(([name]) => name !== nameOf(idx)).map(([, t]) => t - at);
    this.curves.new_member = { latencies: lat, expected: old };
    this.figures['new_member'] = { ...summarize(lat, old) };
    await sleep(SETTLE_MS);
  }

  /** Through the owner's local API; timed from the owner's own view holding the change. */
  private async service(which: 'register' | 'deregister'): Promise<void> {
    const owner = this.live[1 % this.live.length] as number;
    const ownerName = nameOf(owner);
    await this.arm(which, { kind: 'service', owner: ownerName, id: SERVICE_ID, present: which === 'register' });
    const before = await this.observeStart();
    const api = await this.pool.call(this.pool.workerOf(owner), which, { agent: owner, id: SERVICE_ID });
    const total = this.live.length;
    await this.waitFor(which, total, CHANGE_WAIT_MS, `${which}: agents whose view holds it`);
    const datagrams = await this.observeStop(which, before);
    const { times } = await this.collect(which);
    const t0 = times[ownerName] ?? api.sentAt;
    const lat = Object.entries(times).filter(([name]) => name !== ownerName).map(([, t]) => t - t0);
    this.curves[which] = { latencies: lat, expected: total - 1 };
    this.figures[which] = {
      ...summarize(lat, total - 1),
      // What a deploy tool sees around the change: request until applied, and until answered.
      api_apply_ms: round(t0 - api.sentAt, 2),
      api_answer_ms: round(api.answeredAt - api.sentAt, 2),
      // The whole cluster from the change until the last agent held it (probes included).
      cluster_during: datagrams,
    };
    await sleep(SETTLE_MS);
  }

  /** One agent stops without a leave: timed until each other agent lists it dead. */
  private async dead(): Promise<void> {
    const victim = this.live[this.live.length - 1] as number;
    await this.arm('dead', { kind: 'member', member: nameOf(victim), status: 'dead' });
    const before = await this.observeStart();
    const { at } = await this.pool.call(this.pool.workerOf(victim), 'kill', { agent: victim });
    this.live = this.live.filter((i) => i !== victim);
    this.victim = victim;
    const expected = this.live.length;
    await this.waitFor('dead', expected, DEAD_WAIT_MS, 'dead: agents listing it dead');
    const during = await this.observeStop('dead', before);
    const { times } = await this.collect('dead');
    const lat = Object.values(times).map((t) => t - at);
    this.curves.dead = { latencies: lat, expected };
    this.figures['dead'] = { ...summarize(lat, expected), cluster_during: during };
    await sleep(SETTLE_MS);
  }

  /** A quiet period, optionally lossy: false deaths, and the traffic of a cluster at rest. */
  private async steady(): Promise<void> {
    const o = this.o;
    const warmStart = await this.pool.all('traffic', null);
    const warm = this.startedAt + steadyStartsAfterMs(o) - sharedNow();
    for (let left = warm; left > 0; left = this.startedAt + steadyStartsAfterMs(o) - sharedNow()) {
      this.progress.update(`waiting ${Math.ceil(left / 1000)} s for every agent's first push-pull to pass`);
      await sleep(Math.min(1000, left));
    }
    this.figures['steady_starts_after_ms'] = Math.round(sharedNow() - this.startedAt);
    await this.arm('false_dead', { kind: 'false-dead', exclude: this.victim === null ? [] : [nameOf(this.victim)] });
    const before = await this.pool.all('traffic', null);
    await this.pool.all('loss', { fraction: o.lossPct / 100 });
    const end = performance.now() + o.steadyS * 1000;
    for (let left = end - performance.now(); left > 0; left = end - performance.now()) {
      this.progress.update(`steady ${bar(o.steadyS * 1000 - left, o.steadyS * 1000)} of ${o.steadyS} s, loss ${o.lossPct}%`);
      await sleep(Math.min(1000, left));
    }
    if (!o.lossAll) await this.pool.all('loss', { fraction: 0 });
    const after = await this.pool.all('traffic', null);
    const fd = mergeFalseDead(await Promise.all(Array.from({ length: this.pool.size }, (_, w) =>
      this.pool.call(w, 'collect', { name: 'false_dead' }).then((r) => r.falseDead))));
    const f = this.figures;
    f['steady_s'] = o.steadyS;
    f['loss_pct'] = o.lossPct;
    f['false_dead'] = fd.events;
    f['false_dead_members'] = fd.members.length;
    f['suspicions_raised'] = fd.suspicions.length;
    const windowS = spanMs(before, after) / 1000;
    Object.assign(f, steadyTrafficFigures({
      nodes: this.live.length, profile: PROFILES[o.profile], windowS,
      udpBytes: delta(before, after, 'udpBytes'), udpPackets: delta(before, after, 'udpPackets'),
      pushPullBytes: delta(before, after, 'tcpBytes'),
      // Both ends of a push-pull connection are counted; an exchange is one connection.
      exchange: measuredExchange(Math.floor(delta(warmStart, before, 'tcpConnections') / 2), delta(warmStart, before, 'tcpBytes'),
        'in the first round, before the steady period'),
    }));
    f['worker_cpu_ms_per_agent_per_s'] = round(delta(before, after, 'cpuMs') / this.live.length / windowS, 3);
    f['bytes_note'] = 'payload bytes the agents sent (UDP datagrams, including those the loss hook dropped, ' +
      'plus push-pull TCP frames), without IP/UDP/TCP headers';
  }

  private async memory(): Promise<void> {
    const all: MemorySnapshot[] = await this.pool.all('memory', null);
    const mb = (b: number): number => round(b / 1e6, 2);
    // The seed's process holds one agent and a whole runtime: it is what one agent on a host costs,
    // and would distort the per-agent share of the processes that host a hundred.
    const seedWorker = this.pool.seedAlone ? this.pool.workerOf(0) : -1;
    const seed = all[seedWorker];
    const mem = all.filter((_, w) => w !== seedWorker);
    if (seed !== undefined && seed.agents === 1) this.figures['rss_mb_one_agent_process'] = mb(seed.rss);
    const agents = mem.reduce((s, m) => s + m.agents, 0);
    const rss = mem.reduce((s, m) => s + m.rss, 0);
    const base = mem.reduce((s, m) => s + m.rssBaseline, 0);
    const f = this.figures;
    f['rss_mb_per_agent'] = agents > 0 ? mb(rss / agents) : null;
    f['rss_mb_per_agent_marginal'] = agents > 0 ? mb((rss - base) / agents) : null;
    f['rss_note'] = 'process RSS / agents in that process (agents share one Node.js runtime per worker; the seed\'s ' +
      'process of one agent apart); marginal: (RSS - RSS before the first agent) / agents';
    f['heap_mb_per_agent'] = agents > 0 ? mb(mem.reduce((s, m) => s + m.heapUsed, 0) / agents) : null;
  }

  /** Starts what is watched over one timed change: datagrams, CPU time, and profiles if asked. */
  private async observeStart(): Promise<TrafficSnapshot[]> {
    if (this.o.cpuProfDir !== null) await this.pool.all('profileStart', null);
    return this.pool.all('traffic', null);
  }

  /**
   * What the cluster did from observeStart until the change was everywhere (to the nearest poll):
   * datagrams sent, and how busy the machine's cores were with the agents (every worker's CPU
   * time over the window times the cores they could use) — the agents share their cores, so a busy
   * worker delays every agent in it.
   */
  private async observeStop(scenario: string, before: readonly TrafficSnapshot[]): Promise<JsonObject> {
    const after = await this.pool.all('traffic', null);
    const dir = this.o.cpuProfDir;
    if (dir !== null) {
      mkdirSync(dir, { recursive: true });
      await Promise.all(Array.from({ length: this.pool.size }, (_, w) =>
        this.pool.call(w, 'profileStop', { file: join(dir, `${scenario}-w${w}.cpuprofile`) })));
    }
    const windowMs = spanMs(before, after);
    const cpuMs = delta(before, after, 'cpuMs');
    return {
      datagrams: delta(before, after, 'udpPackets'),
      window_ms: round(windowMs),
      worker_cpu_busy_pct: round((100 * cpuMs) / (windowMs * Math.min(this.pool.size, availableParallelism()))),
    };
  }

  /** A few of the agents' own counters, summed over them: they tell where a slow figure came from. */
  private async counters(): Promise<JsonObject> {
    const all: Record<string, number> = {};
    for (const part of await this.pool.all('counters', null)) {
      for (const [k, v] of Object.entries(part)) all[k] = k.includes('_max') ? Math.max(all[k] ?? 0, v) : (all[k] ?? 0) + v;
    }
    const stream = (dir: string, result: string): number => all[`swimd_push_pull_streams_total{direction="${dir}",result="${result}"}`] ?? 0;
    const rejected = Object.entries(all).filter(([k]) => k.startsWith('swimd_packets_rejected_total')).reduce((s, [, v]) => s + v, 0);
    return {
      push_pull_in_ok: stream('in', 'ok'), push_pull_in_refused: stream('in', 'refused'), push_pull_in_failed: stream('in', 'failed'),
      push_pull_in_waited: all['swimd_push_pull_streams_waited_total'] ?? 0,
      push_pull_out_ok: stream('out', 'ok'), push_pull_out_failed: stream('out', 'failed'),
      ticks: all['swimd_ticks_total'] ?? 0,
      ticks_late: all['swimd_ticks_late_total'] ?? 0,
      tick_lateness_max_ms: round(all['swimd_tick_lateness_milliseconds_max'] ?? 0, 2),
      tick_lateness_mean_ms: round((all['swimd_tick_lateness_milliseconds_sum'] ?? 0) / Math.max(1, all['swimd_ticks_total'] ?? 0), 3),
      udp_send_errors: all['swimd_send_errors_total'] ?? 0,
      // The agents' own totals since they started, a cross-check of the bench's counting.
      udp_packets_sent: all['swimd_packets_sent_total'] ?? 0,
      udp_bytes_sent: all['swimd_bytes_sent_total'] ?? 0,
      packets_rejected: rejected,
      suspicions_raised: all['swimd_suspicions_raised_total'] ?? 0,
      indirect_probes_sent: all['swimd_indirect_probes_sent_total'] ?? 0,
      declared_dead: all['swimd_declared_dead_total'] ?? 0,
    };
  }

  private async arm(name: string, watch: Watch): Promise<void> {
    await this.pool.all('watch', { name, watch });
  }

  private async collect(name: string): Promise<{ times: Record<string, number> }> {
    const parts = await this.pool.all('collect', { name });
    return { times: Object.assign({}, ...parts.map((p) => p.times)) as Record<string, number> };
  }

  /** Polls until `expected` agents met the watch, or the wait ran out (the shortfall is reported as reached < expected). */
  private async waitFor(name: string, expected: number, maxMs: number, label: string): Promise<void> {
    const end = performance.now() + maxMs;
    for (;;) {
      const reached = (await this.pool.all('progress', { name })).reduce((s, r) => s + r.reached, 0);
      this.progress.update(`${label} ${bar(reached, expected)} ${reached}/${expected}`);
      if (reached >= expected || performance.now() >= end) return;
      await sleep(POLL_MS);
    }
  }
}

/** A counter's growth between two sets of worker snapshots, summed over the workers. */
function delta(before: readonly TrafficSnapshot[], after: readonly TrafficSnapshot[], k: keyof TrafficSnapshot): number {
  const sum = (xs: readonly TrafficSnapshot[]): number => xs.reduce((s, x) => s + x[k], 0);
  return sum(after) - sum(before);
}

/** From the first snapshot taken before to the last taken after, ms. */
function spanMs(before: readonly TrafficSnapshot[], after: readonly TrafficSnapshot[]): number {
  return Math.max(...after.map((a) => a.at)) - Math.min(...before.map((b) => b.at));
}

function mergeFalseDead(parts: readonly (FalseDeadCounts | null)[]): FalseDeadCounts {
  const members = new Set<string>();
  const suspicions = new Set<string>();
  let events = 0;
  for (const p of parts) {
    if (p === null) continue;
    events += p.events;
    for (const m of p.members) members.add(m);
    for (const s of p.suspicions) suspicions.add(s);
  }
  return { events, members: [...members], suspicions: [...suspicions] };
}
