import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfigServices } from '../daemon/config/config-services.js';
import { ConfigError, resolveConfig } from '../daemon/config/config.js';
import { Invalid } from '../daemon/config/config-fields.js';
import { formatDuration, parseDuration } from '../client/contract/duration.js';
import { call, field, type Res, startAgent, tempDir } from './helpers/local-agent.js';

type Entry = Record<string, unknown>;

function entries(r: Res): Entry[] {
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.body), r.text);
  return r.body as Entry[];
}

function expectError(r: Res, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(field(r, 'error')), pattern);
}

test('durations: units required, shortest exact form back', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.throws(() => parseDuration('5'), /a unit is required/);
  assert.throws(() => parseDuration('-1s'), /expected a duration/);
  assert.throws(() => parseDuration(5), /duration string/);
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(60_000), '1m');
});

test('register, list with filters, update, drain, undrain, deregister', async (t) => {
  const dir = tempDir(t);
  const agent = await startAgent(t, dir);
  const sock = agent.config.socket;

  const reg = await call(sock, 'PUT', '/v1/services', { name: 'web', port: 8080, tags: ['v1', 'blue'], meta: { zone: 'a' }, version: '1.2.3' });
  assert.equal(reg.status, 200, reg.text);
  assert.deepEqual({ ...(reg.body as Entry), rev: 0 }, {
    node: 'n1', id: 'web', name: 'web', address: agent.address.host, port: 8080, tags: ['v1', 'blue'], meta: { zone: 'a' },
    version: '1.2.3', weight: 1, health: 'passing', draining: false, rev: 0, effective_weight: 1,
  });
  const rev1 = field(reg, 'rev') as number;
  assert.ok(rev1 > 0);
  assert.equal(field(await call(sock, 'PUT', '/v1/services', { name: 'db', id: 'db-1', port: 5432, address: '10.1.1.1' }), 'id'), 'db-1');

  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services')).map((e) => e['id']), ['db-1', 'web']);
  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services?name=web')).map((e) => e['id']), ['web']);
  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services?tag=blue&tag=v1')).map((e) => e['id']), ['web']);
  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services?tag=blue&tag=v2')), []);
  assert.equal(entries(await call(sock, 'GET', '/v1/services?passing=1')).length, 2);
  expectError(await call(sock, 'GET', '/v1/services?passing=maybe'), 400, /passing: expected 1, true, 0 or false/);
  expectError(await call(sock, 'GET', '/v1/services?tags=x'), 400, /unknown query parameter "tags"/);

  // The same id again updates, with a higher version.
  const upd = await call(sock, 'PUT', '/v1/services', { name: 'web', port: 8081 });
  assert.equal(field(upd, 'port'), 8081);
  assert.ok((field(upd, 'rev') as number) > rev1);
  assert.equal(entries(await call(sock, 'GET', '/v1/services?name=web')).length, 1);

  const drained = await call(sock, 'POST', '/v1/services/web/drain');
  assert.equal(field(drained, 'draining'), true);
  assert.equal(field(await call(sock, 'POST', '/v1/services/web/undrain'), 'draining'), false);
  expectError(await call(sock, 'POST', '/v1/services/nope/drain'), 404, /no service instance "nope"/);

  const del = await call(sock, 'DELETE', '/v1/services/web');
  assert.equal(del.status, 200, del.text);
  assert.equal(field(del, 'deregistered'), true);
  assert.ok((field(del, 'rev') as number) > (field(upd, 'rev') as number));
  expectError(await call(sock, 'DELETE', '/v1/services/web'), 404, /no service instance "web"/);
  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services')).map((e) => e['id']), ['db-1']);
});

