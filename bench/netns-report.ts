/**
 * Turns the JSON written by the network-fault suite (SWIMD_NETNS_REPORT=path) into the Markdown
 * tables of the README's "Failure behaviour" section, so the figures there are copied from a run,
 * never typed by hand.
 *
 *   SWIMD_NETNS_REPORT=/tmp/netns.json node --test dist/test/netns-faults.test.js
 *   node dist/bench/netns-report.js /tmp/netns.json
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** What each scenario key means, in the words the README uses; unknown scenarios keep their key. */
const TITLES: Readonly<Record<string, string>> = {
  loss_5pct_all_hosts: '5% loss on every host',
  loss_15pct_all_hosts: '15% loss on every host, a join and a crash under it',
  loss_20pct_one_host: '20% loss on one host',
  sigkill: 'SIGKILL of one host',
  partition: 'Full partition, then heal',
  one_way_partition: 'One-way partition of one host',
  sigstop_sigcont: 'SIGSTOP, then SIGCONT',
  restart_same_data_dir: 'Crash, then restart with the same data dir',
  delay_one_host: 'Added delay on one host',
};

function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A {min, median, max, n} spread reads as "min / median / max (n)". */
function format(v: Json): string {
  if (isObject(v) && 'median' in v && 'min' in v && 'max' in v) {
    return v['n'] === 0 ? 'never' : `${format(v['min'] ?? null)} / ${format(v['median'] ?? null)} / ${format(v['max'] ?? null)} (n=${format(v['n'] ?? null)})`;
  }
  if (isObject(v)) return Object.entries(v).map(([k, x]) => `${k} ${format(x)}`).join(', ');
  if (Array.isArray(v)) return v.map(format).join(', ');
  if (v === null) return '—';
  return String(v);
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function render(report: Json): string {
  if (!isObject(report) || !isObject(report['scenarios'] ?? null)) {
    throw new Error('not a network-fault report: expected an object with "scenarios"');
  }
  const scenarios = report['scenarios'] as { [k: string]: Json };
  const out: string[] = [];
  const meta = Object.entries(report).filter(([k]) => k !== 'scenarios');
  out.push('Setup: ' + meta.map(([k, v]) => `${k} ${format(v)}`).join('; ') + '.', '');
  out.push('Times are milliseconds from the fault; "a / b / c (n)" is min / median / max over n observers.', '');
  for (const [key, figures] of Object.entries(scenarios)) {
    out.push(`#### ${TITLES[key] ?? key}`, '', '| figure | value |', '| --- | --- |');
    if (isObject(figures)) {
      for (const [k, v] of Object.entries(figures)) out.push(`| ${cell(k)} | ${cell(format(v))} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function main(argv: readonly string[]): number {
  const file = argv[0];
  if (file === undefined || argv.length > 1) {
    process.stderr.write('usage: node dist/bench/netns-report.js REPORT.json\n');
    return 2;
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    process.stderr.write(`netns-report: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    process.stdout.write(render(parsed) + '\n');
  } catch (e) {
    process.stderr.write(`netns-report: ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

// Run only as a script, so the renderer can be imported (and tested) without side effects.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
