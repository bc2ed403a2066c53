/**
 * Simulated mode: the scenarios of real mode on the deterministic simulator — the very protocol code
 * the daemon runs, every node with its full state, on virtual time — for clusters larger than one
 * machine can host. Latencies are virtual milliseconds.
 */
import { decodePacket } from '../protocol/codec.js';
import type { MemberEvent, ServiceEvent } from '../protocol/effects.js';
import type { MemberState } from '../protocol/messages.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { lowerBoundFigures } from './dissemination/lower-bound.js';
import { benchProfile, type BenchOptions } from './options.js';
import { nearestOneWayMs, oneWayMs, regionLowerBoundMs } from './regions/matrix.js';
import { bar, type Progress } from './progress.js';
import type { Curve, CurveName, JsonObject, RunResult } from './result.js';
import { ObservedNode } from './sim-observed.js';
import { runRegionCut } from './sim-region-cut.js';
import { summarize } from './stats.js';
import { type ExchangeSize, measuredExchange, steadyStartsAfterMs, steadyTrafficFigures } from './steady.js';

/** The join's own gossip must have died down before anything else is measured; this long at most. */
const SETTLE_MAX_MS = 180_000;
const SETTLE_MS = 1_000;
const JOIN_WAIT_MS = 600_000;
const CHANGE_WAIT_MS = 30_000;
const DEAD_WAIT_MS = 120_000;
const SERVICE_ID = 'bench-web';

type MemberListener = (time: number, observer: string, e: MemberEvent) => void;
type ServiceListener = (time: number, observer: string, e: ServiceEvent) => void;

export function runSim(o: BenchOptions, seed: number, progress: Progress): RunResult {
  return new SimRun(o, seed, progress).run();
}

class SimRun {
  private readonly sim: Simulator<ObservedNode>;
  private onMember: MemberListener | null = null;
  private onService: ServiceListener | null = null;
  /** While a catalog change is timed: counts the datagrams that carry its entry, and its digests. */
  private onPacket: ((observer: string, bytes: Uint8Array) => void) | null = null;
  private readonly figures: JsonObject = {};
  private readonly curves: Partial<Record<CurveName, Curve>> = {};
  private live: string[] = [];
  private victim: string | null = null;
  private lastDraw = 0;
  /** Hosts of running nodes, for the push-pull byte count. */
  private readonly upHosts = new Set<string>();
  private pushPullBytes = 0;
  private pushPulls = 0;
  /**
   * Every push-pull exchange started with a running peer (a digest's follow-up continues its
   * exchange and is not counted again); the bytes are those of every request, follow-ups included.
   */
  private requests = 0;
  private requestBytes = 0;

  constructor(private readonly o: BenchOptions, seed: number, private readonly progress: Progress) {
    this.sim = new Simulator<ObservedNode>({
      seed, profile: benchProfile(o), latencyMs: o.latencyMs, jitterMs: o.jitterMs, recordEvents: false,
      ...(o.regions === null ? {} : { regions: { oneWayMs: oneWayMs(o.regions), jitterMs: o.jitterMs } }),
      onEvent: (t, observer, e) => this.onMember?.(t, observer, e),
      factory: (opts) => new ObservedNode(opts, {
        service: (t, observer, e) => this.onService?.(t, observer, e),
        packet: (observer, bytes) => this.onPacket?.(observer, bytes),
        pushPull: (kind, peer, bytes) => {
          // A request to a peer that is down never gets past the TCP handshake: not counted, and
          // not encoded either. A follow-up's bytes count toward the exchange it continues.
          if (kind !== 'reply' && !this.upHosts.has(peer.host)) return;
          const size = bytes();
          this.pushPullBytes += size;
          if (kind === 'request') {
            this.pushPulls++;
            this.requests++;
          }
          if (kind !== 'reply') this.requestBytes += size;
        },
      }),
    });
    this.figures['seed'] = seed;
  }

