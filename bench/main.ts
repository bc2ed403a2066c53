/**
 * `npm run bench`: convergence benchmarks of swimd. Real agents on loopback by default; with --sim
 * the simulator driving the same protocol code. Prints a summary; --json and --svg write the
 * figures and a chart. See options.ts for every option.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { aggregate } from './aggregate.js';
import { deployMain, isDeployScenario } from './deploy/index.js';
import { dnsMain, isDnsScenario } from './dns/index.js';
import { consulMain, isConsulScenario } from './consul/index.js';
import { haproxyBenchMain, isHaproxyScenario } from './haproxy/index.js';
import { runDissemination } from './dissemination/spread.js';
import { rerunWithLargerHeap } from './heap.js';
import { type BenchOptions, parseCommandLine, parseOptions, sharedWorkers, USAGE } from './options.js';
import { Progress } from './progress.js';
import { runReal } from './real/scenarios.js';
import { renderSummary, targetFigures } from './report.js';
import type { Curve, CurveName, JsonObject, RunResult } from './result.js';
import { runSim } from './sim-scenarios.js';
import { renderSvg } from './svg.js';

const CURVE_ORDER: readonly CurveName[] = ['register', 'deregister', 'new_member', 'dissemination', 'join', 'dead', 'dead_during_burst'];

async function main(argv: readonly string[]): Promise<number> {
  // The deploy drill has its own options and report (deploy/options.ts).
  if (isDeployScenario(argv)) return deployMain(argv);
  // So does the DNS bench (dns/options.ts).
  if (isDnsScenario(argv)) return dnsMain(argv);
  // And the Consul-compatible API's (consul/index.ts).
  if (isConsulScenario(argv)) return consulMain(argv);
  // And the companion's (haproxy/index.ts).
  if (isHaproxyScenario(argv)) return haproxyBenchMain(argv);
  const o = parseCommandLine(() => parseOptions(argv), USAGE);
  if (typeof o === 'number') return o;
  if (o.mode !== 'real') {
    const code = rerunWithLargerHeap(fileURLToPath(import.meta.url), argv);
    if (code !== null) return code;
  }
  const command = ['npm run bench --', ...argv].join(' ');
  const progress = new Progress();
  const runs: RunResult[] = [];
  for (let k = 0; k < o.runs; k++) {
    const p = o.runs > 1 ? progress.tagged(`run ${k + 1}/${o.runs}: `) : progress;
    if (o.mode === 'real') runs.push(await runReal(o, p));
    else if (o.mode === 'sim') runs.push(runSim(o, o.seed + k, p));
    else runs.push(runDissemination(o, o.seed + k, p));
  }
  progress.clear();

  const { figures, spread } = aggregate(runs.map((r) => r.figures));
  const out: JsonObject = {
    ...figures,
    runs: o.runs,
    scenarios: [...o.scenarios],
    command,
    targets: targetFigures(figures),
    machine: { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform },
  };
  if (o.runs > 1) {
    out['spread'] = Object.fromEntries(Object.entries(spread).map(([k, v]) => [k, [...v]]));
    out['per_run'] = runs.map((r) => r.figures);
  }
  process.stdout.write(renderSummary(out, spread, header(o)) + '\n');
  if (o.json !== null) {
    writeFileSync(o.json, JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(`wrote ${o.json}\n`);
  }
  if (o.svg !== null) {
    const curves = CURVE_ORDER
      .map((name) => ({ name, runs: runs.map((r) => r.curves[name]).filter((c): c is Curve => c !== undefined) }))
      .filter((c) => c.runs.length > 0);
    const markers = chartMarkers(figures);
    // Where the outputs were written does not change a figure: the chart shows the command without.
    const shown = ['npm run bench --', ...withoutOutputs(argv)].join(' ');
    const subtitle = [header(o) + (o.runs > 1 ? '; curves pool every run\'s nodes' : ''), shown];
    writeFileSync(o.svg, renderSvg({ title: 'swimd: how fast every node learns of a change', subtitle, curves, markers }));
    process.stdout.write(`wrote ${o.svg}\n`);
  }
  return 0;
}

/** The lower bound drawn on the chart: over the regions' latencies when there are regions. */
function chartMarkers(figures: JsonObject): { ms: number; label: string }[] {
  const change = figures['register'] ?? figures['dissemination'];
  const regional = typeof change === 'object' && change !== null && !Array.isArray(change) ? change['lower_bound_ms'] : undefined;
  if (typeof regional === 'number') return [{ ms: regional, label: `lower bound over the regions ${regional} ms` }];
  const bound = figures['register_lower_bound_ms'];
  return typeof bound === 'number' ? [{ ms: bound, label: `forwarding lower bound ${bound} ms` }] : [];
}

function withoutOutputs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--json' || a === '--svg') i++;
    else if (!a.startsWith('--json=') && !a.startsWith('--svg=')) out.push(a);
  }
  return out;
}

function header(o: BenchOptions): string {
  const runs = o.runs > 1 ? `, median of ${o.runs} runs` : '';
  const loss = o.lossPct === 0 ? '' : o.mode === 'dissemination-only' ? `, loss ${o.lossPct}%`
    : o.lossAll ? `, loss ${o.lossPct}% throughout` : `, loss ${o.lossPct}% in the steady period`;
  if (o.mode === 'real') {
    return `real agents on loopback, one 127.0.x.y address each (UDP/TCP), ${o.nodes} nodes in ${sharedWorkers(o)} processes${o.sharedSeed ? '' : ' and the seed in its own'}, ${o.profile} profile${loss}${runs}`;
  }
  const net = o.regions === null ? `latency ${o.latencyMs} ± ${o.jitterMs} ms${loss}`
    : `${o.regions.regions.length} regions (${o.regions.source}: one-way = round trip / 2 + 0–${o.jitterMs} ms)${loss}`;
  const start = o.simStart === 'converged' ? ', started converged' : '';
  const tree = o.updateTree ? ', update tree' : ', flooding';
  if (o.mode === 'sim') return `simulator, ${o.nodes} nodes with full protocol state${start}, ${o.profile} profile${tree}, ${net}${runs}`;
  return `simulator, dissemination only, ${o.nodes} nodes, ${o.profile} profile${tree}, ${net}${runs}`;
}

process.exitCode = await main(process.argv.slice(2));
