/**
 * `npm run bench` in a reduced form, run as a user runs it (the built main.js in a child process):
 * real agents, the full-state simulator, and the dissemination-only model. The checks are about the
 * output's shape and plausibility — every node reached, no negative, NaN or missing figure — not
 * about speed, which this machine's load decides.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../bench/main.js', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function bench(args: readonly string[]): Promise<{ json: Obj; svg: string; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-bench-test-'));
  const jsonPath = join(dir, 'out.json');
  const svgPath = join(dir, 'out.svg');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, ...args, '--json', jsonPath, '--svg', svgPath], { timeout: 120_000 }, (err, stdout, stderr) => {
      try {
        if (err !== null) throw new Error(`bench ${args.join(' ')} failed: ${err.message}\n${stderr}`);
        const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as Obj;
        resolve({ json, svg: readFileSync(svgPath, 'utf8'), stdout });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function obj(v: Json | undefined, what: string): Obj {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `${what} is an object`);
  return v;
}

function num(v: Json | undefined, what: string): number {
  assert.equal(typeof v, 'number', `${what} is a number (got ${JSON.stringify(v)})`);
  return v as number;
}

/** No negative number anywhere in the output (a NaN would have been written as null, caught below). */
function noNegatives(v: Json, path: string): void {
  if (typeof v === 'number') assert.ok(Number.isFinite(v) && v >= 0, `${path} = ${v}`);
  else if (Array.isArray(v)) v.forEach((x, i) => noNegatives(x, `${path}[${i}]`));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) noNegatives(x, `${path}.${k}`);
}

/** A latency summary where every expected node was reached and the percentiles are in order. */
function checkSummary(out: Obj, name: string, expected: number): void {
  const s = obj(out[name], name);
  assert.equal(num(s['reached'], `${name}.reached`), expected, `${name}: every node reached`);
  assert.equal(num(s['expected'], `${name}.expected`), expected);
  const p = ['p50_ms', 'p90_ms', 'p99_ms', 'max_ms'].map((k) => num(s[k], `${name}.${k}`));
  for (let i = 1; i < p.length; i++) assert.ok((p[i - 1] as number) <= (p[i] as number), `${name}: percentiles in order ${p.join(' ')}`);
}

function checkSvg(svg: string, names: readonly string[]): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.match(svg, /time since the change/);
  for (const n of names) assert.ok(svg.includes(`>${n.replace('_', ' ')}</text>`), `legend names ${n}`);
}

test('bench, real agents: 20 on loopback, short steady period', { timeout: 120_000 }, async () => {
  const { json, svg, stdout } = await bench(['--nodes', '20', '--steady', '2', '--warmup', '0']);
  assert.equal(json['nodes'], 20);
  assert.equal(json['transport'], 'udp');
  noNegatives(json, 'out');
  checkSummary(json, 'join', 20);
  checkSummary(json, 'register', 19);
  checkSummary(json, 'deregister', 19);
  checkSummary(json, 'dead', 19);
  assert.ok(num(json['join_all_ms'], 'join_all_ms') > 0);
  assert.ok(Number.isInteger(num(json['false_dead'], 'false_dead')));
  assert.ok(num(json['bytes_per_node_per_s'], 'bytes_per_node_per_s') > 0);
  assert.ok(num(json['packets_per_node_per_s'], 'packets_per_node_per_s') > 0);
  assert.ok(num(json['rss_mb_per_agent'], 'rss_mb_per_agent') > 0);
  assert.ok(num(obj(json['register'], 'register')['api_answer_ms'], 'api_answer_ms') >= 0);
  assert.ok(typeof obj(json['targets'], 'targets')['register.p99_ms'] === 'object');
  assert.match(stdout, /register\s+19\/19/);
  checkSvg(svg, ['register', 'deregister', 'join', 'dead']);
});

