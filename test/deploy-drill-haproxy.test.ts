/**
 * The deploy drill through a real HAProxy fed by the companion, reduced to a few seconds of load:
 * behaviour, not timing. The swimd deploy loses no request, the naive one does; with persistence
 * cookies each client moves from v1 to v2 once and never back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDeployArgs, runDeployDrill } from '../bench/deploy/index.js';
import { currentSessions, drillHaproxyConfig, HAPROXY_BIN } from '../bench/deploy/haproxy-proxy.js';
import { parseHaproxyBenchArgs, runCompanionBench } from '../bench/haproxy/index.js';

const skip = existsSync(HAPROXY_BIN) ? false : `no HAProxy at ${HAPROXY_BIN}`;
const short = { rate: 200, durationMs: 5_000, deployAtMs: 1_500, tailMs: 1_500, splitMs: 1_500, proxy: 'haproxy' } as const;

async function drill(t: { diagnostic: (s: string) => void }, opts: Partial<Parameters<typeof runDeployDrill>[0]>): Promise<Awaited<ReturnType<typeof runDeployDrill>>> {
  const lines: string[] = [];
  const report = await runDeployDrill({ ...short, ...opts, say: (l) => lines.push(l), print: (l) => lines.push(l) }).catch((e: unknown) => {
    console.error(lines.join('\n'));
    throw e;
  });
  for (const line of report.text.split('\n').slice(0, 4)) t.diagnostic(line);
  return report;
}

test('drill through HAProxy: the swimd deploy loses no request, the naive one does, the weighted one splits', { skip, timeout: 90_000 }, async (t) => {
  const report = await drill(t, { runs: ['swimd', 'naive', 'weighted'] });
  const [swimd, naive, weighted] = report.runs;
  assert.ok(swimd !== undefined && naive !== undefined && weighted !== undefined);
  assert.equal(swimd.error, undefined, `the swimd deploy failed: ${swimd.error}`);
  assert.ok(swimd.sent >= 500, `too few requests: ${swimd.sent}`);
  assert.equal(swimd.failed, 0, `swimd deploy lost requests: ${JSON.stringify(swimd.failures)}`);
  assert.ok(swimd.register_to_first_v2_ms !== null && swimd.drain_to_last_v1_ms !== null, 'both versions answered');
  assert.ok(swimd.proxy_learned_ms.v2_eligible !== null && swimd.proxy_learned_ms.v1_draining !== null, 'HAProxy took both changes');
  assert.equal(swimd.v1_after_proxy_knew_drain, 0, 'HAProxy sent new requests to v1 after it was set to drain');
  assert.ok(naive.failed > 0, 'the naive deploy lost no request, so the drill shows nothing');
  assert.equal(weighted.failed, 0);
  // 9:1 by weight; over ~1.5 s at 200 req/s the count is small, so only the order of magnitude is checked.
  assert.ok(weighted.split !== null && weighted.split.v2_pct > 2 && weighted.split.v2_pct < 25, `v2 share ${weighted.split?.v2_pct}`);
});

test('drill through HAProxy with cookies: no request lost, and no client goes back to v1 after v2', { skip, timeout: 60_000 }, async (t) => {
  const report = await drill(t, { runs: ['swimd'], sticky: true });
  const [swimd] = report.runs;
  assert.ok(swimd !== undefined);
  assert.equal(swimd.error, undefined, `the swimd deploy failed: ${swimd.error}`);
  assert.equal(swimd.failed, 0, `lost requests: ${JSON.stringify(swimd.failures)}`);
  assert.equal(swimd.per_client.switched_back, 0);
  assert.equal(swimd.per_client.mixed_window_max_ms, 0, 'a client got v1 and v2 interleaved');
});

test('--proxy: builtin by default, haproxy on request, anything else a usage error naming both', () => {
  const parsed = parseDeployArgs(['--scenario', 'deploy', '--proxy', 'haproxy']);
  assert.ok(parsed !== 'help' && parsed.proxy === 'haproxy');
  const plain = parseDeployArgs([]);
  assert.ok(plain !== 'help' && plain.proxy === 'builtin');
  assert.throws(() => parseDeployArgs(['--proxy', 'nginx']), /--proxy: expected one of builtin, haproxy, haproxy-dns, got "nginx"/);
});

test("the drill's haproxy.cfg passes `haproxy -c`, with and without cookies; sessions are read per server from show stat", { skip }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-drillcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const sticky of [false, true]) {
    const cfg = join(dir, `h-${sticky}.cfg`);
    writeFileSync(cfg, drillHaproxyConfig({ socket: join(dir, 's.sock'), host: '127.0.0.1', port: 1, sticky }));
    const r = spawnSync(HAPROXY_BIN, ['-c', '-f', cfg], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  }
  const csv = '# pxname,svname,qcur,qmax,scur,smax\napp,app1,0,0,3,5\napp,app2,0,0,0,1\napp,BACKEND,0,0,3,5\nfe,FRONTEND,,,1,2\n';
  assert.deepEqual([...currentSessions(csv, 'app')], [['app1', 3], ['app2', 0], ['BACKEND', 3]]);
});

test('drill through HAProxy on the DNS path (resolvers, no companion): the swimd deploy loses no request, the changes arrive by resolution', { skip, timeout: 60_000 }, async (t) => {
  const report = await drill(t, { runs: ['swimd'], proxy: 'haproxy-dns', durationMs: 6_000 });
  const [swimd] = report.runs;
  assert.ok(swimd !== undefined);
  assert.equal(swimd.error, undefined, `the swimd deploy failed: ${swimd.error}`);
  assert.equal(swimd.failed, 0, `lost requests: ${JSON.stringify(swimd.failures)}`);
  assert.ok(swimd.proxy_learned_ms.v2_eligible !== null && swimd.proxy_learned_ms.v1_draining !== null, 'HAProxy resolved both changes');
  assert.equal(swimd.v1_after_proxy_knew_drain, 0);
});

test('the companion bench: every trial reaches ready, draining and maint in HAProxy', { skip, timeout: 60_000 }, async () => {
  const f = await runCompanionBench({ trials: 2, json: null }, () => undefined);
  for (const s of [f.register_ready, f.drain_draining, f.deregister_maint, f.from_watch_line.ready]) assert.equal(s.reached, 2);
  assert.throws(() => parseHaproxyBenchArgs(['--trials', '0']), /--trials: expected a whole number from 1 to 1000/);
  assert.throws(() => parseHaproxyBenchArgs(['--bogus']), /Unknown option '--bogus'/);
});
