/**
 * A cluster of real agents on a namespace network: the network, one agent per host, the fault
 * controls, and an observer recording every agent's view on one timeline. The unit a fault test (and
 * later the benchmark) works with.
 *
 * Teardown order matters and is the same on every path (normal, failed, interrupted): observer,
 * agents, namespaces, temporary folder.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Member } from '../../client/index.js';
import { HostAgent, type AgentSettings } from './agents.js';
import { onAbnormalExit } from './cleanup.js';
import { Faults, type DelayOptions, type LossOptions } from './faults.js';
import { countersFrom, type Counters } from './metrics.js';
import { Network, pidAlive, type Host } from './network.js';
import { Observer, POLL_INTERVAL_MS } from './observer.js';
import { Timeline } from './timeline.js';

export interface NetnsClusterOptions extends Partial<AgentSettings> {
  readonly hosts: number;
  /** Agents started at once (the first N hosts); the rest are left for the test to start. Default: all. */
  readonly startAgents?: number;
  /** Time allowed for the started agents to see one another alive. */
  readonly convergeTimeoutMs?: number;
}

/** Temporary folders are named after the creating process, like the namespaces, for the same sweep. */
const DIR_PREFIX = 'swimd-nt-';
const STALE_DIR = new RegExp(`^${DIR_PREFIX}(\\d+)-`);
let dirsSwept = false;

