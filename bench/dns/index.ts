/**
 * `npm run bench -- --scenario dns`: the agent's DNS server under a closed-loop UDP load of its own
 * (queries per second, the agent's RSS while loaded), and the DNS path into a real HAProxy: the
 * time from a register request until HAProxy's runtime state shows the slot ready (polled on its
 * stats socket every few ms), and from a deregister until the slot is gone.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../options.js';
import { type Summary, summarize } from '../stats.js';
import { type DnsAgent, rssMiB, startDnsAgent } from './agent.js';
import { freePort, HAPROXY, haproxyDnsConfig, isReady, serversState, startHaproxy } from './haproxy.js';
import { udpLoad } from './load.js';
import { DNS_USAGE, type DnsBenchOptions, parseDnsBenchArgs } from './options.js';

export { isDnsScenario } from './options.js';

const POLL_MS = 2;
const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface QpsFigure {
  readonly qps: number;
  readonly answered: number;
  readonly lost: number;
  readonly unexpected: number;
  readonly rss_mb_before: number;
  readonly rss_mb_max: number;
}

export async function dnsMain(argv: readonly string[]): Promise<number> {
  const o = parseCommandLine(() => parseDnsBenchArgs(argv), DNS_USAGE);
  if (typeof o === 'number') return o;
  const command = ['npm run bench --', ...argv].join(' ');
  const agent = await startDnsAgent();
  try {
    const qps: Record<string, QpsFigure> = {};
    for (let i = 0; i < o.instances; i++) {
      await agent.client.register({ name: 'web', id: `w${i}`, port: 20_000 + i, address: `127.0.1.${i % 250}` });
    }
    for (const type of ['A', 'SRV'] as const) qps[type] = await loadRun(agent, o, type);
    const haproxy = o.trials > 0 && existsSync(HAPROXY) ? await haproxyTrials(agent, o) : null;
    const doc = {
      scenario: 'dns', command, options: o, qps, haproxy_dns: haproxy,
      machine: { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
    process.stdout.write(`${render(doc.qps, haproxy, o)}\n`);
    if (o.json !== null) {
      writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
      say(`wrote ${o.json}`);
    }
    return 0;
  } finally {
    await agent.stop();
  }
}

async function loadRun(agent: DnsAgent, o: DnsBenchOptions, type: 'A' | 'SRV'): Promise<QpsFigure> {
  const before = rssMiB(agent.pid);
  let max = before;
  say(`dns: ${type} queries for ${o.instances} instances, ${o.concurrency} in flight, ${o.seconds} s`);
  const r = await udpLoad(agent.dnsPort, type === 'A' ? 'web.service.swimd' : '_web._tcp.service.swimd', type, o.concurrency, o.seconds, (n) => {
    max = Math.max(max, rssMiB(agent.pid));
    say(`  ${n} answers/s`);
  });
  max = Math.max(max, rssMiB(agent.pid));
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { qps: r.qps, answered: r.answered, lost: r.lost, unexpected: r.unexpected, rss_mb_before: round(before), rss_mb_max: round(max) };
}

interface HaproxyFigures {
  readonly resolve_ms: number;
  readonly register_ready: Summary;
  readonly deregister_gone: Summary;
}

async function haproxyTrials(agent: DnsAgent, o: DnsBenchOptions): Promise<HaproxyFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-dnsh-'));
  const haproxy = startHaproxy(dir, haproxyDnsConfig({
    dir, dnsPort: agent.dnsPort, frontendPort: await freePort(), srvName: '_app._tcp.service.swimd', slots: 8, resolveMs: o.resolveMs,
  }));
  const ready: number[] = [];
  const gone: number[] = [];
  try {
    // A standing instance, so that the name exists and HAProxy's resolution is in its steady state.
    await agent.client.register({ name: 'app', id: 'base', port: 30_000 });
    await until(haproxy.socket, (ports) => ports.includes(30_000), 30_000);
    for (let k = 0; k < o.trials; k++) {
      const port = 30_001 + k;
      // Trials start out of step with HAProxy's resolution timer, as a deploy would.
      await new Promise((r) => setTimeout(r, Math.random() * o.resolveMs));
      let t0 = performance.now();
      await agent.client.register({ name: 'app', id: `t${k}`, port });
      await until(haproxy.socket, (ports) => ports.includes(port), 30_000);
      ready.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, Math.random() * o.resolveMs));
      t0 = performance.now();
      await agent.client.deregister(`t${k}`);
      await until(haproxy.socket, (ports) => !ports.includes(port), 30_000);
      gone.push(performance.now() - t0);
      say(`  trial ${k + 1}/${o.trials}: ready ${ready[k]!.toFixed(1)} ms, gone ${gone[k]!.toFixed(1)} ms`);
    }
  } finally {
    await haproxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { resolve_ms: o.resolveMs, register_ready: summarize(ready, o.trials), deregister_gone: summarize(gone, o.trials) };
}

/** Polls `show servers state` every POLL_MS until the ready slots' ports satisfy `done`. */
async function until(socket: string, done: (ports: number[]) => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // Until HAProxy has created its stats socket, a failed connection is one more poll.
    const ports = await serversState(socket).then((all) => all.filter(isReady).map((s) => s.port), () => [] as number[]);
    if (done(ports)) return;
    if (performance.now() > deadline) throw new Error(`HAProxy did not reach the expected state within ${timeoutMs} ms (ready ports ${ports.join(', ')})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function render(qps: Record<string, QpsFigure>, h: HaproxyFigures | null, o: DnsBenchOptions): string {
  const lines = [`DNS server, ${o.instances} instances, ${o.concurrency} queries in flight over UDP, ${o.seconds} s per type:`];
  for (const [type, f] of Object.entries(qps)) {
    lines.push(`  ${type.padEnd(4)} ${String(f.qps).padStart(7)} queries/s  (lost ${f.lost}, unexpected ${f.unexpected}); agent RSS ${f.rss_mb_before} MiB idle, ${f.rss_mb_max} MiB max under load`);
  }
  if (h !== null) {
    const row = (label: string, s: Summary): string =>
      `  ${label.padEnd(26)} p50 ${s.p50_ms.toFixed(0)} ms  p90 ${s.p90_ms.toFixed(0)} ms  max ${s.max_ms.toFixed(0)} ms  (${s.reached} trials)`;
    lines.push(`HAProxy 2.6 resolvers (timeout resolve ${h.resolve_ms} ms), slots polled every ${POLL_MS} ms:`);
    lines.push(row('register -> slot ready', h.register_ready));
    lines.push(row('deregister -> slot gone', h.deregister_gone));
  }
  return lines.join('\n');
}
