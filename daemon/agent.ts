import { randomBytes } from 'node:crypto';
import type { Address } from '../protocol/address.js';
import { sameAddress } from '../protocol/address.js';
import type { MemberView, NameConflict } from '../protocol/effects.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import type { JoinResult } from '../client/contract/json.js';
import type { AgentApi, AgentInfo, KeyringControl } from './api/agent-api.js';
import { buildRoutes } from './routes.js';
import { ApiServer } from './api/server.js';
import { claimSocketPath } from './api/socket-file.js';
import { bindPorts, type BoundPorts } from './net/bind.js';
import { type ConfigApply, LocalServices } from './services/local-services.js';
import type { ParsedRegistration } from '../client/contract/registration.js';
import { loadServices } from './services/services-file.js';
import { type AgentConfig, ConfigError } from './config/config.js';
import { isUnspecified } from './config/config-fields.js';
import { type Clock, Driver, monotonicClock } from './driver.js';
import { AgentEvents } from './events.js';
import { joinAndWait } from './net/join-wait.js';
import { DAEMON_LIMITS } from './limits.js';
import type { Logger } from './log.js';
import { Metrics, renderMetrics } from './metrics.js';
import { describe, isIPv6Host, pickAdvertiseHost } from './net/net-util.js';
import { StateStore } from './store/persistence.js';
import { KnownMembersFile, loadKnownMembers } from './store/known-members.js';
import { openSecurity, type Security } from './security/open.js';
import { pushPullRequest } from './net/stream-transport.js';
import { resolveSeeds, type SeedFailure } from './net/seeds.js';
import { VERSION } from '../client/contract/version.js';
import { EventLog, indexBase } from './watch/event-log.js';
import { LocalSplits } from './services/local-splits.js';
import { loadSplits } from './store/splits-file.js';
import { DnsServer } from './dns/server.js';
import { messageConfig } from './dns/message.js';
import { coreView } from './dns/view.js';
import { ConsulServer } from './consul/listener.js';

/**
 * One running agent: sockets, protocol core, driver, persistence and the local API, started and
 * stopped together. Process concerns (signals, exit codes, reload) live in run.ts.
 */

export interface AgentOptions {
  readonly clock?: Clock;
  /** POST /v1/leave calls this; run.ts passes its shutdown path. Default: leave() on its own. */
  readonly onLeaveRequested?: () => void;
  /**
   * Another live agent uses this agent's name and this one is the newer of the two, so it steps
   * aside (already logged and counted; the core sends nothing more). run.ts stops the process; it
   * must not announce a leave, which would speak for the other agent.
   */
  readonly onNameConflict?: (c: NameConflict) => void;
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
  readonly watchLog: EventLog;
  readonly security: Security;
  readonly services: LocalServices;
  readonly splits: LocalSplits;
  readonly knownMembers: KnownMembersFile;
  /** members.json as found at start-up. */
  readonly lastKnown: readonly string[];
}

export class Agent implements AgentApi {
  private api: ApiServer | null = null;
  private consul: ConsulServer | null = null;
  private leaving: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private dns: DnsServer | null = null;

  private constructor(private readonly p: Parts, private readonly opts: AgentOptions) {}

