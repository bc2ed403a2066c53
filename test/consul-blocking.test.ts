import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConsulServer, type ConsulSource } from '../daemon/consul/listener.js';
import { AgentEvents } from '../daemon/events.js';
import { silentLogger } from '../daemon/log.js';
import type { MemberView, ServiceView } from '../protocol/effects.js';
import { waitFor, within } from './helpers/cluster.js';
import { assertConsulHeaders, httpGet, type HttpRes, register, startConsulAgent } from './helpers/consul-http.js';
import { startAgent, tempDir, type TestCtx } from './helpers/local-agent.js';

/** A request in flight, and whether it has been answered yet. */
function pending(p: Promise<HttpRes>): { readonly answered: () => boolean; readonly res: Promise<HttpRes> } {
  let done = false;
  const res = p.finally(() => {
    done = true;
  });
  return { answered: () => done, res };
}

const ids = (r: HttpRes): unknown[] => (r.body as { Service: { ID: string } }[]).map((e) => e.Service.ID);

test('a register on another agent wakes the poll; a change to another service does not', async (t) => {
  const dir = tempDir(t);
  const { agent: a, port } = await startConsulAgent(t, dir, { name: 'a' });
  const b = await startAgent(t, dir, { name: 'b' });
  assert.equal((await a.join([`127.0.0.1:${b.address.port}`])).joined, 1);
  await register(b, { id: 'web-1', name: 'web', port: 8080 });
  await waitFor('web-1 at a', async () => ((await httpGet(port, '/v1/health/service/web')).body as unknown[]).length === 1, 10_000);

  const first = await httpGet(port, '/v1/health/service/web?stale&wait=120000ms');
  const webIndex = assertConsulHeaders(first);
  const servicesIndex = assertConsulHeaders(await httpGet(port, '/v1/catalog/services'));
  const web = pending(httpGet(port, `/v1/health/service/web?stale&wait=120000ms&index=${webIndex}`));
  const services = pending(httpGet(port, `/v1/catalog/services?stale&wait=120000ms&index=${servicesIndex}`));

  // db changes on b: seen at a, and web's poll sleeps on while the services list wakes.
  await register(b, { id: 'db-1', name: 'db', port: 5432 });
  await waitFor('db-1 at a', async () => ((await httpGet(port, '/v1/health/service/db')).body as unknown[]).length === 1, 10_000);
  const woken = await services.res;
  assert.ok(assertConsulHeaders(woken) > servicesIndex);
  assert.deepEqual(Object.keys(woken.body as object), ['db', 'web']);
  // A round trip through the same event loop after db's change: a wake of web would have answered.
  await httpGet(port, '/v1/agent/self');
  assert.equal(web.answered(), false, "db's change woke web's watcher");
  assert.equal(assertConsulHeaders(await httpGet(port, '/v1/health/service/web')), webIndex, "web's index moved with db's change");

  await register(b, { id: 'web-2', name: 'web', port: 8081 });
  const r = await web.res;
  assert.ok(assertConsulHeaders(r) > webIndex);
  assert.deepEqual(ids(r), ['web-1', 'web-2']);
});

test('an index the agent has not reached returns at once (reset); wait runs out with the same index', async (t) => {
  const { port } = await startConsulAgent(t, tempDir(t));
  const index = assertConsulHeaders(await httpGet(port, '/v1/health/service/web'));
  const ahead = await within(httpGet(port, `/v1/health/service/web?index=${index + 1_000_000}&wait=10m`), 10_000);
  assert.ok(ahead !== null, 'an index ahead of the agent was held instead of answered');
  assert.equal(ahead.status, 200);
  assert.equal(assertConsulHeaders(ahead), index);
  const timedOut = await httpGet(port, `/v1/health/service/web?index=${index}&wait=50ms`);
  assert.equal(timedOut.status, 200);
  assert.equal(assertConsulHeaders(timedOut), index);
});

test('indexes never go backwards across a restart', async (t) => {
  const dir = tempDir(t);
  let { agent, port } = await startConsulAgent(t, dir, { name: 'n1' });
  await register(agent, { id: 'web-1', name: 'web', port: 8080 });
  const before = assertConsulHeaders(await httpGet(port, '/v1/health/service/web'));
  const beforeList = assertConsulHeaders(await httpGet(port, '/v1/catalog/services'));
  await agent.stop();
  ({ agent, port } = await startConsulAgent(t, dir, { name: 'n1' }));
  const after = assertConsulHeaders(await httpGet(port, '/v1/health/service/web'));
  assert.ok(after > before, `${after} > ${before}`);
  assert.ok(assertConsulHeaders(await httpGet(port, '/v1/catalog/services')) > beforeList);
  // Prometheus's next poll carries the old index: it gets an answer at once, not a 10-minute hang.
  const r = await httpGet(port, `/v1/health/service/web?stale&wait=120000ms&index=${before}`);
  assert.deepEqual(ids(r), ['web-1']);
});

