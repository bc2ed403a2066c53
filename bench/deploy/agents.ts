/**
 * Three real `swimd agent` processes on loopback standing in for hosts A, B and C, each with its own
 * socket, data dir and log inside one temporary folder. The first binds port 0 and the others join
 * through whatever port it got, so runs never race other programs for fixed ports. Children are
 * killed however the drill ends (stop(), or process exit as a last resort).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../client/index.js';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface HostAgent {
  readonly name: string;
  readonly socket: string;
  readonly logFile: string;
  readonly client: Client;
  readonly port: number;
  readonly proc: ChildProcess;
}

export interface AgentsOptions {
  readonly names: readonly string[];
  readonly profile: 'lan' | 'local';
  readonly logLevel: string;
  /** Keep the folder (logs, data dirs) after stop, for a post-mortem. */
  readonly keep?: boolean;
  /** More `swimd agent` flags for the agent of that name (e.g. --dns-addr for the proxy's host). */
  readonly extraArgs?: Readonly<Record<string, readonly string[]>>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class HostAgents {
  readonly agents: HostAgent[] = [];
  /** Every child spawned, including any that failed to start, so stop() reaches them all. */
  private readonly procs: ChildProcess[] = [];

  private constructor(readonly dir: string, private readonly o: AgentsOptions) {}

  /** Starts every agent and returns once each one lists all of them alive. */
  static async start(o: AgentsOptions): Promise<HostAgents> {
    // Short prefix: a Unix socket path must fit in 107 bytes.
    const dir = mkdtempSync(join(tmpdir(), 'swimd-deploy-'));
    dirs.add(dir);
    const h = new HostAgents(dir, o);
    try {
      const [first, ...rest] = o.names;
      if (first === undefined) throw new Error('no agents to start');
      const seed = await h.spawn(first, null);
      await Promise.all(rest.map((n) => h.spawn(n, seed.port)));
      await h.converged(15_000);
    } catch (e) {
      await h.stop();
      throw e;
    }
    return h;
  }

  get(name: string): HostAgent {
    const a = this.agents.find((x) => x.name === name);
    if (a === undefined) throw new Error(`no agent ${name}`);
    return a;
  }

  logs(lines = 20): string {
    return this.agents.map((a) => `--- ${a.name} (${a.logFile}) ---\n${tail(a.logFile, lines)}`).join('\n');
  }

  /** SIGTERM (a graceful leave), SIGKILL after a grace; then the folder goes unless kept. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map(async (proc) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }));
    if (this.o.keep !== true) rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }

  private async spawn(name: string, seedPort: number | null): Promise<HostAgent> {
    const socket = join(this.dir, `${name}.sock`);
    const dataDir = join(this.dir, name);
    const logFile = join(this.dir, `${name}.log`);
    mkdirSync(dataDir, { recursive: true });
    const args = [
      CLI_PATH, 'agent', '--name', name, '--bind', '127.0.0.1:0', '--socket', socket, '--data-dir', dataDir,
      '--profile', this.o.profile, '--log-level', this.o.logLevel,
      ...(seedPort === null ? [] : ['--join', `127.0.0.1:${seedPort}`]),
      ...(this.o.extraArgs?.[name] ?? []),
    ];
    const fd = openSync(logFile, 'a');
    let proc: ChildProcess;
    try {
      const env = { ...process.env };
      delete env['SWIMD_SOCKET'];
      proc = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env });
    } finally {
      closeSync(fd);
    }
    live.add(proc);
    this.procs.push(proc);
    proc.once('exit', () => live.delete(proc));
    const client = new Client({ socketPath: socket, timeoutMs: 5_000 });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`agent ${name} exited during start-up (${proc.exitCode ?? proc.signalCode})\n${tail(logFile, 20)}`);
      }
      try {
        const info = await client.info();
        const agent: HostAgent = { name, socket, logFile, client, port: info.port, proc };
        this.agents.push(agent);
        return agent;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`agent ${name} did not answer on ${socket} within 15 s\n${tail(logFile, 20)}`);
      }
      await sleep(25);
    }
  }

  private async converged(timeoutMs: number): Promise<void> {
    const want = this.o.names.length;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const alive = await Promise.all(this.agents.map(async (a) => (await a.client.members({ status: 'alive' })).length));
      if (alive.every((n) => n === want)) return;
      if (Date.now() > deadline) throw new Error(`agents did not converge within ${timeoutMs} ms (alive counts ${alive.join(', ')})\n${this.logs()}`);
      await sleep(50);
    }
  }
}