  static async start(config: AgentConfig, log: Logger, opts: AgentOptions = {}): Promise<Agent> {
    const clock = opts.clock ?? monotonicClock;
    const metrics = new Metrics();
    const events = new AgentEvents(log);
    // Fail fast, before touching ports or state, when another agent owns the socket.
    if ((await claimSocketPath(config.socket)) === 'stale-removed') {
      log.warn('removed a stale socket left by an agent that did not shut down cleanly', { socket: config.socket });
    }
    const store = await StateStore.open(config.dataDir, config.name, log);
    const lastKnown = await loadKnownMembers(config.dataDir, log);
    const savedSplits = await loadSplits(config.dataDir, log);
    const saved = await loadServices(config.dataDir, log).catch(async (e: unknown) => {
      await store.close();
      throw e;
    });
    let security: Security;
    try {
      security = await openSecurity(config, { metrics, log, clock });
    } catch (e) {
      await store.close();
      throw e;
    }
    const channel = security.channel;
    let driver: Driver | null = null;
    let services: LocalServices | null = null;
    let ports: BoundPorts;
    try {
      ports = await bindPorts({
        bind: config.bind,
        packetBytes: security.receiveBytes,
        // Inputs arriving in the instant before the driver exists are dropped like any lost packet.
        onPacket: channel.packets((from, bytes) => driver?.handlePacket(from, bytes)),
        onStream: channel.streams((from, bytes) => (driver === null ? null : driver.handlePushPull(from, bytes))),
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
      packetBytes: security.corePacketBytes,
      // Versions of this node's catalog entries keep rising across restarts.
      catalogRevision: saved.revision,
      // Splits and their clock as the previous process left them: never an older split, never a lower stamp.
      splits: savedSplits.splits,
      splitClock: savedSplits.clock,
    });
    // Attached before the driver starts, so the watch log holds every event of this lifetime.
    const watchLog = new EventLog(node, indexBase(Date.now()));
    watchLog.attach(events);
    const bindHost = isUnspecified(config.bind.host) ? undefined : config.bind.host;
    const outbound = (to: Address, request: Uint8Array): Promise<Uint8Array> => pushPullRequest(to, request, bindHost);
    driver = new Driver({
      node, udp: channel.sender(ports.udp), pushPull: channel.pushPull(outbound), clock, metrics, log, events,
      onConflict: (c) => {
        if (c.about === 'self' && c.stepAside) opts.onNameConflict?.(c);
      },
      afterInput: () => {
        store.noteIncarnation(node.self().incarnation);
        services?.afterInput();
      },
    });
    services = new LocalServices({ node, driver, advertiseHost: advertise.host, dataDir: config.dataDir, saved, log });
    const splits = new LocalSplits(node, driver, config.dataDir, log);
    splits.watch(events);
    const knownMembers = new KnownMembersFile(config.dataDir, () => node.members(), config.name, log);
    knownMembers.watch(events);
    const agent = new Agent({
      config, log, clock, metrics, events, store, ports, node, driver, advertise, startedAt: clock(), watchLog, security, services, splits, knownMembers, lastKnown,
    }, opts);
    try {
      // Before the first join, so that the first state exchange already carries them.
      agent.startServices(await services.start(config.services));
    } catch (e) {
      await agent.stop();
      throw e;
    }
    driver.start();
    try {
      agent.api = await ApiServer.start({ socketPath: config.socket, routes: buildRoutes(agent, watchLog, log, services, node, splits), metrics, log });
    } catch (e) {
      await agent.stop();
      throw e;
    }
    if (config.dnsAddr !== null) {
      try {
        agent.dns = await DnsServer.start({
          address: config.dnsAddr, view: coreView(node), config: messageConfig(config.dnsDomain, config.dnsTtl), log,
        });
      } catch (e) {
        await agent.stop();
        throw new Error(`cannot serve DNS on dns_addr ${describe(config.dnsAddr)}: ${(e as Error).message}`);
      }
    }
    if (config.httpAddr !== null) {
      try {
        agent.consul = await agent.startConsul(config.httpAddr);
      } catch (e) {
        await agent.stop();
        throw e;
      }
    }
    log.info('agent started', {
      name: config.name, advertise: describe(advertise), bind: describe({ host: config.bind.host, port: ports.port }),
      socket: config.socket, profile: config.profile, incarnation: store.startIncarnation, version: VERSION,
      cluster: config.cluster, encryption: security.mode,
      ...(agent.dns === null ? {} : { dns: describe(agent.dns.address), dns_domain: config.dnsDomain }),
      ...(agent.consul === null ? {} : { http: describe(agent.consul.address) }),
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

  /** The members this agent knew when it last ran, as seeds to rejoin through. */
  get lastKnownMembers(): readonly string[] {
    return this.p.lastKnown;
  }

  get events(): AgentEvents {
    return this.p.events;
  }

  keyring(): KeyringControl | null {
    return this.p.security.keyring;
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
    }) + this.p.services.metricsText() + (this.dns?.metricsText() ?? '') + (this.consul?.metricsText() ?? '') + this.p.splits.metricsText();
  }

  /** SIGHUP: the config file's services as they now are; errors are logged, the rest applied. */
  reloadServices(wanted: readonly ParsedRegistration[]): void {
    if (this.stopping !== null) return;
    const r = this.p.services.applyConfig(wanted);
    for (const e of r.errors) this.p.log.error('config service not applied', { id: e.id, reason: e.message });
  }

  async join(seeds: readonly string[]): Promise<JoinResult<SeedFailure>> {
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
        // Checks and waits end before the driver, so none of them reaches a stopped core.
        const servicesStopped = this.p.services.stop();
        this.p.driver.stop();
        const steps: [string, () => Promise<void>][] = [
          ['services', () => servicesStopped],
          ['consul api', async () => { await this.consul?.close(); }],
          ['api', async () => { await this.api?.close(); }],
          ['dns', async () => { await this.dns?.close(); }],
          ['push-pull listener', () => this.p.ports.stream.close()],
          ['udp socket', () => this.p.ports.udp.close()],
          ['splits', () => this.p.splits.stop()],
          ['known members', () => this.p.knownMembers.close()],
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

  /**
   * A config-file service the core refuses (too large for a packet, over a limit) stops start-up
   * like any other bad field; one clashing with an API registration is only logged, because the
   * agent must start for that registration to be removed.
   */
  private startServices(r: ConfigApply): void {
    const refused = r.errors.filter((e) => !e.conflict);
    for (const e of r.errors.filter((x) => x.conflict)) this.p.log.error('config service not registered', { id: e.id, reason: e.message });
    if (refused.length > 0) {
      const where = this.p.config.configFile === null ? 'config' : `config ${this.p.config.configFile}`;
      throw new ConfigError(`${where}: field "services": ${refused.map((e) => `id ${JSON.stringify(e.id)}: ${e.message}`).join('; ')}`);
    }
  }

  /** Where the DNS face listens (the port actually bound), or null when dns_addr is off. */
  dnsAddress(): Address | null {
    return this.dns?.address ?? null;
  }

  /** Where the Consul-compatible API listens (the bound port), or null when it is off. */
  get consulAddress(): Address | null {
    return this.consul?.address ?? null;
  }

  /** The Consul-compatible read API over this agent's view (daemon/consul/). */
  private startConsul(addr: Address): Promise<ConsulServer> {
    const node = this.p.node;
    return ConsulServer.start({
      addr, events: this.p.events, dataDir: this.p.config.dataDir, log: this.p.log,
      source: {
        datacenter: this.p.config.cluster, nodeName: this.p.config.name, version: VERSION,
        self: () => node.self(), members: () => node.members(), services: () => node.services(),
        split: (service) => node.split(service),
      },
    });
  }

  private uptimeSeconds(): number {
    return Math.floor((this.p.clock() - this.p.startedAt) / 1000);
  }
}
