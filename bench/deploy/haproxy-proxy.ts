/**
 * The drill's proxy as a real HAProxy with the companion keeping its backend equal to the catalog:
 * a frontend on a free loopback port, `server-template` slots in maintenance, round robin by
 * weight, dynamic persistence cookies when sticky, and the companion in this process so that the
 * moment HAProxy accepted each change is known exactly. HAProxy's retries and redispatch are off,
 * as the built-in proxy has none: a request sent to a stopped instance must show as failed.
 */
import { HaproxyCompanion, type InstanceChange } from '../../companion/haproxy/companion.js';
import type { DrillProxy, DrillProxyOptions } from './drill-proxy.js';
import { currentSessions, DRILL_DEFAULTS, freePort, HaproxyProcess, pollUntil } from './haproxy-process.js';

export { currentSessions, HAPROXY_BIN } from './haproxy-process.js';

const BACKEND = 'app';
const SLOTS = 4;

export function drillHaproxyConfig(o: { socket: string; host: string; port: number; sticky: boolean }): string {
  return [
    'global',
    `  stats socket ${o.socket} mode 600 level admin`,
    '  maxconn 4096',
    ...DRILL_DEFAULTS,
    'frontend fe',
    `  bind ${o.host}:${o.port}`,
    `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`,
    '  balance roundrobin',
    ...(o.sticky ? ['  cookie SRV insert indirect nocache dynamic', '  dynamic-cookie-key swimd-drill'] : []),
    `  server-template ${BACKEND} 1-${SLOTS} 127.0.0.1:1 disabled`,
    '',
  ].join('\n');
}

export class HaproxyDrillProxy implements DrillProxy {
  readonly kind = 'haproxy';
  private readonly routableAt = new Map<string, number>();
  private readonly drainingAt = new Map<string, number>();
  /** The slot each instance was given: still the place to count its sessions once it is removed. */
  private readonly slotOf = new Map<string, string>();
  private readonly refused: string[] = [];
  /** When each batch that changed a slot was accepted. */
  private readonly changedAt: number[] = [];
  private readonly waiters = new Set<() => void>();
  private companion: HaproxyCompanion | null = null;

  private constructor(private readonly haproxy: HaproxyProcess, readonly url: string, readonly pinsThroughDrain: boolean) {}

  static async start(o: DrillProxyOptions): Promise<HaproxyDrillProxy> {
    const port = await freePort(o.host);
    const haproxy = await HaproxyProcess.start((socket) => drillHaproxyConfig({ socket, host: o.host, port, sticky: o.sticky }));
    const p = new HaproxyDrillProxy(haproxy, `http://${o.host}:${port}/`, o.sticky);
    try {
      const companion = new HaproxyCompanion({
        agentSocket: o.socketPath, haproxySocket: haproxy.socket, maps: [{ service: o.service, backend: BACKEND }],
        log: (level, msg) => { if (level === 'error') p.refused.push(msg); },
        onApplied: (b) => p.note(b.at, b.changes),
      });
      p.companion = companion;
      companion.start();
      await companion.settled(10_000);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  private note(at: number, changes: readonly InstanceChange[]): void {
    if (changes.length > 0) this.changedAt.push(at);
    for (const c of changes) {
      this.slotOf.set(c.key, c.slot);
      if (c.state === 'ready' && c.weight > 0 && !this.routableAt.has(c.key)) this.routableAt.set(c.key, at);
      if (c.state === 'drain' && !this.drainingAt.has(c.key)) this.drainingAt.set(c.key, at);
    }
    for (const w of [...this.waiters]) w();
  }

  firstRoutableAt(key: string): number | null {
    return this.routableAt.get(key) ?? null;
  }

  firstDrainingAt(key: string): number | null {
    return this.drainingAt.get(key) ?? null;
  }

  problems(): string[] {
    return [...this.refused];
  }

  firstRoutingChangeAfter(at: number): number | null {
    return this.changedAt.find((t) => t >= at) ?? null;
  }

  waitRoutable(key: string, timeoutMs: number): Promise<void> {
    if (this.routableAt.has(key)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.routableAt.has(key)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`haproxy: timed out after ${timeoutMs} ms waiting for ${key} to be ready`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Polls HAProxy itself: the slot's state, and its current sessions. */
  waitIdle(key: string, timeoutMs: number): Promise<void> {
    return pollUntil(`no requests in flight to ${key} at HAProxy`, async () => {
      const slot = this.slotOf.get(key);
      if (slot === undefined) return true;
      const held = this.companion?.status().backends[0]?.servers.find((s) => s.slot === slot && s.instance === key);
      // Ready takes new requests; draining still takes pinned clients when sticky.
      if (held !== undefined && (held.state === 'ready' || (held.state === 'drain' && this.pinsThroughDrain))) return false;
      const sessions = currentSessions(await this.haproxy.api.one(`show stat ${BACKEND} 4 -1`), BACKEND);
      return (sessions.get(slot) ?? 0) === 0;
    }, timeoutMs);
  }

  async close(): Promise<void> {
    await this.companion?.close();
    await this.haproxy.stop();
  }
}