test('every body field is validated, with the field named', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  const bad = async (body: unknown, fieldName: string, pattern: RegExp): Promise<void> => {
    const r = await call(sock, 'PUT', '/v1/services', body);
    expectError(r, 400, pattern);
    assert.equal(field(r, 'field'), fieldName, r.text);
  };
  await bad({ name: 'web', port: 80, colour: 'red' }, 'colour', /unknown field; known fields: id, name/);
  await bad({ name: 'web' }, 'port', /expected an integer between 1 and 65535, got undefined/);
  await bad({ name: 'web', port: 70000 }, 'port', /between 1 and 65535/);
  await bad({ port: 80 }, 'name', /expected a string/);
  await bad({ name: 'web', port: 80, address: 'not an address' }, 'address', /expected an IP address or a host name/);
  await bad({ name: 'web', id: 'a b', port: 80 }, 'id', /may hold letters, digits/);
  await bad({ name: 'web', port: 80, tags: 'x' }, 'tags', /expected an array of strings/);
  await bad({ name: 'web', port: 80, tags: ['ok', 3] }, 'tags[1]', /expected a string/);
  await bad({ name: 'web', port: 80, meta: { a: 1 } }, 'meta.a', /expected a string/);
  await bad({ name: 'web', port: 80, weight: 1.5 }, 'weight', /expected an integer/);
  await bad({ name: 'web', port: 80, weight: 70_000 }, 'weight', /must be an integer in \[0, 65535\]/);
  await bad({ name: 'web', port: 80, check: { http: 'http://x/', tcp: 'x:1' } }, 'check', /only one of http, tcp or ttl/);
  await bad({ name: 'web', port: 80, check: {} }, 'check', /expected one of http, tcp or ttl/);
  await bad({ name: 'web', port: 80, check: { http: 'ftp://x/' } }, 'check.http', /http:\/\/ or https:\/\//);
  await bad({ name: 'web', port: 80, check: { tcp: 'nohost' } }, 'check.tcp', /expected host:port/);
  await bad({ name: 'web', port: 80, check: { http: 'http://x/', interval: '10' } }, 'check.interval', /a unit is required/);
  await bad({ name: 'web', port: 80, check: { http: 'http://x/', interval: '100ms' } }, 'check.interval', /between 1s and 1h/);
  await bad({ name: 'web', port: 80, check: { http: 'http://x/', interval: '2s', timeout: '5s' } }, 'check.timeout', /not be longer than the interval/);
  await bad({ name: 'web', port: 80, check: { ttl: '30s', interval: '10s' } }, 'check.interval', /applies only to http and tcp/);
  await bad({ name: 'web', port: 80, check: { http: 'http://x/', success_before_passing: 0 } }, 'check.success_before_passing', /between 1 and 100/);
  await bad([1], 'body', /expected an object/);

  expectError(await call(sock, 'PUT', '/v1/services', '{"name":'), 400, /malformed JSON/);
  // A bad wait is refused before anything is registered.
  expectError(await call(sock, 'PUT', '/v1/services?wait=soon', { name: 'web', port: 80 }), 400, /wait: expected a duration/);
  expectError(await call(sock, 'PUT', '/v1/services?wait=10m', { name: 'web', port: 80 }), 400, /wait: expected a duration between 1ms and 5m/);
  assert.deepEqual(entries(await call(sock, 'GET', '/v1/services')), []);

  // An entry that cannot fit in one packet: 413, with the reason.
  const meta: Record<string, string> = {};
  for (let i = 0; i < 32; i++) meta[`key${i}`] = 'v'.repeat(200);
  expectError(await call(sock, 'PUT', '/v1/services', { name: 'big', port: 80, meta }), 413, /encodes to \d+ bytes; at most \d+ fit/);
});

