/**
 * Integration harness: real `swimd agent` processes on 127.0.0.1, each with its own socket, data dir
 * and log file inside one temporary folder. Children are killed and the folder removed however the
 * test ends (test hook, or process exit as a last resort), and on failure the tail of every agent's
 * log is printed, since the log is the only witness of what a daemon was doing.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mulberry32 } from './rng.js';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type Member } from '../../client/index.js';

export const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Agent {
  readonly name: string;
  readonly socket: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly client: Client;
  /** Gossip port; fixed at first start so a restart comes back at the same address. */
  port: number;
  proc: ChildProcess | null;
  /** Resolves when the current process exits. */
  exited: Promise<Exit>;
}

export interface ClusterOptions {
  readonly profile?: 'local' | 'lan';
  /** Extra `swimd agent` flags for every agent. */
  readonly extraArgs?: readonly string[];
  /** How long one agent may take to answer on its socket after spawn. */
  readonly startTimeoutMs?: number;
}

/** Children alive in this process, killed on exit even if a test forgot (or crashed before) cleanup. */
const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** Seeded so a port clash can be replayed; the seed is printed with the ports. */
export const PORT_SEED = Number(process.env['SWIMD_TEST_SEED'] ?? (Date.now() ^ (process.pid << 8)) >>> 0);
const random = mulberry32(PORT_SEED);
/** Below the Linux ephemeral range (32768+), so outgoing connections do not take our ports. */
function randomPort(): number {
  return 20_000 + Math.floor(random() * 12_000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `p`'s value, or null if it takes longer than `ms`; the timer is cleared so it holds no test open. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => { timer = setTimeout(() => r(null), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/null/false, or throws after
 * `timeoutMs` naming `what` and the last value or error seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `swimd` executable as a child process. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_PATH, ...args], { env: { ...cleanEnv(), ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(err);
      resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
    });
  });
}

/** The caller's SWIMD_SOCKET must not leak into children that are meant to use explicit sockets. */
function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['SWIMD_SOCKET'];
  return env;
}

