/**
 * The simulator's fleet over regions: the matrix file format and its refusals, the latency model
 * (round trip / 2 plus jitter that only adds), the even spread of nodes, the lower bound, and the
 * bench's --regions option end to end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError } from '../bench/options.js';
import { loadMatrix, MatrixError, parseMatrix, regionLowerBoundMs, shippedMatrices } from '../bench/regions/matrix.js';
import { PROFILES } from '../protocol/profiles.js';
import { Network } from '../protocol/sim/network.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { Rng } from '../protocol/rng.js';
import { reproduce, testSeed } from './helpers/seed.js';

const GOOD = { regions: ['ams', 'iad', 'syd'], rtt_ms: [[2, 81, 250], [81, 1, 200], [250, 200, 4]] };

test('matrix: a valid file is read as given', () => {
  const m = parseMatrix(GOOD, 'good.json');
  assert.deepEqual(m.regions, ['ams', 'iad', 'syd']);
  assert.deepEqual(m.rttMs, GOOD.rtt_ms);
  // From iad the farthest is syd: 200 / 2, plus one forward batch.
  assert.equal(regionLowerBoundMs(m, 1, 2), 102);
  assert.equal(regionLowerBoundMs(m, 0, 2), 127);
});

test('matrix: every malformed file is refused naming the field and the reason', () => {
  const cases: [unknown, RegExp][] = [
    [[], /top level/],
    [{ regions: ['a'] }, /rtt_ms: expected an array/],
    [{ ...GOOD, extra: 1 }, /extra: unknown field/],
    [{ ...GOOD, regions: [] }, /regions: expected a non-empty array/],
    [{ ...GOOD, regions: ['ams', 'ams', 'syd'] }, /regions\[1\]: "ams" is listed twice/],
    [{ ...GOOD, regions: ['ams', 'i a d', 'syd'] }, /regions\[1\]: expected a name/],
    [{ ...GOOD, rtt_ms: GOOD.rtt_ms.slice(0, 2) }, /rtt_ms: has 2 rows for 3 regions/],
    [{ ...GOOD, rtt_ms: [[2, 81], [81, 1, 200], [250, 200, 4]] }, /rtt_ms\[0\]: has 2 entries for 3 regions/],
    [{ ...GOOD, rtt_ms: [[2, 81, 250], [80, 1, 200], [250, 200, 4]] }, /rtt_ms\[0\]\[1\]: not symmetric: ams->iad is 81 ms but iad->ams is 80 ms/],
    [{ ...GOOD, rtt_ms: [[2, -81, 250], [-81, 1, 200], [250, 200, 4]] }, /rtt_ms\[0\]\[1\]: a round trip cannot be negative/],
    [{ ...GOOD, rtt_ms: [[2, '81', 250], [81, 1, 200], [250, 200, 4]] }, /rtt_ms\[0\]\[1\]: expected a number/],
    [{ ...GOOD, rtt_ms: [[2, 81, 250], [81, 1, 200], [250, 200, 40_000]] }, /rtt_ms\[2\]\[2\]: 40000 ms is more than/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseMatrix(value, 'm.json'), (e: unknown) => e instanceof MatrixError && /^m\.json: /.test(e.message) && message.test(e.message),
      `expected ${message} for ${JSON.stringify(value)}`);
  }
});

test('matrix: shipped matrices are valid, the AWS one with 20+ real locations', () => {
  const names = shippedMatrices();
  assert.ok(names.includes('aws') && names.includes('ibm'), `shipped: ${names.join(', ')}`);
  for (const name of names) {
    const m = loadMatrix(name);
    assert.equal(m.source, name);
    for (let a = 0; a < m.regions.length; a++) {
      for (let b = 0; b < m.regions.length; b++) if (a !== b) assert.ok((m.rttMs[a]?.[b] ?? 0) > 0, `${name}: ${a}->${b}`);
    }
  }
  assert.ok(loadMatrix('aws').regions.length >= 20);
  assert.throws(() => loadMatrix('nosuchmatrix'), /no shipped matrix named "nosuchmatrix"; shipped: aws, ibm/);
});

test('network: one-way latency is the regions\' round trip / 2 plus jitter in [0, jitter)', () => {
  const seed = testSeed(41);
  const net = new Network(new Rng(seed), { latencyMs: 1, jitterMs: 0, loss: 0 });
  const oneWay = GOOD.rtt_ms.map((row) => row.map((x) => x / 2));
  for (let i = 0; i < 6; i++) net.addNode(i);
  net.setRegions({ oneWayMs: oneWay, jitterMs: 3 });
  // Spread evenly: node i lives in region i mod 3.
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => net.region(i)), [0, 1, 2, 0, 1, 2]);
  for (let k = 0; k < 2000; k++) {
    const from = k % 6;
    const to = (k * 7 + 1) % 6;
    const base = oneWay[from % 3]?.[to % 3] as number;
    const l = net.latency(from, to);
    assert.ok(l >= base && l < base + 3, `latency ${from}->${to} = ${l}, base ${base}${reproduce(seed)}`);
  }
  // A link override of latency still wins over the matrix.
  net.setLink(0, 1, { latencyMs: 7, jitterMs: 0 });
  assert.equal(net.latency(0, 1), 7);
});

test('simulator: a datagram across an ocean takes the matrix\'s time', () => {
  const seed = testSeed(42);
  const regions = { oneWayMs: GOOD.rtt_ms.map((row) => row.map((x) => x / 2)), jitterMs: 0 };
  let firstAnswer: number | null = null;
  const sim = new Simulator({
    seed, regions,
    onEffect: (time, node, e) => {
      if (e.kind === 'send' && node === 'n2' && firstAnswer === null) firstAnswer = time;
    },
  });
  const ids = sim.addNodes(4);
  assert.deepEqual(ids.map((id) => sim.regionOf(id)), [0, 1, 2, 0]);
  // n0 (ams) joins through n2 (syd); n2's first send answers the join the moment it lands.
  const sent = sim.now;
  sim.join('n0', ['n2']);
  sim.runFor(1000);
  // The join arrives 250 / 2 ms after it left; n2 answers then, or after its forward batch.
  const at = firstAnswer ?? Number.NaN;
  assert.ok(at >= sent + 125 && at <= sent + 125 + PROFILES.lan.forwardBatchMs, `first answer from syd at ${at}${reproduce(seed)}`);
});

function runBench(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const main = fileURLToPath(new URL('../bench/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, SWIMD_BENCH_HEAP_SET: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bench: --regions options and refusals', () => {
  const o = parseOptions(['--sim', '--regions', 'aws']);
  assert.ok(o !== 'help');
  assert.equal(o.regions?.regions.length, 32);
  assert.equal(o.jitterMs, 2);
  assert.throws(() => parseOptions(['--regions', 'aws']), UsageError, 'regions are for --sim');
  assert.throws(() => parseOptions(['--sim', '--regions', 'aws', '--latency-ms', '5']), /--latency-ms does not apply with --regions/);
  const dir = mkdtempSync(join(tmpdir(), 'swimd-regions-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ regions: ['a', 'b'], rtt_ms: [[0, 10], [12, 0]] }));
    const r = runBench(['--sim', '--regions', bad, '--nodes', '4']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--regions: .*bad\.json: rtt_ms\[0\]\[1\]: not symmetric: a->b is 10 ms but b->a is 12 ms/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"regions": [');
    const r2 = runBench(['--sim', '--regions', notJson, '--nodes', '4']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /not\.json: not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench: a small run on a matrix reports the regions and a lower bound per timed change', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-regions-'));
  try {
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify(GOOD));
    const out = join(dir, 'out.json');
    const r = runBench(['--sim', '--regions', file, '--nodes', '30', '--profile', 'wan', '--scenario', 'register,deregister,dead', '--jitter-ms', '0', '--json', out]);
    assert.equal(r.status, 0, r.stderr);
    const f = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    assert.equal(f['regions'], 3);
    const reg = f['register'] as Record<string, number | string>;
    // The owner is node n1, in iad: syd is 100 ms away, plus the wan profile's forward batch.
    assert.equal(reg['origin_region'], 'iad');
    assert.equal(reg['lower_bound_ms'], 100 + PROFILES.wan.forwardBatchMs);
    assert.equal(reg['reached'], 29);
    // Nobody can beat the speed of light: the last node is no sooner than the bound minus the batch.
    assert.ok((reg['max_ms'] as number) >= 100, `register max ${reg['max_ms']}`);
    assert.equal(typeof (f['deregister'] as Record<string, number>)['lower_bound_ms'], 'number');
    // The crash happens at the victim, the last node (n29, in syd): 250 / 2 ms to ams, plus the batch.
    const dead = f['dead'] as Record<string, number | string>;
    assert.equal(dead['origin_region'], 'syd');
    assert.equal(dead['lower_bound_ms'], 125 + PROFILES.wan.forwardBatchMs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

