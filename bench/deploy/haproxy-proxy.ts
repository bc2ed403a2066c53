/**
 * The drill's proxy as a real HAProxy (/usr/sbin/haproxy, or $HAPROXY_BIN) with the companion
 * keeping its backend equal to the catalog: a temporary haproxy.cfg (stats socket at level admin,
 * a frontend on a free loopback port, `server-template` slots in maintenance, round robin by
 * weight, dynamic persistence cookies when sticky), HAProxy in the foreground as a child, and the
 * companion in this process so that the moment HAProxy accepted each change is known exactly.
 * HAProxy's own retries and redispatch are left off, as the built-in proxy has none: a request
 * sent to a stopped instance must show as failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HaproxyCompanion, type InstanceChange } from '../../companion/haproxy/companion.js';
import { RuntimeApi } from '../../companion/haproxy/runtime-api.js';
import type { DrillProxy, DrillProxyOptions } from './drill-proxy.js';

export const HAPROXY_BIN = process.env['HAPROXY_BIN'] ?? '/usr/sbin/haproxy';
const BACKEND = 'app';
const SLOTS = 4;
const POLL_MS = 5;

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

async function freePort(host: string): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, host, () => resolve()); });
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export function drillHaproxyConfig(o: { socket: string; host: string; port: number; sticky: boolean }): string {
  return [
    'global',
    `  stats socket ${o.socket} mode 600 level admin`,
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  retries 0',
    '  timeout connect 2s',
    // The load generator closes idle connections after 30 s; HAProxy keeps them longer.
    '  timeout client 65s',
    '  timeout http-keep-alive 65s',
    '  timeout server 10s',
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

/** `show stat` CSV: current sessions (scur) per server of one backend. */
export function currentSessions(csv: string, backend: string): Map<string, number> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').replace(/^#\s*/, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const scur = header.indexOf('scur');
  const out = new Map<string, number>();
  if (px < 0 || sv < 0 || scur < 0) return out;
  for (const l of lines.slice(1)) {
    const cells = l.split(',');
    if (cells[px] === backend) out.set(cells[sv] ?? '', Number(cells[scur]));
  }
  return out;
}

export class HaproxyDrillProxy implements DrillProxy {
  readonly kind = 'haproxy';
  private readonly routableAt = new Map<string, number>();
  /** The slot each instance was given: still the place to count its sessions once it is removed. */
  private readonly slotOf = new Map<string, string>();
  private readonly drainingAt = new Map<string, number>();
  private readonly refused: string[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly api: RuntimeApi;
  private companion: HaproxyCompanion | null = null;
  private output = '';

  private constructor(
    private readonly dir: string, private readonly proc: ChildProcess, socket: string, readonly url: string, readonly pinsThroughDrain: boolean,
  ) {
    this.api = new RuntimeApi({ socketPath: socket });
  }

  static async start(o: DrillProxyOptions): Promise<HaproxyDrillProxy> {
    const dir = mkdtempSync(join(tmpdir(), 'swimd-drill-hap-'));
    const socket = join(dir, 'admin.sock');
    const cfg = join(dir, 'haproxy.cfg');
    const port = await freePort(o.host);
    writeFileSync(cfg, drillHaproxyConfig({ socket, host: o.host, port, sticky: o.sticky }));
    const proc = spawn(HAPROXY_BIN, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const p = new HaproxyDrillProxy(dir, proc, socket, `http://${o.host}:${port}/`, o.sticky);
    proc.stdout?.on('data', (c: Buffer) => { p.output = (p.output + c.toString()).slice(-4_000); });
    proc.stderr?.on('data', (c: Buffer) => { p.output = (p.output + c.toString()).slice(-4_000); });
    try {
      await p.until('HAProxy answering on its stats socket', async () => {
        if (proc.exitCode !== null) throw new Error(`haproxy exited: ${p.output}`);
        return (await p.api.one('show info').catch(() => '')).includes('Pid:');
      }, 10_000);
      const companion = new HaproxyCompanion({
        agentSocket: o.socketPath, haproxySocket: socket, maps: [{ service: o.service, backend: BACKEND }],
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
    return this.until(`no requests in flight to ${key} at HAProxy`, async () => {
      const slot = this.slotOf.get(key);
      if (slot === undefined) return true;
      const held = this.companion?.status().backends[0]?.servers.find((s) => s.slot === slot && s.instance === key);
      // Ready takes new requests; draining still takes pinned clients when sticky.
      if (held !== undefined && (held.state === 'ready' || (held.state === 'drain' && this.pinsThroughDrain))) return false;
      const sessions = currentSessions(await this.api.one(`show stat ${BACKEND} 4 -1`), BACKEND);
      return (sessions.get(slot) ?? 0) === 0;
    }, timeoutMs);
  }

  private async until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await cond()) return;
      if (Date.now() > deadline) throw new Error(`haproxy: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async close(): Promise<void> {
    await this.companion?.close();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
