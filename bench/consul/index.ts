/**
 * The Consul-compatible API, measured with real agents (separate `swimd agent` processes on
 * loopback) and the real Prometheus:
 *
 *   npm run bench -- --scenario consul [--agents N] [--runs R] [--polls K] [--prom-runs P] [--prom-refresh DURATION] [--json FILE]
 *
 * 1. wake: `register` on one agent → a blocking /v1/health/service/NAME?index=N on another agent
 *    answers with the new instance (R runs, a fresh service name each, p50/p99/max).
 * 2. prometheus: `register` → the target listed in the real Prometheus's /api/v1/targets through
 *    http_sd with refresh_interval --prom-refresh (P runs); skipped when /usr/bin/prometheus is absent.
 * 3. polls: K concurrent blocking queries held by one agent, its RSS before and with them, and the
 *    time from one register to the last of them answered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../client/index.js';
import { freePort } from '../free-port.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const PROMETHEUS = '/usr/bin/prometheus';

interface Options {
  agents: number;
  runs: number;
  polls: number;
  promRuns: number;
  promRefresh: string;
  json: string | null;
}

/** `--scenario consul` selects this bench (bench/main.ts). */
export function isConsulScenario(argv: readonly string[]): boolean {
  return argv.some((a, i) => (a === '--scenario' && argv[i + 1] === 'consul') || a === '--scenario=consul');
}

function parse(argv: readonly string[]): Options {
  const o: Options = { agents: 3, runs: 200, polls: 4000, promRuns: 5, promRefresh: '1s', json: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--scenario=consul') continue;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag ?? ''} needs a value`);
    const n = Number(value);
    switch (flag) {
      case '--scenario': if (value !== 'consul') throw new Error(`--scenario ${value}: this bench is consul`); break;
      case '--agents': o.agents = n; break;
      case '--runs': o.runs = n; break;
      case '--polls': o.polls = n; break;
      case '--prom-runs': o.promRuns = n; break;
      case '--prom-refresh': o.promRefresh = value; break;
      case '--json': o.json = value; break;
      default: throw new Error(`unknown option ${flag ?? ''}`);
    }
  }
  if (!(o.agents >= 2) || !(o.runs >= 1) || !(o.polls >= 0) || !(o.promRuns >= 0)) throw new Error('bad option values');
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs: number, everyMs = 20): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== false) return v;
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(everyMs);
  }
}

interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

const keepAlive = new HttpAgent({ keepAlive: false, maxSockets: Infinity });

function get(port: number, path: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: kept as text.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface RunningAgent {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly client: Client;
  readonly httpPort: number;
  gossipPort: number;
}

async function startAgent(dir: string, name: string, seed: string | null): Promise<RunningAgent> {
  const httpPort = await freePort();
  const socket = `${dir}/${name}.sock`;
  const args = [CLI, 'agent', '--name', name, '--bind', '127.0.0.1:0', '--socket', socket, '--data-dir', `${dir}/${name}-data`,
    '--profile', 'local', '--log-level', 'error', '--http-addr', `127.0.0.1:${httpPort}`];
  if (seed !== null) args.push('--join', seed);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const client = new Client({ socketPath: socket });
  const info = await until(`${name} answers`, async () => (await client.info()), 15_000, 50);
  await until(`${name} serves the Consul API`, async () => (await get(httpPort, '/v1/agent/self')).status === 200, 15_000, 50);
  return { name, proc, client, httpPort, gossipPort: info.port };
}

interface Stats {
  readonly n: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { n: s.length, p50_ms: r(at(0.5)), p99_ms: r(at(0.99)), max_ms: r(s[s.length - 1] ?? NaN) };
}

function indexOf(r: Res): number {
  return Number(r.headers['x-consul-index']);
}

async function measureWake(agents: readonly RunningAgent[], runs: number): Promise<Stats> {
  const watcher = agents[0]!;
  const owner = agents[agents.length - 1]!;
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const name = `wake-${k}`;
    const first = await get(watcher.httpPort, `/v1/health/service/${name}`);
    const poll = get(watcher.httpPort, `/v1/health/service/${name}?stale&wait=60s&index=${indexOf(first)}`);
    // Give the poll time to be held before the change, so the wake is what is timed.
    await sleep(5);
    const t0 = performance.now();
    await owner.client.register({ name, id: name, port: 10_000 + (k % 50_000) });
    const r = await poll;
    const t1 = performance.now();
    if (!Array.isArray(r.body) || r.body.length !== 1) throw new Error(`run ${k}: woken without the instance: ${JSON.stringify(r.body)}`);
    times.push(t1 - t0);
    await owner.client.deregister(name);
  }
  return stats(times);
}

async function rssKb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]);
}

