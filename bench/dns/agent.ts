/**
 * One real `swimd agent` process with its DNS face on a free loopback port, its files in a
 * temporary folder removed on stop (or at process exit as a last resort).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../client/index.js';
import { freePort } from './haproxy.js';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export interface DnsAgent {
  readonly dir: string;
  readonly client: Client;
  readonly dnsPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startDnsAgent(): Promise<DnsAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-dnsb-'));
  dirs.add(dir);
  const dnsPort = await freePort();
  const socket = join(dir, 'a.sock');
  const logFile = join(dir, 'agent.log');
  const fd = openSync(logFile, 'a');
  const env = { ...process.env };
  delete env['SWIMD_SOCKET'];
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [
      CLI_PATH, 'agent', '--name', 'n1', '--bind', '127.0.0.1:0', '--socket', socket, '--data-dir', join(dir, 'data'),
      '--profile', 'local', '--log-level', 'warn', '--dns-addr', `127.0.0.1:${dnsPort}`,
    ], { stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  live.add(proc);
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(proc);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  const client = new Client({ socketPath: socket, timeoutMs: 5_000 });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const log = readFileSync(logFile, 'utf8');
      await stop();
      throw new Error(`agent exited during start-up: ${log}`);
    }
    try {
      await client.info();
      return { dir, client, dnsPort, pid: proc.pid ?? 0, stop };
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('agent did not start within 15 s');
    }
    await sleep(25);
  }
}

/** Resident set size of a process, in MiB, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) / 1024;
}
