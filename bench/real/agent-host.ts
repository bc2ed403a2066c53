/**
 * The agents one worker process runs: each a full Agent (own UDP and TCP sockets, protocol state,
 * local API socket, data dir), driven in-process. Their event streams are watched here, in the
 * process where the events happen, so a recorded time is when the agent's view changed, not when
 * a message about it crossed a process boundary.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../../daemon/agent.js';
import { Client } from '../../client/index.js';
import { resolveConfig } from '../../daemon/config/config.js';
import type { AgentEvent } from '../../daemon/events.js';
import { Logger } from '../../daemon/log.js';
import type { MemberStatus } from '../../protocol/messages.js';
import type { Profile } from '../../protocol/profiles.js';
import { sharedNow } from './clock.js';
import { type AgentSlot, agentHost, type FalseDeadCounts, type Watch } from './ipc.js';

interface Hosted {
  readonly slot: AgentSlot;
  readonly agent: Agent;
  readonly client: Client;
  /** This agent's view of every other member, kept from its events. */
  readonly statuses: Map<string, MemberStatus>;
  aliveOthers: number;
  stopped: boolean;
}

interface Armed {
  readonly watch: Watch;
  readonly times: Map<string, number>;
  readonly falseDead: { events: number; members: Set<string>; suspicions: Set<string> };
}

/** Agents start this many at a time: each start touches the disk and binds three sockets. */
const START_BATCH = 16;

export class AgentHost {
  private readonly hosted = new Map<number, Hosted>();
  private readonly armed = new Map<string, Armed>();
  private readonly dirs = new Set<string>();

  get count(): number {
    let n = 0;
    for (const h of this.hosted.values()) if (!h.stopped) n++;
    return n;
  }

  async start(slots: readonly AgentSlot[], dir: string, profile: Profile['name']): Promise<number[]> {
    this.dirs.add(dir);
    await mkdir(dir, { recursive: true });
    const ports: number[] = [];
    for (let i = 0; i < slots.length; i += START_BATCH) {
      const batch = slots.slice(i, i + START_BATCH);
      ports.push(...(await Promise.all(batch.map((s) => this.startOne(s, dir, profile)))));
    }
    return ports;
  }

  arm(name: string, watch: Watch): void {
    this.armed.set(name, { watch, times: new Map(), falseDead: { events: 0, members: new Set(), suspicions: new Set() } });
  }

  reached(name: string): number {
    return this.armed.get(name)?.times.size ?? 0;
  }

  collect(name: string): { times: Record<string, number>; falseDead: FalseDeadCounts | null } {
    const a = this.armed.get(name);
    this.armed.delete(name);
    if (a === undefined) return { times: {}, falseDead: null };
    const f = a.falseDead;
    return {
      times: Object.fromEntries(a.times),
      falseDead: a.watch.kind === 'false-dead' ? { events: f.events, members: [...f.members], suspicions: [...f.suspicions] } : null,
    };
  }

  /** Each agent (but the seed itself) joins at its own instant, spread evenly from `at` over `spreadMs`. */
  join(seed: string, at: number, spreadMs: number, total: number, only?: readonly number[]): void {
    for (const h of this.hosted.values()) {
      if (h.stopped || (only !== undefined && !only.includes(h.slot.index))) continue;
      const when = at + (total > 1 ? (spreadMs * h.slot.index) / total : 0);
      setTimeout(() => {
        if (!h.stopped) void h.agent.join([seed]).catch(() => undefined);
      }, Math.max(0, when - sharedNow()));
    }
  }

  async register(index: number, id: string): Promise<{ sentAt: number; answeredAt: number }> {
    const h = this.get(index);
    const sentAt = sharedNow();
    await h.client.register({ id, name: 'bench', port: 9000, address: '127.0.0.1' });
    return { sentAt, answeredAt: sharedNow() };
  }

  async deregister(index: number, id: string): Promise<{ sentAt: number; answeredAt: number }> {
    const h = this.get(index);
    const sentAt = sharedNow();
    await h.client.deregister(id);
    return { sentAt, answeredAt: sharedNow() };
  }

  /** A crash as far as the others can tell: the sockets close and no leave is sent. */
  async kill(index: number): Promise<number> {
    const h = this.get(index);
    h.stopped = true;
    const at = sharedNow();
    await h.agent.stop();
    return at;
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of this.hosted.values()) {
      if (h.stopped) continue;
      for (const line of h.agent.metricsText().split('\n')) {
        const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (m === null) continue;
        const [, key = '', text = ''] = m;
        const v = Number(text);
        if (!Number.isFinite(v)) continue;
        out[key] = key.includes('_max') ? Math.max(out[key] ?? 0, v) : (out[key] ?? 0) + v;
      }
    }
    return out;
  }

  async stopAll(): Promise<void> {
    const running = [...this.hosted.values()].filter((h) => !h.stopped);
    for (const h of running) h.stopped = true;
    await Promise.all(running.map((h) => h.agent.stop().catch(() => undefined)));
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }

  private get(index: number): Hosted {
    const h = this.hosted.get(index);
    if (h === undefined || h.stopped) throw new Error(`agent ${index} is not running in this worker`);
    return h;
  }

  private async startOne(slot: AgentSlot, dir: string, profile: Profile['name']): Promise<number> {
    const socket = join(dir, `${slot.index}.sock`);
    const config = resolveConfig({
      name: slot.name, bind: `${agentHost(slot.index)}:0`, socket, dataDir: join(dir, `d${slot.index}`), profile, logLevel: 'error',
    }, {});
    const agent = await Agent.start(config, new Logger('error'));
    const h: Hosted = { slot, agent, client: new Client({ socketPath: socket }), statuses: new Map(), aliveOthers: 0, stopped: false };
    agent.events.subscribe((e) => this.onEvent(h, e));
    this.hosted.set(slot.index, h);
    return agent.address.port;
  }

  /** Runs inside the agent's driver: it only records, never calls back into the agent. */
  private onEvent(h: Hosted, e: AgentEvent): void {
    const now = sharedNow();
    if (e.type === 'member' && e.member.name !== h.slot.name) {
      const before = h.statuses.get(e.member.name);
      if (before === 'alive') h.aliveOthers--;
      if (e.reaped === true) h.statuses.delete(e.member.name);
      else {
        if (e.member.status === 'alive') h.aliveOthers++;
        h.statuses.set(e.member.name, e.member.status);
      }
    }
    for (const a of this.armed.values()) {
      if (a.times.has(h.slot.name)) continue;
      const w = a.watch;
      switch (w.kind) {
        case 'all-alive':
          if (h.aliveOthers + 1 >= w.total) a.times.set(h.slot.name, now);
          break;
        case 'member':
          if (e.type === 'member' && e.reaped !== true && e.member.name === w.member && e.member.status === w.status) a.times.set(h.slot.name, now);
          break;
        case 'service':
          if (e.type === 'service' && e.service.node === w.owner && e.service.id === w.id &&
              (e.change === 'deregistered') !== w.present) a.times.set(h.slot.name, now);
          break;
        case 'false-dead':
          if (e.type !== 'member' || e.reaped === true || w.exclude.includes(e.member.name)) break;
          if (e.member.status === 'dead') {
            a.falseDead.events++;
            a.falseDead.members.add(e.member.name);
          } else if (e.member.status === 'suspect') {
            a.falseDead.suspicions.add(`${e.member.name}:${e.member.incarnation}`);
          }
          break;
      }
    }
  }
}
