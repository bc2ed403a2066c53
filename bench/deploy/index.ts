/**
 * The deploy drill (`npm run bench -- --scenario deploy`): what a deploy looks like to the traffic
 * going through a proxy that learns its backends from swimd, done the swimd way (register and wait,
 * drain and wait), done naively, through a traffic split (v1=90 v2=10, then v2=100), and rolled back
 * from that split (v1=100). Each run gets fresh agents; the runs go
 * one after the other so they do not compete for the machine.
 */
import { writeFileSync } from 'node:fs';
import type { RunSummary } from './analyze.js';
import { parseCommandLine } from '../options.js';
import { DEFAULT_DEPLOY_OPTIONS, DEPLOY_USAGE, type DeployDrillOptions, parseDeployArgs } from './options.js';
import { renderReport } from './report.js';
import { type RunOutcome, runOne } from './run.js';
import { renderSvg } from './svg.js';

export { DEFAULT_DEPLOY_OPTIONS, DEPLOY_USAGE, isDeployScenario, OptionError, parseDeployArgs, type DeployDrillOptions } from './options.js';
export type { RunSummary } from './analyze.js';

export interface DrillRun extends RunSummary {
  /** Why the deploy did not complete; absent when it did. */
  readonly error?: string;
}

export interface DrillReport {
  readonly runs: readonly DrillRun[];
  /** The human summary, as printed. */
  readonly text: string;
}

/** Runs the drill; prints the summary (stdout unless `print` is given) and writes `json` / `svg` when given. */
export async function runDeployDrill(opts: Partial<DeployDrillOptions> = {}): Promise<DrillReport> {
  const o: DeployDrillOptions = { ...DEFAULT_DEPLOY_OPTIONS, ...opts };
  const say = o.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const outcomes: RunOutcome[] = [];
  for (const name of o.runs) {
    const out = await runOne(name, o, say);
    if (out.logs !== null) say(out.logs);
    outcomes.push(out);
  }
  const runs: DrillRun[] = outcomes.map((r) => (r.error === null ? r.summary : { ...r.summary, error: r.error }));
  const text = renderReport(outcomes, o.sticky);
  (o.print ?? ((t: string) => process.stdout.write(`${t}\n`)))(text);
  if (o.json !== undefined) {
    const doc = {
      scenario: 'deploy',
      proxy: o.proxy,
      options: {
        rate: o.rate, duration_ms: o.durationMs, deploy_at_ms: o.deployAtMs, split_ms: o.splitMs, concurrency: o.concurrency,
        clients: o.clients, sticky: o.sticky, service_ms: o.serviceMs, check_interval: o.checkInterval, profile: o.profile,
      },
      command: o.command ?? null,
      runs,
    };
    writeFileSync(o.json, `${JSON.stringify(doc, null, 2)}\n`);
    say(`wrote ${o.json}`);
  }
  if (o.svg !== undefined) {
    writeFileSync(o.svg, renderSvg(runs, o.rate));
    say(`wrote ${o.svg}`);
  }
  return { runs, text };
}

/**
 * The bench's entry for `--scenario deploy`: parses the whole argument list, runs the drill and
 * returns the exit code (2 for a bad option, 1 when the swimd deploy did not complete).
 */
export async function deployMain(argv: readonly string[]): Promise<number> {
  const o = parseCommandLine(() => parseDeployArgs(argv), DEPLOY_USAGE);
  if (typeof o === 'number') return o;
  const report = await runDeployDrill({ ...o, command: ['npm run bench --', ...argv].join(' ') });
  return report.runs.some((r) => r.error !== undefined) ? 1 : 0;
}