/** Removes folders of earlier runs whose process is gone (killed before its cleanup could run). */
function sweepStaleDirs(): void {
  if (dirsSwept) return;
  dirsSwept = true;
  for (const entry of readdirSync(tmpdir())) {
    const m = STALE_DIR.exec(entry);
    if (m === null || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

const DEFAULT_SETTINGS: AgentSettings = {
  profile: 'lan',
  logLevel: 'info',
  startTimeoutMs: 15_000,
  clientTimeoutMs: 2_000,
};

export class NetnsCluster {
  readonly timeline = new Timeline();
  readonly faults: Faults;
  readonly agents: readonly HostAgent[];
  private readonly observer: Observer;
  private destroyed = false;
  private readonly unregister: () => void;

  private constructor(readonly network: Network, readonly dir: string, settings: AgentSettings) {
    this.faults = new Faults(network.hosts);
    this.agents = network.hosts.map((h) => new HostAgent(h, dir, settings));
    this.observer = new Observer(this.timeline, POLL_INTERVAL_MS);
    this.unregister = onAbnormalExit(() => rmSync(dir, { recursive: true, force: true }));
  }

  /**
   * Builds the network and starts the first `startAgents` agents: the first as seed, the rest
   * joining through it. Returns once they all see one another alive.
   */
  static async start(opts: NetnsClusterOptions): Promise<NetnsCluster> {
    const settings: AgentSettings = {
      profile: opts.profile ?? DEFAULT_SETTINGS.profile,
      logLevel: opts.logLevel ?? DEFAULT_SETTINGS.logLevel,
      startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_SETTINGS.startTimeoutMs,
      clientTimeoutMs: opts.clientTimeoutMs ?? DEFAULT_SETTINGS.clientTimeoutMs,
    };
    const network = await Network.create(opts.hosts);
    let dir: string;
    try {
      sweepStaleDirs();
      // Short prefix: a Unix socket path is limited to 107 bytes.
      dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    } catch (e) {
      await network.destroy();
      throw e;
    }
    const c = new NetnsCluster(network, dir, settings);
    try {
      const n = opts.startAgents ?? opts.hosts;
      const first = c.agents.slice(0, n);
      if (first.length > 0) {
        const [seed, ...rest] = first;
        if (seed !== undefined) await c.startAgent(seed, []);
        const via = seed === undefined ? [] : [seed.gossipAddress];
        const results = await Promise.allSettled(rest.map((a) => c.startAgent(a, via)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        await c.waitConverged(opts.convergeTimeoutMs ?? 30_000);
      }
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  agent(name: string): HostAgent {
    const a = this.agents.find((x) => x.name === name);
    if (a === undefined) throw new Error(`no agent ${name}`);
    return a;
  }

  get hosts(): readonly Host[] {
    return this.network.hosts;
  }

  running(): HostAgent[] {
    return this.agents.filter((a) => a.running);
  }

  names(agents: readonly HostAgent[] = this.agents): string[] {
    return agents.map((a) => a.name);
  }

  /**
   * Starts (or restarts, with the same data dir) one agent. Without explicit seeds it joins through
   * up to three other running agents, so one unlucky seed does not decide the join.
   */
  async startAgent(agent: HostAgent, seeds?: readonly string[]): Promise<void> {
    const through = seeds ?? this.agents.filter((a) => a !== agent && a.running).slice(0, 3).map((a) => a.gossipAddress);
    this.timeline.mark(`start ${agent.name}${agent.starts > 0 ? ' (restart, same data dir)' : ''}`);
    await agent.start(through);
    this.observer.watch(agent);
  }

  /** SIGKILL; resolves once the process is gone. Returns the timeline time of the kill. */
  async crash(agent: HostAgent): Promise<number> {
    const t = this.timeline.mark(`SIGKILL ${agent.name}`);
    await agent.crash();
    return t;
  }

  pause(agent: HostAgent): number {
    const t = this.timeline.mark(`SIGSTOP ${agent.name}`);
    agent.pause();
    return t;
  }

  resume(agent: HostAgent): number {
    const t = this.timeline.mark(`SIGCONT ${agent.name}`);
    agent.resume();
    return t;
  }

  // Fault controls that also mark the timeline, so every report lines changes up against them.

  async setLoss(agents: readonly HostAgent[], pct: number, opts: LossOptions = {}): Promise<number> {
    const t = this.timeline.mark(`loss ${pct}%${opts.udpOnly === true ? ' (udp only)' : ''} on ${this.names(agents).join(',')}`);
    await this.faults.setLoss(agents.map((a) => a.host), pct, opts);
    return t;
  }

  async clearLoss(): Promise<number> {
    const t = this.timeline.mark('loss off');
    await this.faults.clearLoss();
    return t;
  }

  async partition(a: readonly HostAgent[], b: readonly HostAgent[]): Promise<number> {
    const t = this.timeline.mark(`partition {${this.names(a).join(',')}} | {${this.names(b).join(',')}}`);
    await this.faults.partition(a.map((x) => x.host), b.map((x) => x.host));
    return t;
  }

  /** One-way: what `from` sends never reaches `to`; `from` still hears `to`. */
  async block(from: readonly HostAgent[], to: readonly HostAgent[]): Promise<number> {
    const t = this.timeline.mark(`one-way cut: ${this.names(from).join(',')} -> ${this.names(to).join(',')} dropped`);
    await this.faults.block(from.map((x) => x.host), to.map((x) => x.host));
    return t;
  }

  async heal(): Promise<number> {
    const t = this.timeline.mark('heal partitions');
    await this.faults.heal();
    return t;
  }

  async setDelay(agent: HostAgent, ms: number, opts: DelayOptions = {}): Promise<number> {
    await this.faults.setDelay(agent.host, ms, opts);
    return this.timeline.mark(`delay ${ms} ms${opts.jitterMs === undefined ? '' : ` ±${opts.jitterMs} ms`} on ${agent.name}`);
  }

  async clearDelay(agent: HostAgent): Promise<number> {
    const t = this.timeline.mark(`delay off on ${agent.name}`);
    await this.faults.clearDelay(agent.host);
    return t;
  }

  /** Waits until every running agent sees every running agent alive; returns the time it held. */
  waitConverged(timeoutMs: number, what = 'every running agent to see every running agent alive'): Promise<number> {
    return this.timeline.waitFor(what, () => {
      const names = this.names(this.running());
      return this.timeline.allSee(names, names, 'alive');
    }, timeoutMs, this.names());
  }

  /** Waits until every observer sees each member in `status` (or as the predicate says). */
  waitAllSee(observers: readonly HostAgent[], members: readonly HostAgent[], status: Parameters<Timeline['allSee']>[2], timeoutMs: number, what: string): Promise<number> {
    const o = this.names(observers);
    return this.timeline.waitFor(what, () => this.timeline.allSee(o, this.names(members), status), timeoutMs, o);
  }

  /** Reads the counters of every running, answering agent. */
  async counters(agents: readonly HostAgent[] = this.running()): Promise<Map<string, Counters>> {
    const out = new Map<string, Counters>();
    await Promise.all(agents.map(async (a) => {
      out.set(a.name, countersFrom(await a.client.metrics()));
    }));
    return out;
  }

  /** One agent's members as it answers right now (not the observer's cached view). */
  members(agent: HostAgent): Promise<Member[]> {
    return agent.client.members();
  }

  logs(lines = 40): string {
    return this.agents.filter((a) => a.starts > 0).map((a) => a.logTail(lines)).join('\n');
  }

  /** Stops observing, kills every agent, removes the namespaces and the folder. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.observer.stop();
    await Promise.all(this.agents.map((a) => a.stop()));
    await this.network.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}

interface TestLike {
  after(fn: () => Promise<void>): void;
}

/**
 * Runs `body` with a started cluster. On failure prints the timeline and every agent's log tail
 * (the only witnesses of what happened) before rethrowing; always tears everything down, also from
 * a t.after hook in case the test times out and never reaches the finally.
 */
export async function withNetnsCluster<T>(t: TestLike, opts: NetnsClusterOptions, body: (c: NetnsCluster) => Promise<T>): Promise<T> {
  const c = await NetnsCluster.start(opts);
  t.after(() => c.destroy());
  try {
    return await body(c);
  } catch (e) {
    // console, not t.diagnostic: diagnostics escape newlines, which makes the timeline unreadable.
    console.error(`--- timeline (${c.network.prefix}) ---\n${c.timeline.format()}\n--- views ---\n${c.timeline.describeViews()}\n${c.logs()}`);
    throw e;
  } finally {
    await c.destroy();
  }
}
