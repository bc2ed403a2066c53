/**
 * A real HAProxy (Debian's 2.6, /usr/sbin/haproxy) for tests: a temporary haproxy.cfg with the
 * stats socket at level admin, one HTTP frontend on a free loopback port, and backends of
 * `server-template` slots in maintenance with dynamic persistence cookies. It runs in the
 * foreground (-db) as a child; the child is killed and its files removed however the test ends.
 * Also small HTTP backends that answer with their name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCtx } from './local-agent.js';
import { freePort } from '../../bench/free-port.js';
export { freePort };

export const HAPROXY_BIN = process.env['HAPROXY_BIN'] ?? '/usr/sbin/haproxy';

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

export interface HaproxyBackendSpec {
  readonly name: string;
  readonly slots: number;
}

export interface HaproxyOptions {
  readonly backends: readonly HaproxyBackendSpec[];
}

export class TestHaproxy {
  private proc: ChildProcess | null = null;
  private output = '';

  private constructor(readonly dir: string, readonly socket: string, readonly cfg: string, readonly port: number) {}

  /** Writes the config and starts HAProxy; resolves once its stats socket answers. */
  static async start(t: TestCtx, o: HaproxyOptions): Promise<TestHaproxy> {
    const dir = mkdtempSync(join(tmpdir(), 'swimd-hap-'));
    const port = await freePort();
    const socket = join(dir, 'admin.sock');
    const cfg = join(dir, 'haproxy.cfg');
    const first = o.backends[0]?.name ?? 'app';
    const backends = o.backends.map((b) => [
      `backend ${b.name}`,
      '  balance roundrobin',
      '  cookie SRV insert indirect nocache dynamic',
      '  dynamic-cookie-key swimd-test',
      `  server-template ${b.name} 1-${b.slots} 127.0.0.1:1 disabled`,
    ].join('\n')).join('\n');
    writeFileSync(cfg, [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  stats timeout 10s',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      `  default_backend ${first}`,
      backends,
      '',
    ].join('\n'));
    const h = new TestHaproxy(dir, socket, cfg, port);
    t.after(async () => {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await h.launch();
    return h;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  get log(): string {
    return this.output;
  }

  /** Starts the process (again, for a restart) and waits for the stats socket. */
  async launch(): Promise<void> {
    if (this.proc !== null) throw new Error('haproxy already running');
    rmSync(this.socket, { force: true });
    const proc = spawn(HAPROXY_BIN, ['-db', '-f', this.cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    this.proc = proc;
    proc.stdout?.on('data', (c: Buffer) => { this.output += c.toString(); });
    proc.stderr?.on('data', (c: Buffer) => { this.output += c.toString(); });
    proc.once('exit', () => { live.delete(proc); if (this.proc === proc) this.proc = null; });
    const deadline = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (this.proc === null) throw new Error(`haproxy exited during start-up:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`haproxy's stats socket did not answer within 10 s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
    this.proc = null;
  }

  private answers(): Promise<boolean> {
    if (!existsSync(this.socket)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const s = net.createConnection({ path: this.socket });
      s.on('connect', () => { s.end('show info\n'); });
      let got = '';
      s.on('data', (c: Buffer) => { got += c.toString(); });
      s.on('close', () => resolve(got.includes('Pid:')));
      s.on('error', () => resolve(false));
    });
  }
}

/** A backend that answers every request with its name in `x-app` and the body. */
export class NamedBackend {
  private constructor(readonly name: string, readonly port: number, private readonly server: http.Server) {}

  static async start(t: TestCtx, name: string): Promise<NamedBackend> {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'x-app': name }).end(`${name}\n`);
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
    const b = new NamedBackend(name, (server.address() as AddressInfo).port, server);
    t.after(() => b.stop());
    return b;
  }

  stop(): Promise<void> {
    return new Promise((r) => { this.server.closeAllConnections(); this.server.close(() => r()); });
  }
}

export interface Answer {
  readonly status: number;
  /** The backend that answered (`x-app`), or null. */
  readonly app: string | null;
  /** The persistence cookie HAProxy set ("SRV=..."), when it set one. */
  readonly setCookie: string | null;
}

/** One request through HAProxy on a fresh connection, with an optional cookie. */
export function get(url: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      res.resume();
      res.on('end', () => {
        const app = res.headers['x-app'];
        const sc = res.headers['set-cookie']?.[0]?.split(';')[0] ?? null;
        resolve({ status: res.statusCode ?? 0, app: typeof app === 'string' ? app : null, setCookie: sc });
      });
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Which backends answered `n` requests (no cookie), by name; 'HTTP <status>' for failures. */
export async function spread(url: string, n: number, cookie?: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = await get(url, cookie);
    const k = a.status === 200 && a.app !== null ? a.app : `HTTP ${a.status}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}