test('bench, simulator: 500 nodes with full state', { timeout: 120_000 }, async () => {
  const { json, svg } = await bench(['--sim', '--nodes', '500', '--steady', '2', '--warmup', '0', '--latency-ms', '2']);
  assert.equal(json['nodes'], 500);
  assert.equal(json['transport'], 'sim');
  noNegatives(json, 'out');
  checkSummary(json, 'join', 500);
  for (const s of ['register', 'deregister', 'dead']) checkSummary(json, s, 499);
  assert.equal(num(json['false_dead'], 'false_dead'), 0, 'no loss, no false deaths');
  assert.ok(num(json['bytes_per_node_per_s'], 'bytes_per_node_per_s') > 0);
  // Nothing can beat the forwarding bound.
  const bound = num(json['register_lower_bound_ms'], 'register_lower_bound_ms');
  assert.ok(bound > 0 && num(obj(json['register'], 'register')['max_ms'], 'register.max_ms') >= bound);
  checkSvg(svg, ['register', 'deregister', 'join', 'dead']);
});

test('bench, simulator: a crash during a burst of registrations', { timeout: 120_000 }, async () => {
  const { json, stdout } = await bench(['--sim', '--nodes', '30', '--scenario', 'dead_during_burst', '--burst', '300']);
  noNegatives(json, 'out');
  checkSummary(json, 'dead_during_burst', 29);
  assert.equal(num(obj(json['burst'], 'burst')['registrations'], 'burst.registrations'), 300);
  assert.ok(num(obj(json['dead_during_burst'], 'dead_during_burst')['suspected_after_ms'], 'suspected_after_ms') >= 0);
  assert.match(stdout, /dead_during_burst\s+29\/29/);
});

test('bench, simulator started converged: 3,000 nodes, no join to time', { timeout: 120_000 }, async () => {
  const { json, stdout } = await bench(['--sim', '--nodes', '3000', '--scenario', 'register', '--steady', '0', '--warmup', '0', '--latency-ms', '5']);
  assert.equal(json['sim_start'], 'converged');
  assert.equal(json['join'], undefined, 'no join was run, so none is reported');
  noNegatives(json, 'out');
  checkSummary(json, 'register', 2999);
  assert.match(stdout, /join\s+not measured/);
});

test('bench, real agents under loss from the start: 12 agents, 15% loss', { timeout: 120_000 }, async () => {
  const { json } = await bench(['--nodes', '12', '--loss', '15', '--loss-all', '--scenario', 'register', '--warmup', '0']);
  assert.equal(json['loss_scope'], 'all');
  assert.equal(json['loss_pct'], 15);
  noNegatives(json, 'out');
  checkSummary(json, 'join', 12);
  checkSummary(json, 'register', 11);
  assert.equal(obj(obj(json['targets'], 'targets')['register.p99_ms'], 'target')['target_max'], 100, 'judged against the loss target');
});

test('bench, dissemination only: 20,000 nodes', { timeout: 60_000 }, async () => {
  const { json, svg } = await bench(['--sim', '--dissemination-only', '--nodes', '20000']);
  assert.equal(json['nodes'], 20_000);
  assert.equal(json['mode'], 'dissemination-only');
  noNegatives(json, 'out');
  checkSummary(json, 'dissemination', 19_999);
  assert.ok(num(json['wall_ms'], 'wall_ms') > 0);
  assert.ok(num(obj(json['dissemination'], 'dissemination')['max_ms'], 'max') >= num(json['register_lower_bound_ms'], 'bound'));
  checkSvg(svg, ['dissemination']);
});

test('bench: a bad option stops it with the reason and the usage', async () => {
  await new Promise<void>((resolve) => {
    execFile(process.execPath, [MAIN, '--scenario', 'nope'], (err, _stdout, stderr) => {
      assert.equal(err?.code, 2);
      assert.match(stderr, /unknown scenario "nope"/);
      assert.match(stderr, /--nodes N/);
      resolve();
    });
  });
});