/** A ConsulServer over a fixed view, for limits a real agent would need thousands of clients to reach. */
async function fakeServer(t: TestCtx, dir: string, opts: { max?: number; clock?: () => number } = {}): Promise<{ server: ConsulServer; port: number; events: AgentEvents }> {
  const self: MemberView = { name: 'n1', host: '127.0.0.1', port: 7946, incarnation: 1, status: 'alive' };
  const services: ServiceView[] = [];
  const source: ConsulSource = { datacenter: 'dc1', nodeName: 'n1', version: 'test', self: () => self, members: () => [self], services: () => services };
  const events = new AgentEvents(silentLogger());
  const server = await ConsulServer.start({
    addr: { host: '127.0.0.1', port: 0 }, source, events, dataDir: dir, log: silentLogger(),
    ...(opts.max === undefined ? {} : { blockingQueriesMax: opts.max }), ...(opts.clock === undefined ? {} : { clock: opts.clock }),
  });
  t.after(() => server.close());
  return { server, port: server.address.port, events };
}

test('the reservation in the data dir keeps indexes rising when the clock steps back', async (t) => {
  const dir = tempDir(t);
  const now = Date.now();
  const first = await fakeServer(t, dir, { clock: () => now });
  const i1 = assertConsulHeaders(await httpGet(first.port, '/v1/catalog/services'));
  await first.server.close();
  const reserved = (JSON.parse(readFileSync(join(dir, 'consul-index.json'), 'utf8')) as { reserved: number }).reserved;
  assert.ok(reserved > i1);
  const second = await fakeServer(t, dir, { clock: () => now - 3_600_000 });
  const i2 = assertConsulHeaders(await httpGet(second.port, '/v1/catalog/services'));
  assert.ok(i2 > reserved, `${i2} > ${reserved}`);
});

test('the blocking-query cap answers 429 with a message; a client that goes frees its slot; shutdown answers the rest', async (t) => {
  const { server, port } = await fakeServer(t, tempDir(t), { max: 3 });
  const index = assertConsulHeaders(await httpGet(port, '/v1/catalog/services'));
  const aborts = [new AbortController(), new AbortController(), new AbortController()];
  const held = aborts.map((a) => pending(httpGet(port, `/v1/catalog/services?index=${index}&wait=5m`, { signal: a.signal }).catch((e: unknown) => e as HttpRes)));
  await waitFor('3 polls held', () => server.blockingQueries === 3, 5_000);
  // A short wait, so that a missing cap fails here instead of holding the test.
  const refused = await httpGet(port, `/v1/health/service/web?index=${index}&wait=1s`);
  assert.equal(refused.status, 429);
  assert.match(refused.text, /too many blocking queries on this agent \(3 held\)/);
  assertConsulHeaders(refused);
  assert.match(server.metricsText(), /swimd_consul_blocking_refused_total 1\n/);
  assert.match(server.metricsText(), /swimd_consul_blocking_queries 3\n/);
  // Answers that do not block are still served.
  assert.equal((await httpGet(port, '/v1/catalog/services')).status, 200);

  aborts[0]!.abort();
  await waitFor('the slot of the client that left', () => server.blockingQueries === 2, 5_000);
  const again = pending(httpGet(port, `/v1/catalog/services?index=${index}&wait=5m`));
  await waitFor('3 polls held again', () => server.blockingQueries === 3, 5_000);

  await server.close();
  for (const p of [held[1]!, held[2]!, again]) {
    const r = await p.res;
    assert.equal(r.status, 200);
    assert.equal(assertConsulHeaders(r), index);
  }
  assert.equal(server.blockingQueries, 0);
});

test('a keep-alive client polls again and again on one connection without piling up listeners', async (t) => {
  const { server, port } = await fakeServer(t, tempDir(t));
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const sockets = new Set<unknown>();
  let index = 0;
  for (let i = 0; i < 20; i++) {
    const r = await new Promise<{ index: number }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/v1/catalog/services?index=${index}&wait=5ms`, agent }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve({ index: Number(res.headers['x-consul-index']) }));
      });
      req.on('error', reject);
      req.end();
    });
    index = r.index;
  }
  assert.equal(sockets.size, 1, 'one connection reused');
  assert.deepEqual(warnings, []);
  assert.equal(server.blockingQueries, 0);
});
