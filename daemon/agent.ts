import { randomBytes } from 'node:crypto';
import type { Address } from '../protocol/address.js';
import { sameAddress } from '../protocol/address.js';
import type { MemberView } from '../protocol/effects.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import type { AgentApi, AgentInfo, JoinResult } from './api/agent-api.js';
import { buildRoutes } from './api/routes.js';
import { ApiServer } from './api/server.js';
import { claimSocketPath } from './api/socket-file.js';
import { bindPorts, type BoundPorts } from './bind.js';
import { type AgentConfig, ConfigError } from './config.js';
import { isUnspecified } from './config-fields.js';
import { type Clock, Driver, monotonicClock } from './driver.js';
import { AgentEvents } from './events.js';
import { joinAndWait } from './join-wait.js';
import { DAEMON_LIMITS } from './limits.js';
import type { Logger } from './log.js';
import { Metrics, renderMetrics } from './metrics.js';
import { describe, isIPv6Host, pickAdvertiseHost } from './net-util.js';
import { StateStore } from './persistence.js';
import { pushPullRequest } from './stream-transport.js';
import { resolveSeeds } from './seeds.js';
import { VERSION } from './version.js';

/**
 * One running agent: sockets, protocol core, driver, persistence and the local API, started and
 * stopped together. Process concerns (signals, exit codes, reload) live in run.ts.
 */

export interface AgentOptions {
  readonly clock?: Clock;
  /** POST /v1/leave calls this; run.ts passes its shutdown path. Default: leave() on its own. */
  readonly onLeaveRequested?: () => void;
}

interface Parts {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly events: AgentEvents;
  readonly store: StateStore;
  readonly ports: BoundPorts;
  readonly node: SwimNode;
  readonly driver: Driver;
  readonly advertise: Address;
  readonly startedAt: number;
}