test('TTL check reports: 404 unknown id, 409 for a service without a TTL check, health follows', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  const ttl = await call(sock, 'PUT', '/v1/services', { name: 'job', port: 9000, check: { ttl: '30s' } });
  assert.equal(field(ttl, 'health'), 'critical', 'a checked instance starts critical');
  await call(sock, 'PUT', '/v1/services', { name: 'plain', port: 9001 });
  await call(sock, 'PUT', '/v1/services', { name: 'probed', port: 9002, check: { tcp: '127.0.0.1:9' } });

  expectError(await call(sock, 'POST', '/v1/checks/none/pass'), 404, /no service instance "none"/);
  expectError(await call(sock, 'POST', '/v1/checks/plain/pass'), 409, /has no health check/);
  expectError(await call(sock, 'POST', '/v1/checks/probed/pass'), 409, /tcp check.*only TTL checks take reports/);
  expectError(await call(sock, 'POST', '/v1/checks/job/pass', { note: 1 }), 400, /note: expected a string/);
  expectError(await call(sock, 'POST', '/v1/checks/job/pass', { text: 'x' }), 400, /unknown field/);

  const pass = await call(sock, 'POST', '/v1/checks/job/pass');
  assert.equal(field(pass, 'health'), 'passing', pass.text);
  assert.equal(field(await call(sock, 'POST', '/v1/checks/job/warn', { note: 'queue deep' }), 'health'), 'warning');
  assert.equal(field(await call(sock, 'POST', '/v1/checks/job/fail'), 'health'), 'critical');
  assert.equal(field(await call(sock, 'POST', '/v1/checks/job/pass?wait=1s'), 'health'), 'passing');

  // Re-registering with the same check keeps the health; a changed check starts critical again.
  assert.equal(field(await call(sock, 'PUT', '/v1/services', { name: 'job', port: 9000, tags: ['x'], check: { ttl: '30s' } }), 'health'), 'passing');
  assert.equal(field(await call(sock, 'PUT', '/v1/services', { name: 'job', port: 9000, check: { ttl: '40s' } }), 'health'), 'critical');

  const metrics = (await call(sock, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /swimd_checks\{type="ttl"\} 1/);
  assert.match(metrics, /swimd_checks_run_total\{type="ttl"\} 4/);
  assert.match(metrics, /swimd_checks_failed_total\{type="ttl"\} 1/);
  assert.match(metrics, /swimd_local_services\{health="critical"\} 2/);
  assert.match(metrics, /swimd_services\{health="passing"\} 1/);
});

test('?wait on a single agent completes at once, for every mutation', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  const r = await call(sock, 'PUT', '/v1/services?wait=5s', { name: 'web', port: 80 });
  assert.equal(r.status, 200, r.text);
  const w = field(r, 'wait') as Entry;
  assert.equal(w['done'], true);
  assert.equal(w['confirmed'], 0);
  assert.ok((w['elapsed_ms'] as number) < 1000);
  assert.equal((field(await call(sock, 'POST', '/v1/services/web/drain?wait', undefined), 'wait') as Entry)['timeout_ms'], 30_000);
  assert.equal((field(await call(sock, 'POST', '/v1/services/web/undrain?wait=', undefined), 'wait') as Entry)['done'], true);
  const del = await call(sock, 'DELETE', '/v1/services/web?wait=1s');
  assert.equal(del.status, 200, del.text);
  assert.equal((field(del, 'wait') as Entry)['done'], true, 'a wait works on the tombstone');
  assert.match((await call(sock, 'GET', '/v1/metrics')).text, /swimd_barriers_total\{result="done"\} 4/);
});

test('register ?wait of a checked instance waits for its check to pass; 504 when it never does', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  // A TTL check passes when the instance reports; report 300 ms into the wait.
  const pending = call(sock, 'PUT', '/v1/services?wait=5s', { name: 'job', port: 9000, check: { ttl: '30s' } });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(field(await call(sock, 'POST', '/v1/checks/job/pass'), 'health'), 'passing');
  const r = await pending;
  assert.equal(r.status, 200, r.text);
  assert.equal(field(r, 'health'), 'passing', 'the answer shows the passing entry');
  assert.equal((field(r, 'wait') as Entry)['done'], true);

  const never = await call(sock, 'PUT', '/v1/services?wait=400ms', { name: 'stuck', port: 9001, check: { ttl: '30s' } });
  expectError(never, 504, /registered stuck, but its check has not passed within 400ms/);
  assert.equal(field(never, 'health'), 'critical');

  // The same registration again is no change: same version.
  const a = await call(sock, 'PUT', '/v1/services', { name: 'plain', port: 9002 });
  const b = await call(sock, 'PUT', '/v1/services', { name: 'plain', port: 9002 });
  assert.equal(field(a, 'rev'), field(b, 'rev'));
});