  run(): RunResult {
    const started = performance.now();
    const o = this.o;
    const f = this.figures;
    Object.assign(f, { nodes: o.nodes, transport: 'sim', mode: 'sim', profile: o.profile, latency_ms: o.latencyMs, jitter_ms: o.jitterMs });
    f['update_tree'] = o.updateTree;
    if (o.regions !== null) {
      // The matrix replaces the one latency: say which, and how the nodes sit on it.
      delete f['latency_ms'];
      Object.assign(f, { regions: o.regions.regions.length, regions_matrix: o.regions.source, nodes_per_region: 'even (node i in region i mod regions)' });
    }
    this.live = this.sim.addNodes(o.nodes);
    f['loss_scope'] = o.lossAll ? 'all' : 'steady';
    if (o.lossAll) {
      f['loss_pct'] = o.lossPct;
      this.sim.configure({ loss: o.lossPct / 100 });
      this.setRegionLoss(true);
    }
    for (const name of this.live) this.upHosts.add(this.sim.address(name).host);
    // Where the wall time of a large simulation goes, phase by phase.
    const wall: JsonObject = {};
    const phase = (name: string, run: () => void): void => {
      const t = performance.now();
      run();
      wall[name] = Math.round(performance.now() - t);
    };
    f['sim_start'] = o.simStart;
    if (o.simStart === 'join') phase('join', () => this.join());
    else phase('preload', () => this.preload());
    phase('settle', () => this.settle());
    if (o.probeWarmupS > 0) phase('probe_warmup', () => this.probeWarmup());
    if (o.scenarios.includes('new_member')) phase('new_member', () => this.newMember());
    if (o.scenarios.includes('register')) phase('register', () => this.service('register'));
    if (o.scenarios.includes('deregister')) phase('deregister', () => this.service('deregister'));
    if (o.scenarios.includes('dead')) phase('dead', () => this.dead());
    if (o.scenarios.includes('dead_during_burst')) phase('dead_during_burst', () => this.deadDuringBurst());
    if (o.scenarios.includes('false_dead')) phase('steady', () => this.steady());
    if (o.scenarios.includes('region_cut')) phase('region_cut', () => this.regionCut());
    f['phase_wall_ms'] = wall;
    const nearest = o.regions === null ? Math.max(0, o.latencyMs - o.jitterMs) : nearestOneWayMs(o.regions);
    Object.assign(f, lowerBoundFigures(this.live.length, this.sim.profile, nearest));
    f['heap_mb_per_node'] = Math.round((process.memoryUsage().heapUsed / this.live.length / 1e6) * 1000) / 1000;
    f['virtual_ms'] = Math.round(this.sim.now);
    f['sim_events'] = this.sim.stats.events;
    f['wall_ms'] = Math.round(performance.now() - started);
    // The peak resident size of this process (the simulation's own, after the re-run with a larger heap).
    f['max_rss_mb'] = Math.round(process.resourceUsage().maxRSS / 1024);
    return { figures: f, curves: this.curves };
  }

  private join(): void {
    const n = this.o.nodes;
    const seedNode = this.live[0] as string;
    const aliveOthers = new Map<string, number>();
    const done = new Map<string, number>();
    this.onMember = (t, observer, e) => {
      const was = e.previous === 'alive' ? 1 : 0;
      const is = e.member.status === 'alive' ? 1 : 0;
      if (was === is || e.member.name === observer) return;
      const c = (aliveOthers.get(observer) ?? 0) + is - was;
      aliveOthers.set(observer, c);
      if (c + 1 >= n && !done.has(observer)) done.set(observer, t);
    };
    const t0 = this.sim.now;
    this.sim.joinAll([seedNode], { spreadMs: this.o.joinSpreadMs });
    this.runUntil(() => done.size >= n, JOIN_WAIT_MS, () => `join: nodes listing all alive ${bar(done.size, n)} ${done.size}/${n}`);
    const lat = [...done.values()].map((t) => t - t0);
    this.curves.join = { latencies: lat, expected: n };
    this.figures['join_all_ms'] = lat.length === n ? Math.max(...lat) : null;
    // With spread joins, how long after the join window closed the last node saw everyone.
    if (this.o.joinSpreadMs > 0 && lat.length === n) {
      this.figures['join_all_after_spread_ms'] = Math.max(0, Math.round(Math.max(...lat) - this.o.joinSpreadMs));
    }
    this.figures['join'] = { ...summarize(lat, n) };
    this.figures['join_spread_ms'] = this.o.joinSpreadMs;
    this.onMember = null;
  }

