/** The benchmark's own arithmetic: run aggregation, the forwarding bound, option parsing, the chart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate } from '../bench/aggregate.js';
import { forwardFanout, minHops } from '../bench/dissemination/lower-bound.js';
import { parseOptions, UsageError } from '../bench/options.js';
import { targetFigures } from '../bench/report.js';
import { renderSvg } from '../bench/svg.js';
import { LIMITS } from '../protocol/limits.js';
import { PROFILES } from '../protocol/profiles.js';
import { relayFanout } from '../protocol/ring.js';

test('aggregate: medians per field, spread kept, null ranks last', () => {
  const { figures, spread } = aggregate([
    { a: 1, s: { p99_ms: 10 }, all: null, t: 'x' },
    { a: 3, s: { p99_ms: 30 }, all: 5, t: 'y' },
    { a: 2, s: { p99_ms: 20 }, all: null, t: 'z' },
  ]);
  assert.deepEqual(figures, { a: 2, s: { p99_ms: 20 }, all: null, t: 'x' });
  assert.deepEqual(spread['a'], [1, 3]);
  assert.deepEqual(spread['s.p99_ms'], [10, 30]);
  assert.deepEqual(aggregate([{ a: 1 }, { a: 4 }]).figures, { a: 2.5 });
});

test('forwarding bound: hops from the fanout the protocol actually uses', () => {
  assert.equal(minHops(1, 4), 0);
  assert.equal(minHops(5, 4), 1);
  assert.equal(minHops(6, 4), 2);
  assert.equal(minHops(21, 4), 2);
  assert.equal(minHops(22, 4), 3);
  const lan = { ...PROFILES.lan, updateTree: false };
  // Flooding, measured off Dissemination, follows the documented ceil(ln n) + extra.
  for (const n of [10, 200, 5000, 1_000_000]) assert.equal(forwardFanout(n, lan), Math.ceil(Math.log(n)) + lan.forwardFanoutExtra, `n=${n}`);
  // With the update tree, a catalog update's origin sends the first step of the tree, over the
  // n - 1 other members.
  const tree = { ...lan, updateTree: true };
  for (const n of [10, 200, 5000, 1_000_000]) assert.equal(forwardFanout(n, tree), relayFanout(n - 1), `n=${n}`);
  assert.equal(forwardFanout(1_000_000, tree), LIMITS.relayFanoutMax);
});

test('options: the update tree is on by default, --flooding turns it off (sim, dissemination-only), both refused in real mode', () => {
  const on = parseOptions(['--sim', '--regions', 'aws']);
  assert.ok(on !== 'help');
  assert.equal(on.updateTree, true);
  assert.equal(on.probeWarmupS, 60, 'regions: a warm-up so that probes have measured round trips');
  const off = parseOptions(['--sim', '--regions', 'aws', '--flooding']);
  assert.ok(off !== 'help');
  assert.equal(off.updateTree, false);
  assert.equal(off.probeWarmupS, 60, 'adaptive probe timeouts still learn from round trips');
  const plain = parseOptions(['--sim', '--flooding']);
  assert.ok(plain !== 'help');
  assert.equal(plain.probeWarmupS, 0, 'no warm-up without regions');
  const wan = parseOptions(['--sim', '--regions', 'aws', '--profile', 'wan']);
  assert.ok(wan !== 'help');
  assert.equal(wan.probeWarmupS, 600);
  const diss = parseOptions(['--sim', '--dissemination-only', '--flooding']);
  assert.ok(diss !== 'help');
  assert.equal(diss.updateTree, false);
  assert.throws(() => parseOptions(['--sim', '--flooding', '--update-tree']), UsageError);
  assert.throws(() => parseOptions(['--update-tree']), UsageError);
  assert.throws(() => parseOptions(['--flooding']), UsageError);
});

test('options: defaults per mode, scenario lists, and refusals', () => {
  const real = parseOptions([]);
  assert.ok(real !== 'help');
  assert.equal(real.mode, 'real');
  assert.equal(real.nodes, 200);
  assert.equal(real.steadyS, 30);
  assert.deepEqual(real.scenarios, ['join', 'register', 'deregister', 'dead', 'false_dead']);
  const sim = parseOptions(['--sim', '--scenario', 'dead', '--scenario', 'deregister,steady', '--latency-ms', '5']);
  assert.ok(sim !== 'help');
  assert.equal(sim.nodes, 5000);
  assert.equal(sim.jitterMs, 2.5);
  assert.equal(real.joinSpreadMs, 0);
  assert.equal(sim.simStart, 'converged', 'a 5,000-node simulation starts converged by default');
  assert.ok(!sim.scenarios.includes('join'));
  const small = parseOptions(['--sim', '--nodes', '500']);
  assert.ok(small !== 'help');
  assert.equal(small.simStart, 'join');
  assert.equal(small.scenarios[0], 'join');
  const timedJoin = parseOptions(['--sim', '--scenario', 'join,register']);
  assert.ok(timedJoin !== 'help');
  assert.equal(timedJoin.simStart, 'join', 'asking for the join scenario asks for a join');
  assert.equal(timedJoin.joinSpreadMs, 60_000, 'thousands of simulated joins are spread by default');
  assert.throws(() => parseOptions(['--sim', '--sim-start', 'converged', '--scenario', 'join']), UsageError);
  assert.throws(() => parseOptions(['--sim-start', 'join']), UsageError, '--sim-start is for --sim');
  assert.deepEqual(sim.scenarios, ['register', 'deregister', 'dead', 'false_dead']);
  assert.throws(() => parseOptions(['--latency-ms', '5']), UsageError);
  assert.throws(() => parseOptions(['--dissemination-only']), UsageError);
  assert.throws(() => parseOptions(['--nodes', '1.5']), UsageError);
  assert.throws(() => parseOptions(['--loss', '101']), UsageError);
  assert.throws(() => parseOptions(['--loss-all']), UsageError, '--loss-all without a loss is refused');
  const lossy = parseOptions(['--loss', '15', '--loss-all']);
  assert.ok(lossy !== 'help');
  assert.equal(lossy.lossAll, true);
  assert.equal(lossy.lossPct, 15);
  assert.equal(parseOptions(['--help']), 'help');
});

test('options: dead_during_burst runs on the simulator, with --burst registrations', () => {
  const burst = parseOptions(['--sim', '--nodes', '200', '--scenario', 'dead_during_burst', '--burst', '500']);
  assert.ok(burst !== 'help');
  assert.deepEqual(burst.scenarios, ['join', 'dead_during_burst']);
  assert.equal(burst.burst, 500);
  const dflt = parseOptions(['--sim', '--nodes', '200', '--scenario', 'dead_during_burst']);
  assert.ok(dflt !== 'help');
  assert.equal(dflt.burst, 2000);
  assert.throws(() => parseOptions(['--scenario', 'dead_during_burst']), UsageError, 'real agents: refused');
  assert.throws(() => parseOptions(['--burst', '10']), UsageError, '--burst is for --sim');
  assert.throws(() => parseOptions(['--sim', '--burst', '0']), UsageError);
});

test('chart: one curve and legend entry per scenario, escaped text', () => {
  const svg = renderSvg({
    title: 'a < b', subtitle: ['x & y'],
    curves: [{ name: 'register', runs: [{ latencies: [1, 2, 3], expected: 4 }] }, { name: 'dead', runs: [{ latencies: [1500], expected: 1 }] }],
  });
  assert.equal((svg.match(/<path /g) ?? []).length, 2);
  assert.match(svg, /a &lt; b/);
  assert.match(svg, /x &amp; y/);
  assert.match(svg, /3\/4 reached/);
  assert.doesNotMatch(svg, /textLength/, 'a short subtitle is left alone');
  const long = renderSvg({ title: 't', subtitle: ['x'.repeat(200)], curves: [] });
  assert.match(long, /textLength="[\d.]+" lengthAdjust="spacingAndGlyphs">x{200}</, 'a long subtitle is squeezed to fit');
});

test('targets: loss throughout the run is judged against the targets set for loss', () => {
  const figures = { join_all_ms: 3_000, register: { p99_ms: 80 }, dead: { p99_ms: 2_100 } };
  const clean = targetFigures(figures);
  const lossy = targetFigures({ ...figures, loss_scope: 'all', loss_pct: 15 });
  const met = (t: ReturnType<typeof targetFigures>, k: string): unknown => (t[k] as { met: unknown }).met;
  assert.equal(met(clean, 'join_all_ms'), false);
  assert.equal(met(clean, 'register.p99_ms'), false);
  assert.equal(met(lossy, 'join_all_ms'), true);
  assert.equal(met(lossy, 'register.p99_ms'), true);
  assert.equal(met(lossy, 'dead.p99_ms'), true);
});

test('options: the seed has a process of its own unless --shared-seed, which real mode alone takes', async () => {
  const own = parseOptions(['--nodes', '20']);
  assert.ok(own !== 'help');
  assert.equal(own.sharedSeed, false);
  const shared = parseOptions(['--nodes', '20', '--shared-seed']);
  assert.ok(shared !== 'help');
  assert.equal(shared.sharedSeed, true);
  assert.throws(() => parseOptions(['--sim', '--shared-seed']), UsageError);
  const { WorkerPool } = await import('../bench/real/pool.js');
  const alone = WorkerPool.open(2, false);
  const together = WorkerPool.open(2, true);
  try {
    assert.equal(alone.size, 3);
    assert.deepEqual([0, 1, 2, 3, 4].map((a) => alone.workerOf(a)), [0, 1, 2, 1, 2], 'the seed alone in worker 0, the rest shared evenly');
    assert.equal(together.size, 2);
    assert.deepEqual([0, 1, 2, 3].map((a) => together.workerOf(a)), [0, 1, 0, 1]);
  } finally {
    await Promise.all([alone.close(), together.close()]);
  }
});