test('?wait with two agents: confirmed by the peer; 504 naming it once it stops answering', async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'a', profile: 'lan' });
  const b = await startAgent(t, dir, { name: 'b', profile: 'lan' });
  const joined = await a.join([`127.0.0.1:${b.address.port}`]);
  assert.equal(joined.joined, 1);
  const sock = a.config.socket;
  const ok = await call(sock, 'PUT', '/v1/services?wait=5s', { name: 'web', port: 80 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((field(ok, 'wait') as Entry)['confirmed'], 1);
  const seen = entries(await call(b.config.socket, 'GET', '/v1/services'));
  assert.deepEqual(seen.map((e) => `${e['node']}/${e['id']}`), ['a/web']);
  // A deregistration waits for the tombstone.
  await call(sock, 'PUT', '/v1/services', { name: 'tmp', port: 81 });
  const del = await call(sock, 'DELETE', '/v1/services/tmp?wait=5s');
  assert.equal(del.status, 200, del.text);
  assert.equal((field(del, 'wait') as Entry)['confirmed'], 1);
  assert.deepEqual(entries(await call(b.config.socket, 'GET', '/v1/services?name=tmp')), [], 'the peer holds the tombstone');

  await b.stop();
  const late = await call(sock, 'PUT', '/v1/services?wait=300ms', { name: 'web', port: 81 });
  expectError(late, 504, /not confirmed by 1 member within 300ms: b/);
  assert.deepEqual(field(late, 'pending'), ['b']);
  assert.equal(field(late, 'confirmed'), 0);
  assert.equal(field(late, 'port'), 81, 'the change itself was made');
  assert.match((await call(sock, 'GET', '/v1/metrics')).text, /swimd_barriers_total\{result="timeout"\} 1/);
});

test('registrations, drain state and the catalog revision survive a restart', async (t) => {
  const dir = tempDir(t);
  let agent = await startAgent(t, dir);
  let sock = agent.config.socket;
  await call(sock, 'PUT', '/v1/services', { name: 'web', port: 8080, tags: ['a'], check: { ttl: '1m' } });
  await call(sock, 'PUT', '/v1/services', { name: 'api', port: 9090, meta: { k: 'v' } });
  await call(sock, 'PUT', '/v1/services', { name: 'gone', port: 9191 });
  await call(sock, 'DELETE', '/v1/services/gone');
  const drained = await call(sock, 'POST', '/v1/services/api/drain');
  const lastRev = field(drained, 'rev') as number;
  await agent.stop();

  const saved = JSON.parse(readFileSync(join(dir, 'n1-data', 'services.json'), 'utf8')) as { revision: number; services: Entry[] };
  assert.ok(saved.revision > lastRev, 'the saved revision is a ceiling above every version used');
  assert.deepEqual(saved.services.map((s) => s['id']).sort(), ['api', 'web']);

  agent = await startAgent(t, dir);
  sock = agent.config.socket;
  const list = entries(await call(sock, 'GET', '/v1/services'));
  assert.deepEqual(list.map((e) => e['id']), ['api', 'web']);
  const [api, web] = list as [Entry, Entry];
  assert.equal(api['draining'], true);
  assert.deepEqual(api['meta'], { k: 'v' });
  assert.equal(web['health'], 'critical', 'a checked instance starts critical again after a restart');
  assert.deepEqual(web['tags'], ['a']);
  for (const e of list) assert.ok((e['rev'] as number) > lastRev, 'versions keep rising across a restart');
  assert.equal(field(await call(sock, 'POST', '/v1/checks/web/pass'), 'health'), 'passing', 'the TTL check came back too');
});

test('a damaged services.json is copied aside and what is valid in it is kept', async (t) => {
  const dir = tempDir(t);
  let agent = await startAgent(t, dir);
  await call(agent.config.socket, 'PUT', '/v1/services', { name: 'web', port: 8080 });
  await agent.stop();
  const path = join(dir, 'n1-data', 'services.json');
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { services: unknown[] };
  saved.services.push({ name: 'bad', port: 'x' });
  writeFileSync(path, JSON.stringify(saved));
  agent = await startAgent(t, dir);
  assert.deepEqual(entries(await call(agent.config.socket, 'GET', '/v1/services')).map((e) => e['id']), ['web']);
  const { readdirSync } = await import('node:fs');
  assert.ok(readdirSync(join(dir, 'n1-data')).some((f) => f.startsWith('services.json.bad-')));
});

