/**
 * The companion's speed (`npm run bench -- --scenario haproxy`): a real agent, a real HAProxy 2.6
 * with `server-template` slots, and the real `swimd haproxy` process between them. Each trial
 * registers an instance, drains it, and deregisters it, and times each call until HAProxy's own
 * runtime state shows the slot ready, draining, and in maintenance — read from outside on the
 * stats socket every 2 ms, so the figure includes the agent, its watch stream, the companion and
 * HAProxy, and nothing is self-reported.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseServersState, type AdminState, type Slot } from '../../companion/haproxy/slots.js';
import { type DnsAgent, startDnsAgent } from '../dns/agent.js';
import { DRILL_DEFAULTS, freePort, HaproxyProcess } from '../deploy/haproxy-process.js';
import { parseCommandLine, UsageError } from '../options.js';
import { type Summary, summarize } from '../stats.js';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const POLL_MS = 2;
const BACKEND = 'app';

export interface CompanionBenchOptions {
  readonly trials: number;
  readonly json: string | null;
}

export const HAPROXY_BENCH_USAGE = `usage: npm run bench -- --scenario haproxy [options]

Register, drain and deregister an instance, each timed until HAProxy's runtime state shows it
(ready, drain, maint), with \`swimd haproxy\` keeping HAProxy equal to the agent's catalog.

  --trials N     register/drain/deregister trials (default 20)
  --json FILE    write the figures as JSON
`;

export function isHaproxyScenario(argv: readonly string[]): boolean {
  return argv.some((arg, i) => {
    const value = arg.startsWith('--scenario=') ? arg.slice('--scenario='.length) : arg === '--scenario' ? argv[i + 1] : undefined;
    return value !== undefined && value.trim() === 'haproxy';
  });
}

export function parseHaproxyBenchArgs(argv: readonly string[]): CompanionBenchOptions | 'help' {
  let values: { trials?: string | undefined; json?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { scenario: { type: 'string' }, trials: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help === true) return 'help';
  const trials = values.trials === undefined ? 20 : Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 1000) throw new UsageError(`--trials: expected a whole number from 1 to 1000, got ${JSON.stringify(values.trials)}`);
  return { trials, json: values.json ?? null };
}

export interface CompanionFigures {
  readonly trials: number;
  readonly poll_ms: number;
  readonly register_ready: Summary;
  readonly drain_draining: Summary;
  readonly deregister_maint: Summary;
  /**
   * The same three, from the moment the change's line arrived on a watch stream of the same agent
   * (in this process): the companion's and HAProxy's share, without the agent's API call.
   */
  readonly from_watch_line: { readonly ready: Summary; readonly draining: Summary; readonly maint: Summary };
}

function haproxyConfig(socket: string, port: number): string {
  return [
    'global', `  stats socket ${socket} mode 600 level admin`, ...DRILL_DEFAULTS,
    'frontend fe', `  bind 127.0.0.1:${port}`, `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`, `  server-template ${BACKEND} 1-4 127.0.0.1:1 disabled`, '',
  ].join('\n');
}

