/**
 * One run of the drill: three fresh agents (A, B, C), the proxy on A, v1 on B taking steady load,
 * then a deploy of v2 on C in the run's manner, while the load generator records every request.
 * Every process, server and folder a run creates is gone when it returns or throws.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { analyzeRun, type RunName, type RunSummary } from './analyze.js';
import { HostAgents } from './agents.js';
import { LoadGenerator, type LoadResult } from './load.js';
import type { DeployDrillOptions } from './options.js';
import type { DrillProxy } from './drill-proxy.js';
import { freePort } from './haproxy-process.js';
import { startDrillProxy } from './proxies.js';
import { rollbackDeploy, splitDeploy } from './split-steps.js';
import { type DrillContext, type Instance, keyOf, naiveDeploy, SERVICE, startInstance, swimdDeploy } from './steps.js';

export interface RunOutcome {
  readonly summary: RunSummary;
  /** Set when a deploy step failed; the load figures up to that point are still in the summary. */
  readonly error: string | null;
  /** Tail of each agent's log when the run failed, for the report. */
  readonly logs: string | null;
}

const HOST = '127.0.0.1';

async function deploy(name: RunName, ctx: DrillContext, v1: Instance, hosts: HostAgents, o: DeployDrillOptions): Promise<Instance> {
  const c = hosts.get('C');
  switch (name) {
    case 'swimd':
      return swimdDeploy(ctx, v1, c, 'v2', 1);
    case 'naive':
      return naiveDeploy(ctx, v1, c, 'v2', 1);
    case 'weighted':
      return splitDeploy(ctx, v1, c, o.splitMs);
    case 'rollback':
      return rollbackDeploy(ctx, c, o.splitMs);
  }
}

/** When the proxy applied the rollback's split (the first split line after the rollback call). */
function proxySawRollback(proxy: DrillProxy, ctx: DrillContext): number | null {
  const at = ctx.marks.find((m) => m.kind === 'rollback')?.at;
  return at === undefined ? null : proxy.firstRoutingChangeAfter(at);
}

export async function runOne(name: RunName, o: DeployDrillOptions, say: (line: string) => void): Promise<RunOutcome> {
  say(`run ${name}: starting agents A, B, C (proxy: ${o.proxy})`);
  // The DNS path: HAProxy on A resolves through A's agent.
  const dnsPort = o.proxy === 'haproxy-dns' ? await freePort(HOST) : undefined;
  const hosts = await HostAgents.start({
    names: ['A', 'B', 'C'], profile: o.profile, logLevel: 'info', keep: o.keep,
    ...(dnsPort === undefined ? {} : { extraArgs: { A: ['--dns-addr', `${HOST}:${dnsPort}`] } }),
  });
  let proxy: DrillProxy | null = null;
  const started: Instance[] = [];
  let load: LoadGenerator | null = null;
  let error: string | null = null;
  try {
    proxy = await startDrillProxy(o.proxy, {
      socketPath: hosts.get('A').socket, service: SERVICE, host: HOST, sticky: o.sticky, ...(dnsPort === undefined ? {} : { dnsPort }),
    });
    const ctx: DrillContext = {
      proxy, marks: [], say, started,
      opts: { appHost: HOST, serviceMs: o.serviceMs, checkInterval: o.checkInterval, waitMs: o.waitMs, stepTimeoutMs: Math.max(o.waitMs, 15_000) },
    };
    // v1 is put in place before any load, the careful way; nothing about this part is measured.
    const v1 = await startInstance(ctx, hosts.get('B'), 'v1', 1);
    await hosts.get('B').client.register(v1.registration, { wait: o.waitMs });
    await proxy.waitRoutable(keyOf(v1), ctx.opts.stepTimeoutMs);

    load = new LoadGenerator({ url: proxy.url, rate: o.rate, concurrency: o.concurrency, clients: o.clients, clientRequests: o.clientRequests, timeoutMs: o.requestTimeoutMs });
    const loadStart = performance.now();
    load.start();
    say(`run ${name}: ${o.rate} req/s through the ${o.proxy} proxy on A; deploy in ${o.deployAtMs} ms`);
    await sleep(o.deployAtMs);
    say(`run ${name}: deploying v2 on C (${load.sent} requests sent so far)`);
    let v2: Instance | null = null;
    try {
      v2 = await deploy(name, ctx, v1, hosts, o);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      say(`run ${name}: deploy step failed: ${error}`);
    }
    const rest = Math.max(o.tailMs, loadStart + o.durationMs - performance.now());
    say(`run ${name}: deploy ${error === null ? 'done' : 'abandoned'}; load continues for ${Math.round(rest)} ms`);
    await sleep(rest);
    const result: LoadResult = await load.stop();
    load = null;
    const v2Key = v2 === null ? null : keyOf(v2);
    const summary = analyzeRun({
      name, records: result.records, dropped: result.dropped, startedAt: result.startedAt, stoppedAt: result.stoppedAt,
      marks: ctx.marks, binMs: o.binMs,
      proxySawV2: v2Key === null ? null : proxy.firstRoutableAt(v2Key),
      proxySawV1Draining: proxy.firstDrainingAt(keyOf(v1)),
      proxySawRollback: proxySawRollback(proxy, ctx),
    });
    for (const p of proxy.problems()) say(`run ${name}: proxy: ${p}`);
    return { summary, error, logs: error === null ? null : hosts.logs() };
  } catch (e) {
    say(`run ${name}: failed; agents' logs:\n${hosts.logs()}`);
    throw e;
  } finally {
    if (load !== null) await load.stop().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await Promise.all(started.map((i) => i.app.stop(0).catch(() => undefined)));
    await hosts.stop();
    if (o.keep) say(`run ${name}: agents' logs and data kept in ${hosts.dir}`);
  }
}