  /**
   * Every node starts with every other member alive, as after a join has settled, without the
   * join's n² × fanout datagrams. The first push-pull round then runs as usual.
   */
  private preload(): void {
    const states: MemberState[] = this.live.map((name) => {
      const self = this.sim.node(name).self();
      return { name, host: self.host, port: self.port, incarnation: self.incarnation, status: 'alive' };
    });
    let k = 0;
    for (const name of this.live) {
      this.sim.node(name).preload(states);
      if (++k % 100 === 0) this.progress.update(`starting converged: ${bar(k, this.live.length)} ${k}/${this.live.length} nodes`);
    }
  }

  /** Runs until no node has updates left to gossip, so later figures see a cluster at rest. */
  private settle(): void {
    const t0 = this.sim.now;
    const pending = (): number => this.live.reduce((s, name) => s + this.sim.node(name).pendingBroadcasts(), 0);
    let left = 0;
    this.runUntil(() => (left = pending()) === 0, SETTLE_MAX_MS, () => `settling: updates still queued ${left}`, 100);
    this.figures['settle_ms'] = Math.round(this.sim.now - t0);
    this.sim.runFor(SETTLE_MS);
  }

  /** Runs the settled cluster for --probe-warmup seconds, so that probes measure round trips. */
  private probeWarmup(): void {
    const end = this.sim.now + this.o.probeWarmupS * 1000;
    this.runUntil(() => this.sim.now >= end, this.o.probeWarmupS * 1000, () => `probing for round trips before the timed changes`, 100);
    this.figures['probe_warmup_s'] = this.o.probeWarmupS;
  }

  private newMember(): void {
    const old = [...this.live];
    const newcomer = this.sim.addNode();
    const seen = new Map<string, number>();
    this.onMember = (t, observer, e) => {
      if (e.member.name === newcomer && e.member.status === 'alive' && observer !== newcomer && !seen.has(observer)) seen.set(observer, t);
    };
    const t0 = this.sim.now;
    this.sim.join(newcomer, [old[1 % old.length] as string]);
    this.runUntil(() => seen.size >= old.length, CHANGE_WAIT_MS, () => `new member ${bar(seen.size, old.length)}`);
    const lat = [...seen.values()].map((t) => t - t0);
    this.curves.new_member = { latencies: lat, expected: old.length };
    this.figures['new_member'] = { ...summarize(lat, old.length), ...this.lowerBound(newcomer) };
    this.onMember = null;
    this.live.push(newcomer);
    this.upHosts.add(this.sim.address(newcomer).host);
    this.sim.runFor(SETTLE_MS);
  }

  private service(which: 'register' | 'deregister'): void {
    const owner = this.live[1 % this.live.length] as string;
    const expected = this.live.length - 1;
    const seen = new Map<string, number>();
    this.onService = (t, observer, e) => {
      if (observer === owner || seen.has(observer) || e.service.node !== owner || e.service.id !== SERVICE_ID) return;
      if ((e.change === 'deregistered') === (which === 'deregister')) seen.set(observer, t);
    };
    const copies = { entry: 0, digests: 0 };
    this.onPacket = (observer, bytes) => {
      if (observer === owner) return;
      const d = decodePacket(bytes);
      if (!d.ok) return;
      for (const p of d.value.type === 'compound' ? d.value.parts : [d.value]) {
        if (p.type === 'service' && p.node === owner && p.id === SERVICE_ID) copies.entry++;
        else if (p.type === 'have' && p.node === owner && p.id === SERVICE_ID) copies.digests++;
      }
    };
    const t0 = this.sim.now;
    this.sim.act(owner, (node, now) => which === 'register'
      ? node.registerService(now, { id: SERVICE_ID, name: 'bench', address: this.sim.address(owner).host, port: 9000 }).effects
      : node.deregisterService(now, SERVICE_ID).effects);
    this.runUntil(() => seen.size >= expected, CHANGE_WAIT_MS, () => `${which} ${bar(seen.size, expected)} ${seen.size}/${expected}`, 1);
    const lat = [...seen.values()].map((t) => t - t0);
    this.curves[which] = { latencies: lat, expected };
    this.onService = null;
    // Copies still on their way (repairs, late duplicates) count too: the count runs through the settle.
    this.sim.runFor(SETTLE_MS);
    this.onPacket = null;
    this.figures[which] = {
      ...summarize(lat, expected), ...this.lowerBound(owner),
      copies_per_node: Math.round((copies.entry / Math.max(1, expected)) * 1000) / 1000,
      digests_per_node: Math.round((copies.digests / Math.max(1, expected)) * 1000) / 1000,
    };
  }