async function until(h: HaproxyProcess, port: number, state: AdminState, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const slots: Slot[] = parseServersState(await h.api.one(`show servers state ${BACKEND}`), BACKEND);
    const slot = slots.find((s) => s.port === port);
    if (state === 'maint' ? slot === undefined || slot.admin === 'maint' : slot?.admin === state) return;
    if (performance.now() > deadline) throw new Error(`HAProxy did not show port ${port} ${state} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function runCompanionBench(o: CompanionBenchOptions, say: (line: string) => void): Promise<CompanionFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-hapb-'));
  let agent: DnsAgent | null = null;
  let haproxy: HaproxyProcess | null = null;
  let companion: ChildProcess | null = null;
  try {
    agent = await startDnsAgent();
    const port = await freePort('127.0.0.1');
    haproxy = await HaproxyProcess.start((socket) => haproxyConfig(socket, port));
    const agentSocket = agent.client.socketPath;
    companion = spawn(process.execPath, [CLI_PATH, 'haproxy', '--haproxy-socket', haproxy.socket, '--map', `web=${BACKEND}`,
      '--socket', agentSocket, '--status-file', join(dir, 'status.json'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const ready: number[] = [];
    const draining: number[] = [];
    const gone: number[] = [];
    const lineTo: { ready: number[]; draining: number[]; maint: number[] } = { ready: [], draining: [], maint: [] };
    // When each change's line arrived, by "id event".
    const lines = new Map<string, number>();
    const abort = new AbortController();
    const watching = (async () => {
      for await (const e of agent.client.watch({ signal: abort.signal })) {
        if (e.type === 'service') lines.set(`${e.service.id} ${e.event}`, performance.now());
      }
    })().catch(() => undefined);
    const sinceLine = (id: string, event: string): number => performance.now() - (lines.get(`${id} ${event}`) ?? Number.NaN);
    // A first instance, so the companion is synced before the first timed trial.
    await agent.client.register({ name: 'web', id: 'base', port: 30_000 });
    await until(haproxy, 30_000, 'ready', 15_000);
    for (let k = 0; k < o.trials; k++) {
      const p = 31_000 + k;
      let t0 = performance.now();
      await agent.client.register({ name: 'web', id: `t${k}`, port: p });
      await until(haproxy, p, 'ready', 10_000);
      ready.push(performance.now() - t0);
      lineTo.ready.push(sinceLine(`t${k}`, 'registered'));
      t0 = performance.now();
      await agent.client.drain(`t${k}`);
      await until(haproxy, p, 'drain', 10_000);
      draining.push(performance.now() - t0);
      lineTo.draining.push(sinceLine(`t${k}`, 'drained'));
      t0 = performance.now();
      await agent.client.deregister(`t${k}`);
      await until(haproxy, p, 'maint', 10_000);
      gone.push(performance.now() - t0);
      lineTo.maint.push(sinceLine(`t${k}`, 'deregistered'));
      say(`  trial ${k + 1}/${o.trials}: ready ${ready[k]!.toFixed(1)} ms, draining ${draining[k]!.toFixed(1)} ms, maint ${gone[k]!.toFixed(1)} ms`);
    }
    abort.abort();
    await watching;
    const known = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));
    return {
      trials: o.trials, poll_ms: POLL_MS,
      from_watch_line: {
        ready: summarize(known(lineTo.ready), o.trials), draining: summarize(known(lineTo.draining), o.trials), maint: summarize(known(lineTo.maint), o.trials),
      },
      register_ready: summarize(ready, o.trials), drain_draining: summarize(draining, o.trials), deregister_maint: summarize(gone, o.trials),
    };
  } finally {
    if (companion !== null && companion.exitCode === null) {
      const c = companion;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      await exited;
    }
    await haproxy?.stop();
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderCompanionFigures(f: CompanionFigures): string {
  const row = (label: string, s: Summary): string =>
    `  ${label.padEnd(28)} p50 ${s.p50_ms.toFixed(1)} ms  p90 ${s.p90_ms.toFixed(1)} ms  max ${s.max_ms.toFixed(1)} ms  (${s.reached} trials)`;
  return [
    `swimd haproxy → HAProxy 2.6 Runtime API, slots polled every ${f.poll_ms} ms:`,
    row('register -> slot ready', f.register_ready),
    row('drain -> slot draining', f.drain_draining),
    row('deregister -> slot in maint', f.deregister_maint),
    'the same from the change\'s line on the agent\'s watch stream (the companion and HAProxy alone):',
    row('registered line -> ready', f.from_watch_line.ready),
    row('drained line -> draining', f.from_watch_line.draining),
    row('deregistered line -> maint', f.from_watch_line.maint),
  ].join('\n');
}

export async function haproxyBenchMain(argv: readonly string[]): Promise<number> {
  const o = parseCommandLine(() => parseHaproxyBenchArgs(argv), HAPROXY_BENCH_USAGE);
  if (typeof o === 'number') return o;
  const f = await runCompanionBench(o, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`${renderCompanionFigures(f)}\n`);
  if (o.json !== null) {
    writeFileSync(o.json, `${JSON.stringify({ scenario: 'haproxy', command: ['npm run bench --', ...argv].join(' '), ...f }, null, 2)}\n`);
    process.stderr.write(`wrote ${o.json}\n`);
  }
  return 0;
}
