/**
 * One `swimd agent` process per host, run inside the host's namespace with `ip netns exec`. That
 * command execs the agent in place after entering the namespace, so the child's pid is the agent's
 * own: signals (SIGKILL, SIGSTOP, SIGCONT) reach the agent itself, not a wrapper.
 *
 * The local API socket and the data dir live in the run's temporary folder; a Unix socket is a
 * filesystem object, so the test process reaches it from the root namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../client/index.js';
import { onAbnormalExit } from './cleanup.js';
import type { Host } from './network.js';

export const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
/** Every agent listens on the default port; each namespace has a port space of its own. */
export const GOSSIP_PORT = 7946;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface AgentSettings {
  readonly profile: 'lan' | 'local';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** How long a fresh agent may take to answer on its socket. */
  readonly startTimeoutMs: number;
  /** Per-request timeout of the observer's client; a paused agent must not stall the poll for long. */
  readonly clientTimeoutMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tailFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class HostAgent {
  readonly name: string;
  readonly socket: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly client: Client;
  private proc: ChildProcess | null = null;
  private exitedP: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  private paused = false;
  /** Times this agent was started, so logs and reports can tell runs apart. */
  starts = 0;

  constructor(readonly host: Host, dir: string, private readonly settings: AgentSettings) {
    this.name = host.name;
    this.socket = join(dir, `${host.name}.sock`);
    this.dataDir = join(dir, host.name);
    this.logFile = join(dir, `${host.name}.log`);
    this.client = new Client({ socketPath: this.socket, timeoutMs: settings.clientTimeoutMs });
    mkdirSync(this.dataDir, { recursive: true });
  }

  get gossipAddress(): string {
    return `${this.host.address}:${GOSSIP_PORT}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get isPaused(): boolean {
    return this.paused && this.running;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  /** Resolves when the current process has exited. */
  get exited(): Promise<Exit> {
    return this.exitedP;
  }

  /** Spawns the agent (joining through `seeds`) and waits until it answers on its socket. */
  async start(seeds: readonly string[]): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const args = [
      'netns', 'exec', this.host.ns,
      process.execPath, CLI_PATH, 'agent',
      '--name', this.name,
      '--bind', this.gossipAddress,
      '--advertise', this.gossipAddress,
      '--socket', this.socket,
      '--data-dir', this.dataDir,
      '--profile', this.settings.profile,
      '--log-level', this.settings.logLevel,
      ...seeds.flatMap((s) => ['--join', s]),
    ];
    const env: Record<string, string | undefined> = { ...process.env };
    delete env['SWIMD_SOCKET'];
    const fd = openSync(this.logFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn('ip', args, { stdio: ['ignore', fd, fd], env });
    } finally {
      closeSync(fd);
    }
    this.starts++;
    this.proc = proc;
    this.paused = false;
    // Also covered by the network's cleanup (it kills every process in the namespace), but a
    // direct kill is immediate and does not depend on `ip`.
    const unregister = onAbnormalExit(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });
    this.exitedP = new Promise<Exit>((resolve) => {
      proc.on('exit', (code, signal) => {
        unregister();
        resolve({ code, signal });
      });
      proc.on('error', () => {
        unregister();
        resolve({ code: 127, signal: null });
      });
    });
    const deadline = Date.now() + this.settings.startTimeoutMs;
    for (;;) {
      if (!this.running) {
        const exit = await this.exitedP;
        throw new Error(`${this.name} exited during start-up (code ${exit.code}, signal ${exit.signal})\n${tailFile(this.logFile, 20)}`);
      }
      try {
        await this.client.info();
        return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${this.name} did not answer on ${this.socket} within ${this.settings.startTimeoutMs} ms\n${tailFile(this.logFile, 20)}`);
      }
      await sleep(25);
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.running || this.proc === null) throw new Error(`${this.name} is not running`);
    this.proc.kill(sig);
  }

  /** SIGKILL, and waits for the process to be gone (the port and lock are free afterwards). */
  async crash(): Promise<Exit> {
    this.signal('SIGKILL');
    this.paused = false;
    return this.exitedP;
  }

  pause(): void {
    this.signal('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** SIGKILL if running (works on a stopped process too); waits at most 5 s. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running || this.proc === null) return;
    this.proc.kill('SIGKILL');
    await Promise.race([this.exitedP, sleep(5_000)]);
  }

  logTail(lines: number): string {
    return `--- ${this.name} (${this.logFile}) ---\n${tailFile(this.logFile, lines)}`;
  }
}
