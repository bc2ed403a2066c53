/**
 * A real HAProxy for the drill: a temporary folder with the config and the stats socket, HAProxy in
 * the foreground (-db) as a child, killed and its folder removed by stop() (or at process exit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeApi } from '../../companion/haproxy/runtime-api.js';
import { freePort } from '../free-port.js';
export { freePort };

export const HAPROXY_BIN = process.env['HAPROXY_BIN'] ?? '/usr/sbin/haproxy';

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

/** HAProxy's defaults for the drill: retries and redispatch off, as the built-in proxy has none. */
export const DRILL_DEFAULTS = [
  'defaults',
  '  mode http',
  '  retries 0',
  '  timeout connect 2s',
  // The load generator closes idle connections after 30 s; HAProxy keeps them longer.
  '  timeout client 65s',
  '  timeout http-keep-alive 65s',
  '  timeout server 10s',
];

export class HaproxyProcess {
  readonly api: RuntimeApi;
  private output = '';

  private constructor(private readonly dir: string, private readonly proc: ChildProcess, readonly socket: string) {
    this.api = new RuntimeApi({ socketPath: socket });
    const keep = (c: Buffer): void => { this.output = (this.output + c.toString()).slice(-4_000); };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  /** Writes the config `render(statsSocketPath)` returns, starts HAProxy, waits for its stats socket. */
  static async start(render: (socket: string) => string): Promise<HaproxyProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'swimd-drill-hap-'));
    const socket = join(dir, 'admin.sock');
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, render(socket));
    const proc = spawn(HAPROXY_BIN, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const h = new HaproxyProcess(dir, proc, socket);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await h.stop();
        throw new Error(`haproxy exited during start-up: ${h.output}`);
      }
      if ((await h.api.one('show info').catch(() => '')).includes('Pid:')) return h;
      if (Date.now() > deadline) {
        await h.stop();
        throw new Error(`haproxy's stats socket did not answer within 10 s: ${h.output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
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

/** Polls `cond` every `everyMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function pollUntil(what: string, cond: () => Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`haproxy: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