async function measurePolls(agent: RunningAgent, owner: RunningAgent, polls: number): Promise<Record<string, number>> {
  const before = await rssKb(agent.proc.pid!);
  const first = await get(agent.httpPort, '/v1/health/service/crowd');
  const idx = indexOf(first);
  let answered = 0;
  let refused = 0;
  let failed = 0;
  let lastAt = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < polls; i++) {
    pending.push(get(agent.httpPort, `/v1/health/service/crowd?wait=5m&index=${idx}`).then((r) => {
      if (r.status === 429) refused++;
      else answered++;
      lastAt = performance.now();
    }, (e: unknown) => {
      failed++;
      if (failed === 1) process.stderr.write(`a blocking query failed: ${String(e)}\n`);
    }));
    if (i % 200 === 199) await sleep(20);
  }
  await until('every poll held or refused', async () => answered + refused + failed > 0 || (await get(agent.httpPort, '/v1/agent/self')).status === 200, 1000);
  await sleep(2000);
  const early = answered;
  const held = await rssKb(agent.proc.pid!);
  const t0 = performance.now();
  await owner.client.register({ name: 'crowd', id: 'crowd-1', port: 9999 });
  await Promise.all(pending);
  return { polls, answered_early: early, failed, answered, refused_429: refused, rss_before_mb: round1(before / 1024), rss_held_mb: round1(held / 1024), wake_all_ms: Math.round(lastAt - t0) };
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

async function measurePrometheus(dir: string, agent: RunningAgent, owner: RunningAgent, runs: number, refresh: string): Promise<Stats | null> {
  if (!existsSync(PROMETHEUS) || runs === 0) return null;
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: swimd\n    http_sd_configs:\n      - url: http://127.0.0.1:${agent.httpPort}/v1/sd/prometheus?service=promtarget\n        refresh_interval: ${refresh}\n`);
  const proc = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: 'ignore' });
  try {
    await until('prometheus ready', async () => (await get(port, '/-/ready')).status === 200, 30_000, 100);
    const has = async (id: string): Promise<boolean> => {
      const r = await get(port, '/api/v1/targets?state=active');
      const targets = (r.body as { data: { activeTargets: { discoveredLabels: Record<string, string> }[] } }).data.activeTargets;
      return targets.some((x) => x.discoveredLabels['__meta_swimd_service_id'] === id);
    };
    const times: number[] = [];
    for (let k = 0; k < runs; k++) {
      const id = `promtarget-${k}`;
      const t0 = performance.now();
      await owner.client.register({ name: 'promtarget', id, port: 20_000 + k });
      await until(`${id} in prometheus`, () => has(id), 60_000, 20);
      times.push(performance.now() - t0);
      await owner.client.deregister(id);
      await until(`${id} gone from prometheus`, async () => !(await has(id)), 60_000, 50);
    }
    return stats(times);
  } finally {
    proc.kill('SIGTERM');
    await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(5000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

export async function consulMain(argv: readonly string[]): Promise<number> {
  let o: Options;
  try {
    o = parse(argv);
  } catch (e) {
    process.stderr.write(`consul bench: ${(e as Error).message}\nusage: npm run bench -- --scenario consul [--agents N] [--runs R] [--polls K] [--prom-runs P] [--prom-refresh DURATION] [--json FILE]\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'swimd-cb-'));
  const agents: RunningAgent[] = [];
  const cleanup = (): void => {
    for (const a of agents) a.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  try {
    agents.push(await startAgent(dir, 'c0', null));
    for (let i = 1; i < o.agents; i++) agents.push(await startAgent(dir, `c${i}`, `127.0.0.1:${agents[0]!.gossipPort}`));
    await until('every agent sees every other', async () => {
      for (const a of agents) if ((await a.client.members()).filter((m) => m.status === 'alive').length !== o.agents) return false;
      return true;
    }, 30_000, 50);
    const wake = await measureWake(agents, o.runs);
    process.stdout.write(`register → woken blocking query on another agent (${o.agents} agents, profile local, ${o.runs} runs): p50 ${wake.p50_ms} ms, p99 ${wake.p99_ms} ms, max ${wake.max_ms} ms\n`);
    const prom = await measurePrometheus(dir, agents[0]!, agents[agents.length - 1]!, o.promRuns, o.promRefresh);
    if (prom !== null) process.stdout.write(`register → target in Prometheus /api/v1/targets (http_sd, refresh_interval ${o.promRefresh}, ${prom.n} runs): p50 ${prom.p50_ms} ms, p99 ${prom.p99_ms} ms, max ${prom.max_ms} ms\n`);
    const polls = await measurePolls(agents[0]!, agents[agents.length - 1]!, o.polls);
    process.stdout.write(`concurrent blocking queries on one agent: ${polls['answered']} answered (${polls['answered_early']} before the change), ${polls['refused_429']} refused (429), ${polls['failed']} failed; RSS ${polls['rss_before_mb']} MB before, ${polls['rss_held_mb']} MB holding them; one register → all answered in ${polls['wake_all_ms']} ms\n`);
    if (o.json !== null) writeFileSync(o.json, JSON.stringify({ agents: o.agents, wake, prometheus: prom, prometheus_refresh: o.promRefresh, polls }, null, 2) + '\n');
    return 0;
  } finally {
    cleanup();
  }
}