  /**
   * A burst of registrations spread over the nodes, all at once, and a crash right after: how long
   * the death takes to reach every node while the catalog updates fill every queue.
   */
  private deadDuringBurst(): void {
    const burst = this.o.burst;
    const owners = this.live.slice(0, -1);
    for (let i = 0; i < burst; i++) {
      const owner = owners[i % owners.length] as string;
      // Entries of a realistic size (tags, meta, a version label): how many fit in a packet matters.
      this.sim.act(owner, (node, now) => node.registerService(now, {
        id: `burst-${i}`, name: `burst-${i % 50}`, address: this.sim.address(owner).host, port: 10_000 + (i % 50_000),
        tags: ['primary', 'zone-a', `rack-${i % 16}`], meta: { team: 'payments', build: `2026.12.${i % 30}` }, version: '1.4.2',
      }).effects);
    }
    const queued = this.live.reduce((s, name) => s + this.sim.node(name).pendingBroadcasts(), 0);
    this.crashAndTime('dead_during_burst', this.live[this.live.length - 1] as string);
    this.figures['burst'] = { registrations: burst, queued_at_crash: queued };
  }

  private dead(): void {
    this.crashAndTime('dead', this.live[this.live.length - 1] as string);
  }

  private crashAndTime(figure: 'dead' | 'dead_during_burst', victim: string): void {
    this.live = this.live.filter((n) => n !== victim);
    this.victim = victim;
    const expected = this.live.length;
    const seen = new Map<string, number>();
    let suspectedAt: number | null = null;
    this.onMember = (t, observer, e) => {
      if (e.member.name !== victim) return;
      if (e.member.status === 'suspect' && suspectedAt === null) suspectedAt = t;
      if (e.member.status === 'dead' && !seen.has(observer)) seen.set(observer, t);
    };
    const t0 = this.sim.now;
    this.sim.crash(victim);
    this.upHosts.delete(this.sim.address(victim).host);
    this.runUntil(() => seen.size >= expected, DEAD_WAIT_MS, () => `${figure} ${bar(seen.size, expected)} ${seen.size}/${expected}`);
    const lat = [...seen.values()].map((t) => t - t0);
    this.curves[figure] = { latencies: lat, expected };
    // Detection (how soon some prober suspects it) is luck of the probe order; what follows is the protocol's.
    const first = suspectedAt as number | null;
    // The change happens at the victim: no node anywhere can know of it sooner than its region's
    // farthest one-way latency (detection, which every protocol needs some of, comes on top).
    this.figures[figure] = {
      ...summarize(lat, expected), suspected_after_ms: first === null ? null : Math.round(first - t0), ...this.lowerBound(victim),
    };
    this.onMember = null;
    this.sim.runFor(SETTLE_MS);
  }

