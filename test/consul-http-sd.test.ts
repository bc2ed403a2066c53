import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor, within } from './helpers/cluster.js';
import { assertConsulHeaders, deregister, httpGet, post, register, startConsulAgent } from './helpers/consul-http.js';
import { tempDir, type TestCtx } from './helpers/local-agent.js';
import { freePort } from '../bench/free-port.js';

interface Group {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

async function sd(port: number, query = ''): Promise<Group[]> {
  const r = await httpGet(port, `/v1/sd/prometheus${query}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  assertConsulHeaders(r);
  return r.body as Group[];
}

test('http_sd: one group per routable instance, with service, node, tags, meta, version and health labels', async (t) => {
  const { agent, port } = await startConsulAgent(t, tempDir(t), { name: 'n1' });
  await register(agent, { id: 'api-1', name: 'api', port: 9100, tags: ['a', 'b'], meta: { 'metrics-path': '/m' }, version: 'v2', weight: 5 });
  await register(agent, { id: 'api-2', name: 'api', port: 9101, check: { ttl: '1m' } });
  await register(agent, { id: 'api-3', name: 'api', port: 9102 });
  await register(agent, { id: 'db-1', name: 'db', port: 5432 });
  await post(agent, '/v1/services/api-3/drain');
  assert.deepEqual(await sd(port, '?service=api'), [{
    targets: ['127.0.0.1:9100'],
    labels: {
      __meta_swimd_service: 'api', __meta_swimd_service_id: 'api-1', __meta_swimd_node: 'n1', __meta_swimd_address: '127.0.0.1',
      __meta_swimd_dc: 'default', __meta_swimd_tags: ',a,b,', __meta_swimd_version: 'v2', __meta_swimd_health: 'passing',
      __meta_swimd_weight: '5', __meta_swimd_service_metadata_metrics_path: '/m',
    },
  }]);
  await post(agent, '/v1/checks/api-2/warn');
  assert.deepEqual((await sd(port)).map((g) => [g.labels['__meta_swimd_service_id'], g.labels['__meta_swimd_health']]),
    [['api-1', 'passing'], ['api-2', 'warning'], ['db-1', 'passing']]);
  assert.equal((await httpGet(port, '/v1/sd/prometheus?service=')).status, 400);
  assert.equal((await httpGet(port, '/v1/sd/prometheus?job=x')).status, 400);
});

const PROMETHEUS = '/usr/bin/prometheus';

/** Starts the real Prometheus with `config`; stopped (SIGTERM, then SIGKILL) however the test ends. */
async function startPrometheus(t: TestCtx, dir: string, config: string): Promise<number> {
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, config);
  const port = await freePort();
  const log: string[] = [];
  const proc: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    proc.kill('SIGTERM');
    if ((await within(exited, 5_000)) === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  await waitFor(`prometheus ready (log: ${log.join('').slice(-500)})`, async () => {
    if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}: ${log.join('').slice(-2000)}`);
    return (await httpGet(port, '/-/ready').catch(() => null))?.status === 200;
  }, 30_000, 100);
  return port;
}

interface ActiveTarget {
  readonly discoveredLabels: Record<string, string>;
  readonly labels: Record<string, string>;
}

async function activeTargets(port: number): Promise<ActiveTarget[]> {
  const r = await httpGet(port, '/api/v1/targets?state=active');
  assert.equal(r.status, 200, r.text);
  return (r.body as { data: { activeTargets: ActiveTarget[] } }).data.activeTargets;
}

test('the real Prometheus 2.42 discovers a registered instance through http_sd and drops it after deregister', { skip: !existsSync(PROMETHEUS) && 'prometheus not installed' }, async (t) => {
  const dir = tempDir(t, 'swimd-prom-');
  const { agent, port } = await startConsulAgent(t, dir, { name: 'n1' });
  const promPort = await startPrometheus(t, dir, [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    '  - job_name: swimd',
    '    http_sd_configs:',
    `      - url: http://127.0.0.1:${port}/v1/sd/prometheus?service=api`,
    '        refresh_interval: 1s',
    '    relabel_configs:',
    '      - source_labels: [__meta_swimd_version]',
    '        target_label: version',
    '',
  ].join('\n'));
  await register(agent, { id: 'api-1', name: 'api', port: 9100, version: 'v3', tags: ['metrics'] });
  const found = await waitFor('api-1 in /api/v1/targets', async () =>
    (await activeTargets(promPort)).find((x) => x.discoveredLabels['__meta_swimd_service_id'] === 'api-1'), 30_000, 100);
  assert.equal(found!.labels['instance'], '127.0.0.1:9100');
  assert.equal(found!.labels['version'], 'v3');
  assert.equal(found!.discoveredLabels['__meta_swimd_tags'], ',metrics,');
  await deregister(agent, 'api-1');
  await waitFor('api-1 gone from /api/v1/targets', async () =>
    !(await activeTargets(promPort)).some((x) => x.discoveredLabels['__meta_swimd_service_id'] === 'api-1'), 30_000, 100);
});