export class Agent implements AgentApi {
  private api: ApiServer | null = null;
  private leaving: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly p: Parts, private readonly opts: AgentOptions) {}

  static async start(config: AgentConfig, log: Logger, opts: AgentOptions = {}): Promise<Agent> {
    if (config.encryptKeyFile !== null) {
      // Running in clear text when the operator asked for encryption would be a silent downgrade.
      throw new ConfigError(`encrypt_key_file ${config.encryptKeyFile}: gossip encryption is not available in this version; remove the setting to run unencrypted`);
    }
    const clock = opts.clock ?? monotonicClock;
    const metrics = new Metrics();
    const events = new AgentEvents(log);
    // Fail fast, before touching ports or state, when another agent owns the socket.
    if ((await claimSocketPath(config.socket)) === 'stale-removed') {
      log.warn('removed a stale socket left by an agent that did not shut down cleanly', { socket: config.socket });
    }
    const store = await StateStore.open(config.dataDir, config.name, log);
    let driver: Driver | null = null;
    let ports: BoundPorts;
    try {
      ports = await bindPorts({
        bind: config.bind,
        packetBytes: config.packetBytes,
        // Inputs arriving in the instant before the driver exists are dropped like any lost packet.
        onPacket: (from, bytes) => driver?.handlePacket(from, bytes),
        onStream: (from, bytes) => (driver === null ? null : driver.handlePushPull(from, bytes)),
        metrics,
        log,
      });
    } catch (e) {
      await store.close();
      throw new Error(`cannot bind ${describe(config.bind)}: ${(e as Error).message}`);
    }
    const advertise: Address = {
      host: config.advertise?.host ?? (isUnspecified(config.bind.host) ? pickAdvertiseHost() : config.bind.host),
      port: config.advertise?.port ?? ports.port,
    };
    const node = new SwimNode({
      name: config.name,
      host: advertise.host,
      port: advertise.port,
      profile: PROFILES[config.profile],
      seed: randomBytes(4).readUInt32BE(0),
      now: clock(),
      incarnation: store.startIncarnation,
      packetBytes: config.packetBytes,
    });
    driver = new Driver({
      node, udp: ports.udp, pushPull: pushPullRequest, clock, metrics, log, events,
      afterInput: () => store.noteIncarnation(node.self().incarnation),
    });
    const agent = new Agent({ config, log, clock, metrics, events, store, ports, node, driver, advertise, startedAt: clock() }, opts);
    driver.start();
    try {
      agent.api = await ApiServer.start({ socketPath: config.socket, routes: buildRoutes(agent), metrics, log });
    } catch (e) {
      await agent.stop();
      throw e;
    }
    log.info('agent started', {
      name: config.name, advertise: describe(advertise), bind: describe({ host: config.bind.host, port: ports.port }),
      socket: config.socket, profile: config.profile, incarnation: store.startIncarnation, version: VERSION,
    });
    return agent;
  }

  get config(): AgentConfig {
    return this.p.config;
  }

  /** The address gossiped to other members. */
  get address(): Address {
    return this.p.advertise;
  }

  get events(): AgentEvents {
    return this.p.events;
  }

  members(): readonly MemberView[] {
    return this.p.node.members();
  }

  info(): AgentInfo {
    const self = this.p.node.self();
    const members = this.p.node.members();
    return {
      name: self.name,
      address: self.host,
      port: self.port,
      members: members.length,
      alive: members.filter((m) => m.status === 'alive').length,
      profile: this.p.config.profile,
      cluster: this.p.config.cluster,
      version: VERSION,
      incarnation: self.incarnation,
      local_health: this.p.node.localHealth(),
      uptime_s: this.uptimeSeconds(),
    };
  }

  metricsText(): string {
    return renderMetrics({
      metrics: this.p.metrics,
      stats: this.p.node.stats,
      members: this.p.node.members(),
      incarnation: this.p.node.self().incarnation,
      localHealth: this.p.node.localHealth(),
      uptimeSeconds: this.uptimeSeconds(),
      lateTickThresholdMs: DAEMON_LIMITS.lateTickThresholdMs,
    });
  }

  async join(seeds: readonly string[]): Promise<JoinResult> {
    if (this.leaving !== null || this.p.driver.isStopped) {
      return { joined: 0, failed: seeds.map((seed) => ({ seed, kind: 'stopping', reason: 'the agent is shutting down' })) };
    }
    const { resolved, failed } = await resolveSeeds(seeds, !isIPv6Host(this.p.config.bind.host));
    const others = resolved.filter((s) => !sameAddress(s.address, this.p.advertise));
    for (const s of resolved) {
      if (!others.includes(s)) failed.push({ seed: s.seed, kind: 'self', reason: "this agent's own address" });
    }
    if (others.length === 0) return { joined: 0, failed };
    const r = await joinAndWait(this.p.driver, others);
    return { joined: r.joined, failed: [...failed, ...r.failed] };
  }

  requestLeave(): void {
    if (this.opts.onLeaveRequested !== undefined) this.opts.onLeaveRequested();
    else void this.leave();
  }

  /**
   * Graceful leave: announce it, let it spread for DAEMON_LIMITS.leaveSpreadMs while the driver
   * keeps gossiping and answering, then stop.
   */
  leave(): Promise<void> {
    if (this.leaving === null) {
      this.leaving = (async () => {
        this.p.log.info('leaving the cluster');
        this.p.driver.leave();
        await this.p.ports.udp.flush();
        await new Promise((r) => setTimeout(r, DAEMON_LIMITS.leaveSpreadMs));
        await this.stop();
      })();
    }
    return this.leaving;
  }

  /** Closes everything without announcing a leave (others will detect the failure). */
  stop(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = (async () => {
        this.p.driver.stop();
        const steps: [string, () => Promise<void>][] = [
          ['api', async () => { await this.api?.close(); }],
          ['push-pull listener', () => this.p.ports.stream.close()],
          ['udp socket', () => this.p.ports.udp.close()],
          ['state', () => this.p.store.close()],
        ];
        for (const [what, step] of steps) {
          try {
            await step();
          } catch (err) {
            this.p.log.warn(`error closing ${what}`, { err });
          }
        }
        this.p.log.info('agent stopped');
      })();
    }
    return this.stopping;
  }

  private uptimeSeconds(): number {
    return Math.floor((this.p.clock() - this.p.startedAt) / 1000);
  }
}
