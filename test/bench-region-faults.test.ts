/**
 * The bench's region faults: --region-loss NAME:PCT and the region_cut scenario (--cut-region,
 * --cut-s) — their parsing and refusals, and a small cut run end to end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError } from '../bench/options.js';

test('bench: --region-loss and --cut-region name a region of the matrix; both need --regions', () => {
  const o = parseOptions(['--sim', '--regions', 'aws', '--region-loss', 'ap-southeast-2:15', '--scenario', 'region_cut', '--cut-region', 'eu-west-1', '--cut-s', '30']);
  assert.ok(o !== 'help');
  assert.deepEqual(o.regionLoss, { region: o.regions?.regions.indexOf('ap-southeast-2'), lossPct: 15 });
  assert.equal(o.regions?.regions[o.cutRegion], 'eu-west-1');
  assert.equal(o.cutS, 30);
  assert.ok(o.scenarios.includes('region_cut'));
  const d = parseOptions(['--sim', '--regions', 'aws', '--scenario', 'region_cut']);
  assert.ok(d !== 'help' && d.cutRegion === 0 && d.cutS === 60 && d.regionLoss === null);
  const refusals: [string[], RegExp][] = [
    [['--sim', '--region-loss', 'x:5'], /--region-loss needs --regions/],
    [['--sim', '--scenario', 'region_cut'], /region_cut needs --regions/],
    [['--sim', '--regions', 'aws', '--region-loss', 'mars-1:5'], /--region-loss: no region "mars-1" in aws/],
    [['--sim', '--regions', 'aws', '--region-loss', 'eu-west-1'], /expected NAME:PCT/],
    [['--sim', '--regions', 'aws', '--region-loss', 'eu-west-1:150'], /--region-loss: expected a number from 0 to 100/],
    [['--sim', '--regions', 'aws', '--cut-region', 'nowhere'], /--cut-region: no region "nowhere"/],
    [['--sim', '--regions', 'aws', '--cut-s', '0'], /--cut-s: expected a number from 1/],
    [['--region-loss', 'eu-west-1:5'], /applies to --sim only/],
  ];
  for (const [args, message] of refusals) assert.throws(() => parseOptions(args), (e: unknown) => e instanceof UsageError && message.test(e.message), args.join(' '));
});

test('bench: a region cut off and healed — deaths across the cut, then every node lists every member alive again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-cut-'));
  try {
    const json = join(dir, 'cut.json');
    const main = fileURLToPath(new URL('../bench/main.js', import.meta.url));
    const r = spawnSync(process.execPath, [main, '--sim', '--regions', 'ibm', '--nodes', '20', '--sim-start', 'converged', '--scenario', 'region_cut',
      '--cut-region', 'syd', '--cut-s', '20', '--json', json], { encoding: 'utf8', env: { ...process.env, SWIMD_BENCH_HEAP_SET: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(readFileSync(json, 'utf8')) as { region_cut: { region: string; nodes_cut_off: number; deaths_declared_during_cut: number; heal: { reached: number; expected: number } } };
    const cut = out.region_cut;
    assert.equal(cut.region, 'syd');
    assert.equal(cut.nodes_cut_off, 2);
    // Each of the 18 declares both cut-off nodes dead (the 2, whose every probe fails without a
    // nack, doubt themselves first and slow down: Lifeguard).
    assert.ok(cut.deaths_declared_during_cut >= 18 * 2, `deaths during the cut: ${cut.deaths_declared_during_cut}`);
    assert.equal(cut.heal.reached, cut.heal.expected, 'every node healed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