function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class Cluster {
  readonly dir: string;
  readonly agents: Agent[] = [];
  private readonly opts: ClusterOptions;

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
    // Short prefix: Unix socket paths are limited to 107 bytes.
    this.dir = mkdtempSync(join(tmpdir(), 'swimd-it-'));
    tempDirs.add(this.dir);
  }

  /**
   * Starts `n` agents: the first as seed, then the rest at once, joining through it. Returns when
   * every agent answers on its socket (not when they have converged: that is for tests to measure).
   */
  static async start(n: number, opts: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      const seed = await c.add('n0', []);
      const rest = Array.from({ length: n - 1 }, (_, i) => c.spawnAgent(`n${i + 1}`, [`127.0.0.1:${seed.port}`]));
      // allSettled: every child must be known (and so cleaned up) even if one of them failed.
      const results = await Promise.allSettled(rest);
      for (const r of results) if (r.status === 'fulfilled') c.agents.push(r.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } catch (e) {
      await c.stopAll();
      throw e;
    }
    return c;
  }

  /** Starts one more agent joining through `seeds`. */
  async add(name: string, seeds: readonly string[]): Promise<Agent> {
    const agent = await this.spawnAgent(name, seeds);
    this.agents.push(agent);
    return agent;
  }

  /** Retries with other ports when the chosen one turns out to be taken. */
  private async spawnAgent(name: string, seeds: readonly string[]): Promise<Agent> {
    const socket = join(this.dir, `${name}.sock`);
    const agent: Agent = {
      name,
      socket,
      dataDir: join(this.dir, name),
      logFile: join(this.dir, `${name}.log`),
      client: new Client({ socketPath: socket, timeoutMs: 5_000 }),
      port: 0,
      proc: null,
      exited: Promise.resolve({ code: null, signal: null }),
    };
    mkdirSync(agent.dataDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      agent.port = randomPort();
      if (await this.launch(agent, seeds)) return agent;
      if (attempt >= 5) throw new Error(`${name}: no free port after ${attempt} attempts (seed ${PORT_SEED})\n${tail(agent.logFile, 20)}`);
    }
  }

  /**
   * Spawns the agent and waits until its socket answers. Returns false if it exited early because
   * the port was taken; throws on any other early exit.
   */
  private async launch(agent: Agent, seeds: readonly string[]): Promise<boolean> {
    const args = [
      CLI_PATH, 'agent',
      '--name', agent.name,
      '--bind', `127.0.0.1:${agent.port}`,
      '--socket', agent.socket,
      '--data-dir', agent.dataDir,
      '--profile', this.opts.profile ?? 'local',
      '--log-level', 'debug',
      ...seeds.flatMap((j) => ['--join', j]),
      ...(this.opts.extraArgs ?? []),
    ];
    const fd = openSync(agent.logFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: cleanEnv() });
    } finally {
      closeSync(fd);
    }
    live.add(proc);
    agent.proc = proc;
    let done = false;
    agent.exited = new Promise<Exit>((resolve) => {
      proc.on('exit', (code, signal) => {
        done = true;
        live.delete(proc);
        resolve({ code, signal });
      });
    });
    const timeout = this.opts.startTimeoutMs ?? 15_000;
    const deadline = Date.now() + timeout;
    for (;;) {
      if (done) {
        const exit = await agent.exited;
        const log = tail(agent.logFile, 20);
        if (/EADDRINUSE|address already in use/i.test(log)) return false;
        throw new Error(`${agent.name} exited during start-up (code ${exit.code}, signal ${exit.signal})\n${log}`);
      }
      try {
        await agent.client.info();
        return true;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${agent.name} did not answer on ${agent.socket} within ${timeout} ms\n${tail(agent.logFile, 20)}`);
      }
      await sleep(25);
    }
  }

  /** Sends a signal; for SIGKILL/SIGTERM use `exited` to wait for the process to go. */
  kill(agent: Agent, signal: NodeJS.Signals): void {
    if (agent.proc === null || agent.proc.exitCode !== null || agent.proc.signalCode !== null) {
      throw new Error(`${agent.name} is not running`);
    }
    agent.proc.kill(signal);
  }

  /**
   * Starts a stopped agent again on the same port, socket and data dir, joining through the others,
   * or through `seeds` when given (`[]`: no --join at all, as the first agent is started).
   */
  async restart(agent: Agent, seeds?: readonly string[]): Promise<void> {
    if (agent.proc !== null && agent.proc.exitCode === null && agent.proc.signalCode === null) {
      throw new Error(`${agent.name} is still running`);
    }
    const joinThrough = seeds ?? this.agents.filter((a) => a !== agent && this.running(a)).map((a) => `127.0.0.1:${a.port}`).slice(0, 1);
    // A port just released is normally free at once; retry briefly in case the kernel lags.
    for (let attempt = 1; ; attempt++) {
      if (await this.launch(agent, joinThrough)) return;
      if (attempt >= 5) throw new Error(`${agent.name}: port ${agent.port} still taken after ${attempt} attempts`);
      await sleep(200);
    }
  }

  running(agent: Agent): boolean {
    return agent.proc !== null && agent.proc.exitCode === null && agent.proc.signalCode === null;
  }

  membersOf(agent: Agent): Promise<Member[]> {
    return agent.client.members();
  }

  /** The last lines of every agent's log, for a failure report. */
  logs(lines = 30): string {
    return this.agents.map((a) => `--- ${a.name} (${a.logFile}) ---\n${tail(a.logFile, lines)}`).join('\n');
  }

  /** Kills every child (SIGKILL works on a SIGSTOPped one too), then removes the folder. Idempotent. */
  async stopAll(): Promise<void> {
    const waits: Promise<Exit>[] = [];
    for (const a of this.agents) {
      if (!this.running(a) || a.proc === null) continue;
      a.proc.kill('SIGKILL');
      waits.push(a.exited);
    }
    await within(Promise.all(waits), 5_000);
    rmSync(this.dir, { recursive: true, force: true });
    tempDirs.delete(this.dir);
  }
}

/** Minimal view of node:test's context, so helpers need not import its types. */
interface TestLike {
  after(fn: () => Promise<void>): void;
}

/**
 * Runs `body` with a started cluster; on failure prints every agent's log tail before rethrowing,
 * and always stops the agents and removes the folder.
 */
export async function withCluster<T>(t: TestLike, n: number, opts: ClusterOptions, body: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await Cluster.start(n, opts);
  // Also as a hook: a test that times out never reaches the finally below.
  t.after(() => c.stopAll());
  try {
    return await body(c);
  } catch (e) {
    // console, not t.diagnostic: diagnostics escape newlines, which makes JSON log lines unreadable.
    console.error(c.logs());
    throw e;
  } finally {
    await c.stopAll();
  }
}
