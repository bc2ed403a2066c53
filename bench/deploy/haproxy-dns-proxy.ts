/**
 * The drill's proxy as a real HAProxy that learns the backends through its own DNS resolver from
 * the agent's DNS face (`resolvers` + `server-template ... _app._tcp.service.swimd`), no companion:
 * the path whose cost the drill shows beside the companion's. HAProxy asks again every
 * `timeout resolve` (1 s, its default, as a user gets it); an instance that leaves the SRV answer
 * (draining, critical, removed) goes to maintenance at the next resolution, with no drain state.
 *
 * What HAProxy did and when is observed from outside: `show servers state` every 2 ms, each slot
 * matched to an instance by address and port (the instances' addresses come from the agent).
 */
import { performance } from 'node:perf_hooks';
import { Client } from '../../client/index.js';
import { parseServersState, type Slot } from '../../companion/haproxy/slots.js';
import { CatalogView } from '../../companion/haproxy/view.js';
import type { DrillProxy, DrillProxyOptions } from './drill-proxy.js';
import { currentSessions, DRILL_DEFAULTS, freePort, HaproxyProcess, pollUntil } from './haproxy-process.js';

const BACKEND = 'app';
const SLOTS = 4;
const POLL_MS = 2;
export const DNS_RESOLVE_MS = 1_000;

export function drillHaproxyDnsConfig(o: { socket: string; host: string; port: number; dnsPort: number; service: string; sticky: boolean }): string {
  return [
    'global',
    `  stats socket ${o.socket} mode 600 level admin`,
    '  maxconn 4096',
    ...DRILL_DEFAULTS,
    'resolvers swimd',
    `  nameserver agent 127.0.0.1:${o.dnsPort}`,
    '  accepted_payload_size 4096',
    `  timeout resolve ${DNS_RESOLVE_MS}ms`,
    '  hold obsolete 0s',
    '  hold nx 0s',
    'frontend fe',
    `  bind ${o.host}:${o.port}`,
    `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`,
    '  balance roundrobin',
    ...(o.sticky ? ['  cookie SRV insert indirect nocache dynamic', '  dynamic-cookie-key swimd-drill'] : []),
    `  server-template ${BACKEND} 1-${SLOTS} _${o.service}._tcp.service.swimd resolvers swimd init-addr none`,
    '',
  ].join('\n');
}

export class HaproxyDnsDrillProxy implements DrillProxy {
  readonly kind = 'haproxy-dns';
  /** Leaving the answer takes a slot to maintenance: no pinned client stays. */
  readonly pinsThroughDrain = false;
  private readonly routableAt = new Map<string, number>();
  private readonly leftAt = new Map<string, number>();
  private readonly slotOf = new Map<string, string>();
  private readonly view = new CatalogView();
  private readonly abort = new AbortController();
  private readonly errors: string[] = [];
  private slots: Slot[] = [];
  /** When a poll first saw the slots differ from the poll before (address, port, state, weight). */
  private readonly changedAt: number[] = [];
  private lastSignature = '';
  private polling: Promise<void> = Promise.resolve();
  private watching: Promise<void> = Promise.resolve();

  private constructor(private readonly haproxy: HaproxyProcess, readonly url: string, private readonly o: DrillProxyOptions) {}

  static async start(o: DrillProxyOptions): Promise<HaproxyDnsDrillProxy> {
    if (o.dnsPort === undefined) throw new Error('haproxy-dns: the agent serves no DNS');
    const dnsPort = o.dnsPort;
    const port = await freePort(o.host);
    const haproxy = await HaproxyProcess.start((socket) => drillHaproxyDnsConfig({ socket, host: o.host, port, dnsPort, service: o.service, sticky: o.sticky }));
    const p = new HaproxyDnsDrillProxy(haproxy, `http://${o.host}:${port}/`, o);
    p.watching = p.follow();
    p.polling = p.poll();
    return p;
  }

  /** The instances' addresses, to tell which slot holds which. */
  private async follow(): Promise<void> {
    const client = new Client({ socketPath: this.o.socketPath });
    try {
      for await (const e of client.watch({ signal: this.abort.signal, maxRetries: 50, maxBackoffMs: 500 })) this.view.apply(e);
    } catch (e) {
      this.errors.push(`watch stream: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async poll(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        this.slots = parseServersState(await this.haproxy.api.one(`show servers state ${BACKEND}`), BACKEND);
        const at = performance.now();
        const signature = this.slots.map((x) => `${x.address}:${x.port}:${x.admin}:${x.weight}`).join(' ');
        if (signature !== this.lastSignature) this.changedAt.push(at);
        this.lastSignature = signature;
        for (const s of this.view.instances(this.o.service)) {
          const key = `${s.node}/${s.id}`;
          const slot = this.slots.find((x) => x.address === s.address && x.port === s.port);
          const ready = slot !== undefined && slot.admin === 'ready';
          if (slot !== undefined) this.slotOf.set(key, slot.name);
          if (ready && !this.routableAt.has(key)) this.routableAt.set(key, at);
          if (!ready && this.routableAt.has(key) && !this.leftAt.has(key)) this.leftAt.set(key, at);
        }
      } catch (e) {
        if (this.errors.length < 5) this.errors.push(`show servers state: ${e instanceof Error ? e.message : String(e)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  firstRoutableAt(key: string): number | null {
    return this.routableAt.get(key) ?? null;
  }

  /** On the DNS path a drained instance leaves the answer: the slot's move to maintenance. */
  firstDrainingAt(key: string): number | null {
    return this.leftAt.get(key) ?? null;
  }

  problems(): string[] {
    return [...this.errors];
  }

  firstRoutingChangeAfter(at: number): number | null {
    return this.changedAt.find((t) => t >= at) ?? null;
  }

  waitRoutable(key: string, timeoutMs: number): Promise<void> {
    return pollUntil(`${key} ready in HAProxy`, () => Promise.resolve(this.routableAt.has(key)), timeoutMs, POLL_MS);
  }

  waitIdle(key: string, timeoutMs: number): Promise<void> {
    return pollUntil(`no requests in flight to ${key} at HAProxy`, async () => {
      if (!this.leftAt.has(key)) return false;
      const slot = this.slotOf.get(key);
      if (slot === undefined) return true;
      const sessions = currentSessions(await this.haproxy.api.one(`show stat ${BACKEND} 4 -1`), BACKEND);
      return (sessions.get(slot) ?? 0) === 0;
    }, timeoutMs);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.watching.catch(() => undefined);
    await this.polling.catch(() => undefined);
    await this.haproxy.stop();
  }
}