test('a services.json whose revision is no 32-bit counter keeps its registrations; the agent starts and counts from 0', async (t) => {
  const dir = tempDir(t);
  let agent = await startAgent(t, dir);
  await call(agent.config.socket, 'PUT', '/v1/services', { name: 'web', port: 8080 });
  await agent.stop();
  const path = join(dir, 'n1-data', 'services.json');
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { revision: unknown };
  saved.revision = 2 ** 40;
  writeFileSync(path, JSON.stringify(saved));
  agent = await startAgent(t, dir);
  const list = entries(await call(agent.config.socket, 'GET', '/v1/services'));
  assert.deepEqual(list.map((e) => e['id']), ['web']);
  assert.ok((list[0]?.['rev'] as number) <= 0xffff_ffff);
});

test('config-file services: validated, registered at start, owned by the file, reloaded', async (t) => {
  assert.throws(() => parseConfigServices([{ name: 'web', port: 80 }, { name: 'web', port: 81 }]), (e: unknown) =>
    e instanceof Invalid && /element 1: id "web" is also used by element 0/.test(e.message));
  const dir = tempDir(t);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ services: [{ name: 'web', port: 80, check: { http: 'gopher://x' } }] }));
  assert.throws(() => resolveConfig({ config: bad }), (e: unknown) =>
    e instanceof ConfigError && e.message.includes(`config ${bad}: field "services": element 0: check.http: expected an http:// or https:// URL`));

  const agent = await startAgent(t, dir, {
    config: { services: [{ name: 'web', port: 8080, tags: ['cfg'] }, { name: 'db', port: 5432, check: { tcp: '127.0.0.1:9' } }] },
  });
  const sock = agent.config.socket;
  const list = entries(await call(sock, 'GET', '/v1/services'));
  assert.deepEqual(list.map((e) => `${e['id']}:${e['health']}`), ['db:critical', 'web:passing']);
  expectError(await call(sock, 'PUT', '/v1/services', { name: 'web', port: 9999 }), 409, /defined in the config file/);
  expectError(await call(sock, 'DELETE', '/v1/services/web'), 409, /defined in the config file/);
  assert.equal(field(await call(sock, 'POST', '/v1/services/web/drain'), 'draining'), true, 'drain works on config services');
  await call(sock, 'PUT', '/v1/services', { name: 'mine', port: 7000 });

  // A reload: web changed, db removed, cache added; the API's "mine" is left alone; a clash is skipped.
  const before = list.find((e) => e['id'] === 'web') as Entry;
  const { parseRegistration } = await import('../client/contract/registration.js');
  agent.reloadServices([
    parseRegistration({ name: 'web', port: 8080, tags: ['cfg', 'v2'] }),
    parseRegistration({ name: 'cache', port: 6379 }),
    parseRegistration({ name: 'mine', port: 1 }),
  ]);
  const after = entries(await call(sock, 'GET', '/v1/services'));
  assert.deepEqual(after.map((e) => e['id']), ['cache', 'mine', 'web']);
  const web = after.find((e) => e['id'] === 'web') as Entry;
  assert.deepEqual(web['tags'], ['cfg', 'v2']);
  assert.ok((web['rev'] as number) > (before['rev'] as number));
  assert.equal(web['draining'], true, 'a reload keeps the drain state');
  assert.equal((after.find((e) => e['id'] === 'mine') as Entry)['port'], 7000);
  // Config services are not saved: the file is the source.
  await agent.stop();
  const saved = JSON.parse(readFileSync(join(dir, 'n1-data', 'services.json'), 'utf8')) as { services: Entry[] };
  assert.deepEqual(saved.services.map((s) => s['id']), ['mine']);
});

test('a config service the core refuses stops start-up with the field and the reason', async (t) => {
  const dir = tempDir(t);
  const meta: Record<string, string> = {};
  for (let i = 0; i < 32; i++) meta[`key${i}`] = 'v'.repeat(200);
  await assert.rejects(startAgent(t, dir, { config: { services: [{ name: 'big', port: 80, meta }] } }), (e: unknown) =>
    e instanceof ConfigError && /field "services": id "big": the entry encodes to \d+ bytes/.test(e.message));
  // Start-up failed cleanly: the socket is gone and the data dir is free for the next start.
  assert.equal(existsSync(join(dir, 'n1.sock')), false);
  const agent = await startAgent(t, dir);
  assert.equal((await call(agent.config.socket, 'GET', '/v1/services')).status, 200);
});