  private steady(): void {
    const o = this.o;
    const sim = this.sim;
    let falseDead = 0;
    const members = new Set<string>();
    const suspicions = new Set<string>();
    this.onMember = (_t, _observer, e) => {
      // A reap reports the member's last (dead) state: forgetting it is no new death.
      if (e.member.name === this.victim || e.reaped === true) return;
      if (e.member.status === 'dead') {
        falseDead++;
        members.add(e.member.name);
      }
      if (e.member.status === 'suspect') suspicions.add(`${e.member.name}:${e.member.incarnation}`);
    };
    // Nodes were built at time 0; see steadyStartsAfterMs for why the steady period waits.
    const warm = steadyStartsAfterMs(o);
    // A converged start's exchanges carry full states from the first one on, so every exchange
    // before the window sizes one (a probe warm-up may have run past the whole first round); a
    // join's first round carries partial states and is counted from here.
    const warm0 = o.simStart === 'converged' ? { bytes: 0, count: 0 } : { bytes: this.pushPullBytes, count: this.pushPulls };
    if (sim.now < warm) this.runUntil(() => sim.now >= warm, warm, () => 'waiting for every node\'s first push-pull to pass', 100);
    this.figures['steady_starts_after_ms'] = Math.round(sim.now);
    sim.configure({ loss: o.lossPct / 100 });
    this.setRegionLoss(o.lossPct > 0 || o.lossAll);
    const s0 = { ...sim.stats };
    const pp0 = this.pushPullBytes;
    const pp0count = this.pushPulls;
    const req0 = { count: this.requests, bytes: this.requestBytes };
    const ms = o.steadyS * 1000;
    const end = sim.now + ms;
    this.runUntil(() => sim.now >= end, ms, () => `steady ${bar(ms - (end - sim.now), ms)} of ${o.steadyS} s, loss ${o.lossPct}%`, 100);
    if (!o.lossAll) {
      sim.configure({ loss: 0 });
      this.setRegionLoss(false);
    }
    this.onMember = null;
    Object.assign(this.figures, {
      steady_s: o.steadyS, loss_pct: o.lossPct, false_dead: falseDead, false_dead_members: members.size,
      suspicions_raised: suspicions.size,
      ...steadyTrafficFigures({
        nodes: this.live.length, profile: sim.profile, windowS: o.steadyS,
        udpBytes: sim.stats.bytesSent - s0.bytesSent, udpPackets: sim.stats.packetsSent - s0.packetsSent,
        pushPullBytes: this.pushPullBytes - pp0,
        exchange: measuredExchange(pp0count - warm0.count, pp0 - warm0.bytes, o.simStart === 'converged' ? 'before the steady period' : 'in the first round, before the steady period') ??
          // A large cluster's first round falls inside its join, with partial states: size an
          // exchange instead as two full states, from the requests to running peers made now.
          stateSize(this.requests - req0.count, this.requestBytes - req0.bytes),
      }),
      bytes_note: 'payload bytes sent: datagrams (lost ones included) and push-pull request and reply bodies ' +
        '(requests to a peer that is down are not counted: the connection would be refused first)',
    });
  }

  /** --region-loss: on (with the global loss) or off. */
  private setRegionLoss(on: boolean): void {
    const rl = this.o.regionLoss;
    const m = this.o.regions;
    if (rl === null || m === null) return;
    for (const name of this.live) if (this.sim.regionOf(name) === rl.region) this.sim.setNodeLoss(name, on ? rl.lossPct / 100 : 0);
    if (on) this.figures['region_loss'] = { region: m.regions[rl.region] as string, loss_pct: rl.lossPct, applies_to: 'every datagram a node of the region sends or receives, on top of loss_pct' };
  }

  private regionCut(): void {
    const m = this.o.regions;
    if (m === null) return;
    this.figures['region_cut'] = runRegionCut({
      sim: this.sim, live: this.live,
      setMemberListener: (l) => { this.onMember = l === null ? null : (t, observer, e) => l(t, observer, e); },
      runUntil: (done, maxMs, label, stepMs) => this.runUntil(done, maxMs, label, stepMs),
    }, this.o.cutRegion, m.regions[this.o.cutRegion] as string, this.o.cutS);
  }

  /**
   * With regions: the fastest any protocol could bring a change made at `origin` to the last node,
   * as `lower_bound_ms` (see regions/matrix.ts). Nothing without regions.
   */
  private lowerBound(origin: string): JsonObject {
    const m = this.o.regions;
    if (m === null) return {};
    const region = this.sim.regionOf(origin);
    return { lower_bound_ms: regionLowerBoundMs(m, region, this.sim.profile.forwardBatchMs), origin_region: m.regions[region] as string };
  }

  /** Runs in steps of `stepMs` virtual ms until `done` holds or `maxMs` passed, redrawing the progress line. */
  private runUntil(done: () => boolean, maxMs: number, label: () => string, stepMs = 5): void {
    const end = this.sim.now + maxMs;
    while (!done() && this.sim.now < end) {
      this.sim.runUntil(Math.min(end, this.sim.now + stepMs));
      const wall = performance.now();
      if (wall - this.lastDraw > 250) {
        this.lastDraw = wall;
        this.progress.update(`${label()} (virtual ${(this.sim.now / 1000).toFixed(2)} s)`);
      }
    }
  }
}

function stateSize(requests: number, bytes: number): ExchangeSize | null {
  if (requests === 0) return null;
  return { bytes: (2 * bytes) / requests, basis: `twice the mean of ${requests} push-pull requests in the steady period` };
}
