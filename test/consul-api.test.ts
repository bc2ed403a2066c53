import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, resolveConfig } from '../daemon/config/config.js';
import { parseFilter, evaluate, FilterError } from '../daemon/consul/filter.js';
import { parseCommon, parseGoDuration } from '../daemon/consul/query.js';
import { aggregatedStatus, type ConsulCheck, instances } from '../daemon/consul/shapes.js';
import type { ServiceView } from '../protocol/effects.js';
import { waitFor } from './helpers/cluster.js';
import { assertConsulHeaders, deregister, httpGet, type HttpRes, post, register, startConsulAgent } from './helpers/consul-http.js';
import { call, startAgent, tempDir } from './helpers/local-agent.js';

type Obj = Record<string, unknown>;

function ok(r: HttpRes): unknown {
  assert.equal(r.status, 200, r.text);
  assertConsulHeaders(r);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  return r.body;
}

function list(r: HttpRes): Obj[] {
  const b = ok(r);
  assert.ok(Array.isArray(b), r.text);
  return b as Obj[];
}

function bad(r: HttpRes, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.text);
  assertConsulHeaders(r);
  assert.match(r.text, pattern);
}

function checksOf(e: Obj): ConsulCheck[] {
  return e['Checks'] as ConsulCheck[];
}

test('http_addr: off by default, a port alone is loopback, bad values name the field and reason', () => {
  assert.equal(resolveConfig({ name: 'a' }).httpAddr, null);
  assert.deepEqual(resolveConfig({ name: 'a', httpAddr: '8500' }).httpAddr, { host: '127.0.0.1', port: 8500 });
  assert.deepEqual(resolveConfig({ name: 'a', httpAddr: ':8500' }).httpAddr, { host: '127.0.0.1', port: 8500 });
  assert.deepEqual(resolveConfig({ name: 'a', httpAddr: '0.0.0.0:8500' }).httpAddr, { host: '0.0.0.0', port: 8500 });
  assert.throws(() => resolveConfig({ name: 'a', httpAddr: 'consul.local:8500' }), (e: unknown) => e instanceof ConfigError && /--http-addr.*IP address/.test(e.message));
  assert.throws(() => resolveConfig({ name: 'a', httpAddr: '99999' }), (e: unknown) => e instanceof ConfigError && /--http-addr.*HOST:PORT/.test(e.message));
});

test('http_addr in a config file: a bad value names the file, the field and the reason', (t) => {
  const file = join(tempDir(t), 'agent.json');
  writeFileSync(file, JSON.stringify({ name: 'a', http_addr: 8500 }));
  assert.throws(() => resolveConfig({ config: file }), (e: unknown) => e instanceof ConfigError && e.message.includes(`config ${file}: field "http_addr": expected a string`));
  writeFileSync(file, JSON.stringify({ name: 'a', http_addr: '127.0.0.1:8500' }));
  assert.deepEqual(resolveConfig({ config: file }).httpAddr, { host: '127.0.0.1', port: 8500 });
});

test('Go durations and the filter subset', () => {
  assert.equal(parseGoDuration('120000ms'), 120_000);
  assert.equal(parseGoDuration('5m'), 300_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('10'), 10_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('5 m'), null);
  assert.equal(parseGoDuration('abc'), null);
  // wait: 5 minutes when absent, at most 10 (capped, as Consul does, not refused).
  assert.equal(parseCommon(new URLSearchParams(''), 'dc1').blocking.waitMs, 300_000);
  assert.equal(parseCommon(new URLSearchParams('wait=1h'), 'dc1').blocking.waitMs, 600_000);
  assert.equal(parseCommon(new URLSearchParams('wait=120000ms&index=42'), 'dc1').blocking.index, 42);
  const sel = (s: string): boolean => ['Service.Tags', 'Service.ID', 'Service.Port'].includes(s) || s.startsWith('Service.Meta.');
  const rec = (s: string) => ({ 'Service.Tags': ['a', 'b'], 'Service.ID': 'web-1', 'Service.Port': 80, 'Service.Meta.zone': 'x' } as Record<string, string | number | string[]>)[s];
  const f = (text: string): boolean => evaluate(parseFilter(text, sel), rec);
  assert.equal(f('"a" in Service.Tags'), true);
  assert.equal(f('"c" in Service.Tags'), false);
  assert.equal(f('"c" not in Service.Tags and Service.ID == "web-1"'), true);
  assert.equal(f('Service.ID != `web-1` or (Service.Port == 80 and not Service.Meta.zone is empty)'), true);
  assert.equal(f('Service.Tags contains "b"'), true);
  assert.equal(f('Service.Meta.zone == "y"'), false);
  for (const badText of ['Service.Name == "x"', 'Service.ID matches "w.*"', 'Service.ID ==', '"a" in', 'Service.ID == "x" extra', '(Service.ID == "x"', '']) {
    assert.throws(() => parseFilter(badText, sel), FilterError, badText);
  }
});

test("Consul's AggregatedStatus: maintenance first, then critical, warning, passing", () => {
  const c = (CheckID: string, Status: ConsulCheck['Status']): ConsulCheck => ({ CheckID, Status } as ConsulCheck);
  assert.equal(aggregatedStatus([c('serfHealth', 'passing'), c('service:a', 'passing')]), 'passing');
  assert.equal(aggregatedStatus([c('serfHealth', 'passing'), c('service:a', 'warning')]), 'warning');
  assert.equal(aggregatedStatus([c('serfHealth', 'critical'), c('service:a', 'warning')]), 'critical');
  assert.equal(aggregatedStatus([c('serfHealth', 'passing'), c('service:a', 'passing'), c('_service_maintenance:a', 'critical')]), 'maintenance');
});

test('every endpoint: shapes, parameters, errors, read-only', async (t) => {
  const dir = tempDir(t);
  const { agent, port } = await startConsulAgent(t, dir, { name: 'n1' });
  await register(agent, { id: 'web-1', name: 'web', port: 8080, tags: ['http', 'blue'], meta: { zone: 'a', 'team.name': 'core' }, version: 'v1', weight: 3 });
  await register(agent, { id: 'web-2', name: 'web', port: 8081, tags: ['http'], check: { ttl: '1m' } });
  await register(agent, { id: 'db-1', name: 'db', port: 5432, tags: ['primary'] });
  await post(agent, '/v1/checks/web-2/warn');

  // agent/self: what Prometheus reads (Config.Datacenter), and the member.
  const self = ok(await httpGet(port, '/v1/agent/self')) as Obj;
  const config = self['Config'] as Obj;
  assert.equal(config['Datacenter'], 'default');
  assert.equal(config['NodeName'], 'n1');
  const member = self['Member'] as Obj;
  assert.equal(member['Name'], 'n1');
  assert.equal(member['Addr'], '127.0.0.1');
  assert.equal(member['Status'], 1);

  // catalog/services: name → tags.
  assert.deepEqual(ok(await httpGet(port, '/v1/catalog/services')), { db: ['primary'], web: ['blue', 'http'] });
  assert.deepEqual(ok(await httpGet(port, '/v1/catalog/services?filter=' + encodeURIComponent('ServiceName == "db"'))), { db: ['primary'] });

  // catalog/service/:name in Consul's CatalogService shape.
  const cat = list(await httpGet(port, '/v1/catalog/service/web'));
  assert.deepEqual(cat.map((c) => c['ServiceID']), ['web-1', 'web-2']);
  const c1 = cat[0]!;
  assert.equal(c1['Node'], 'n1');
  assert.equal(c1['Address'], '127.0.0.1');
  assert.equal(c1['Datacenter'], 'default');
  assert.equal(c1['ServiceName'], 'web');
  assert.equal(c1['ServiceAddress'], '127.0.0.1');
  assert.equal(c1['ServicePort'], 8080);
  assert.deepEqual(c1['ServiceTags'], ['http', 'blue']);
  assert.deepEqual(c1['ServiceMeta'], { 'team.name': 'core', zone: 'a' });
  assert.deepEqual(c1['ServiceWeights'], { Passing: 3, Warning: 3 });
  assert.ok(typeof c1['CreateIndex'] === 'number' && typeof c1['ModifyIndex'] === 'number');
  assert.deepEqual(list(await httpGet(port, '/v1/catalog/service/web?tag=blue')).map((c) => c['ServiceID']), ['web-1']);
  assert.deepEqual(list(await httpGet(port, '/v1/catalog/service/nope')), []);

  // health/service/:name: Node/Service/Checks; passing; tags all required; dc; node-meta; consistency flags.
  const entries = list(await httpGet(port, '/v1/health/service/web'));
  assert.equal(entries.length, 2);
  const e1 = entries[0]!;
  const svc = e1['Service'] as Obj;
  assert.equal(svc['ID'], 'web-1');
  assert.equal(svc['Service'], 'web');
  assert.equal(svc['Address'], '127.0.0.1');
  assert.equal(svc['Port'], 8080);
  assert.deepEqual(svc['Weights'], { Passing: 3, Warning: 3 });
  assert.equal((e1['Node'] as Obj)['Node'], 'n1');
  assert.deepEqual(checksOf(e1).map((c) => [c.CheckID, c.Status]), [['serfHealth', 'passing'], ['service:web-1', 'passing']]);
  assert.deepEqual(checksOf(entries[1]!).map((c) => [c.CheckID, c.Status]), [['serfHealth', 'passing'], ['service:web-2', 'warning']]);
  // Consul's ?passing: only entries whose every check passes.
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?passing')).map((e) => (e['Service'] as Obj)['ID']), ['web-1']);
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?passing=1')).map((e) => (e['Service'] as Obj)['ID']), ['web-1']);
  assert.equal(list(await httpGet(port, '/v1/health/service/web?passing=false')).length, 2);
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?tag=http&tag=blue')).map((e) => (e['Service'] as Obj)['ID']), ['web-1']);
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?tag=http&tag=nope')), []);
  assert.equal(list(await httpGet(port, '/v1/health/service/web?dc=default&stale')).length, 2);
  assert.equal(list(await httpGet(port, '/v1/health/service/web?consistent=&cached')).length, 2);
  assert.equal((await httpGet(port, '/v1/health/service/web?stale')).headers['x-consul-effective-consistency'], 'stale');
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?node-meta=rack:r1')), []);
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?filter=' + encodeURIComponent('Service.Meta.zone == "a" and "blue" in Service.Tags')))
    .map((e) => (e['Service'] as Obj)['ID']), ['web-1']);
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?filter=' + encodeURIComponent('"warning" in Checks.Status')))
    .map((e) => (e['Service'] as Obj)['ID']), ['web-2']);

  // health/state/:state: checks in that state, one serfHealth per node.
  const any = list(await httpGet(port, '/v1/health/state/any'));
  assert.deepEqual(any.map((c) => c['CheckID']).sort(), ['serfHealth', 'service:db-1', 'service:web-1', 'service:web-2']);
  assert.deepEqual(list(await httpGet(port, '/v1/health/state/warning')).map((c) => c['CheckID']), ['service:web-2']);
  assert.deepEqual(list(await httpGet(port, '/v1/health/state/critical')), []);
  assert.deepEqual(list(await httpGet(port, '/v1/health/state/any?filter=' + encodeURIComponent('ServiceName == "db"'))).map((c) => c['CheckID']), ['service:db-1']);

  // Bad parameters: 400 with a message, never ignored.
  bad(await httpGet(port, '/v1/health/service/web?filter=' + encodeURIComponent('Service.ID matches "w"')), 400, /filter: the "matches" operator is not supported/);
  bad(await httpGet(port, '/v1/health/service/web?filter=' + encodeURIComponent('Service.Kind == ""')), 400, /filter: selector "Service.Kind" is not supported/);
  bad(await httpGet(port, '/v1/health/service/web?dc=dc2'), 400, /no path to datacenter "dc2"/);
  bad(await httpGet(port, '/v1/health/service/web?stale&consistent'), 400, /conflicting/);
  bad(await httpGet(port, '/v1/health/service/web?index=abc'), 400, /index: expected an unsigned integer/);
  bad(await httpGet(port, '/v1/health/service/web?wait=soon'), 400, /wait: expected a duration/);
  bad(await httpGet(port, '/v1/health/service/web?passing=maybe'), 400, /passing: expected true or false/);
  bad(await httpGet(port, '/v1/health/service/web?node-meta=rack'), 400, /node-meta: expected key:value/);
  bad(await httpGet(port, '/v1/health/service/web?colour=red'), 400, /unsupported query parameter "colour"/);
  bad(await httpGet(port, '/v1/health/state/sleepy'), 400, /state: expected one of any, passing, warning, critical/);
  bad(await httpGet(port, '/v1/health/service/web?ns=team'), 400, /ns: only "default"/);

  bad(await httpGet(port, '/v1/health/service/web?filter=' + encodeURIComponent('Service.ID == "' + 'x'.repeat(5000) + '"')), 400, /filter: longer than 4096 characters/);
  const huge = await rawRequest(port, `GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1.1 431 /);

  // Read-only: writes are 405 with Allow; unknown paths 404.
  const put = await httpGet(port, '/v1/health/service/web', { method: 'PUT', body: '{}' });
  bad(put, 405, /read-only/);
  assert.equal(put.headers['allow'], 'GET, HEAD');
  const reg = await httpGet(port, '/v1/agent/service/register', { method: 'PUT', body: '{"Name":"x"}' });
  bad(reg, 405, /read-only.*swimd register/);
  bad(await httpGet(port, '/v1/kv/some/key'), 404, /no such endpoint/);
  bad(await httpGet(port, '/v2/nothing'), 404, /no such endpoint/);

  // Counted by endpoint pattern and status in the agent's metrics (never by raw path).
  const metrics = (await call(agent.config.socket, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /swimd_consul_requests_total\{endpoint="\/v1\/health\/service\/:name",code="400"\} \d+/);
  assert.match(metrics, /swimd_consul_requests_total\{endpoint="unmatched",code="404"\} 2/);
  assert.match(metrics, /swimd_consul_blocking_queries 0/);

  // Removal shows at once.
  await deregister(agent, 'db-1');
  assert.deepEqual(ok(await httpGet(port, '/v1/catalog/services')), { web: ['blue', 'http'] });
});

test('a draining instance carries a critical _service_maintenance check; a dead owner a critical serfHealth', async (t) => {
  const dir = tempDir(t);
  const { agent: a, port } = await startConsulAgent(t, dir, { name: 'a' });
  const b = await startAgent(t, dir, { name: 'b' });
  const joined = await a.join([`127.0.0.1:${b.address.port}`]);
  assert.equal(joined.joined, 1);
  await register(a, { id: 'web-a', name: 'web', port: 8080 });
  await register(b, { id: 'web-b', name: 'web', port: 8081 });
  await waitFor('b\'s instance at a', async () => list(await httpGet(port, '/v1/health/service/web')).length === 2, 10_000);

  await post(a, '/v1/services/web-a/drain');
  const drained = list(await httpGet(port, '/v1/health/service/web')).find((e) => (e['Service'] as Obj)['ID'] === 'web-a')!;
  const maint = checksOf(drained).find((c) => c.CheckID === '_service_maintenance:web-a');
  assert.ok(maint !== undefined, JSON.stringify(drained));
  assert.equal(maint.Status, 'critical');
  assert.equal(aggregatedStatus(checksOf(drained)), 'maintenance');
  assert.deepEqual((drained['Service'] as Obj)['Weights'], { Passing: 0, Warning: 0 });
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?passing')).map((e) => (e['Service'] as Obj)['ID']), ['web-b']);
  await post(a, '/v1/services/web-a/undrain');

  await b.stop();
  const dead = await waitFor('b declared dead at a', async () => {
    const e = list(await httpGet(port, '/v1/health/service/web')).find((x) => (x['Service'] as Obj)['ID'] === 'web-b');
    const serf = e === undefined ? undefined : checksOf(e).find((c) => c.CheckID === 'serfHealth');
    return serf?.Status === 'critical' ? e : null;
  }, 20_000);
  assert.equal(aggregatedStatus(checksOf(dead!)), 'critical');
  assert.deepEqual(list(await httpGet(port, '/v1/health/service/web?passing')).map((e) => (e['Service'] as Obj)['ID']), ['web-a']);
  const states = list(await httpGet(port, '/v1/health/state/critical'));
  assert.ok(states.some((c) => c['Node'] === 'b' && c['CheckID'] === 'serfHealth'), JSON.stringify(states));
});

test('Weights follow the effective weight: own weights as they are, a split scaled to integers with its proportions', () => {
  const member = { name: 'n1', host: '10.0.0.1', port: 7946, incarnation: 1, status: 'alive' as const };
  const view = (id: string, version: string, weight: number, extra: Partial<ServiceView> = {}): ServiceView => ({
    node: 'n1', id, name: 'web', address: '10.0.0.1', port: 80, tags: [], meta: {}, version, weight, health: 'passing', draining: false, rev: 1, ...extra,
  });
  const plain = instances([view('a', 'v1', 3), view('b', 'v1', 1), view('c', 'v1', 5, { draining: true })], [member]);
  assert.deepEqual(plain.map((i) => [i.view.id, i.weight, i.routable]), [['a', 3, true], ['b', 1, true], ['c', 0, false]]);
  const split = instances([view('a', 'v1', 1), view('b', 'v1', 1), view('c', 'v2', 1)], [member], () => ({ v1: 90, v2: 10 }));
  const w = new Map(split.map((i) => [i.view.id, i.weight]));
  assert.ok([...w.values()].every((x) => Number.isInteger(x) && x > 0));
  const total = [...w.values()].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(w.get('c')! / total - 0.1) < 0.01, JSON.stringify([...w]));
  assert.equal(w.get('a'), w.get('b'));
});

/** Writes `text` on a fresh connection and returns everything read until the server closes it. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
