import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import type { Health } from '../protocol/messages.js';
import { CatalogMetrics } from '../daemon/services/catalog-metrics.js';
import { CHECK_DEFAULTS, type CheckSpec, parseCheck } from '../client/contract/check.js';
import { Damper } from '../daemon/services/checks/damping.js';
import { httpCheck } from '../daemon/services/checks/http-check.js';
import { CheckRunner, type Probes } from '../daemon/services/checks/runner.js';
import { Slots } from '../daemon/services/checks/slots.js';
import { tcpCheck } from '../daemon/services/checks/tcp-check.js';
import { TtlCheck } from '../daemon/services/checks/ttl-check.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { call, field, startAgent, tempDir, type TestCtx } from './helpers/local-agent.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A local HTTP server whose answer the test sets; counts requests. Closed when the test ends. */
async function httpServer(t: TestCtx): Promise<{ url: string; server: HttpServer; answer: (res: ServerResponse) => void; requests: () => number; set: (f: (res: ServerResponse) => void) => void }> {
  let handler = (res: ServerResponse): void => {
    res.end('ok');
  };
  let count = 0;
  const server = createHttpServer((_req, res) => {
    count++;
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`, server, answer: (res) => handler(res), requests: () => count,
    set: (f) => {
      handler = f;
    },
  };
}

function status(code: number, body = ''): (res: ServerResponse) => void {
  return (res) => {
    res.statusCode = code;
    res.end(body);
  };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s: Server = createTcpServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const never = new AbortController().signal;

test('HTTP check: 2xx passing, 429 warning, other statuses and redirects critical', async (t) => {
  const s = await httpServer(t);
  assert.equal((await httpCheck(s.url, 1000, never)).health, 'passing');
  s.set(status(204));
  assert.equal((await httpCheck(s.url, 1000, never)).health, 'passing');
  s.set(status(429, 'slow down'));
  const warn = await httpCheck(s.url, 1000, never);
  assert.deepEqual(warn, { health: 'warning', output: 'HTTP 429: slow down' });
  s.set(status(500));
  assert.equal((await httpCheck(s.url, 1000, never)).health, 'critical');
  s.set((res) => {
    res.statusCode = 302;
    res.setHeader('Location', '/elsewhere');
    res.end();
  });
  const redirect = await httpCheck(s.url, 1000, never);
  assert.equal(redirect.health, 'critical');
  assert.match(redirect.output, /redirects are not followed/);
  assert.equal(s.requests(), 5, 'the redirect was not followed');
});

test('HTTP check: timeout, refused connection, body read only up to the cap', async (t) => {
  const s = await httpServer(t);
  s.set(() => undefined); // never answers
  const started = Date.now();
  const slow = await httpCheck(s.url, 200, never);
  assert.equal(slow.health, 'critical');
  assert.match(slow.output, /no answer within 200 ms/);
  assert.ok(Date.now() - started < 1000);

  // An endless body: the check ends once the cap is read.
  s.set((res) => {
    res.statusCode = 200;
    const chunk = 'x'.repeat(16 * 1024);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  const big = await httpCheck(s.url, 2000, never);
  assert.equal(big.health, 'passing');
  assert.ok(big.output.length <= DAEMON_LIMITS.checkHttpBodyBytesMax + 20, `output of ${big.output.length} chars`);

  const port = await closedPort();
  const refused = await httpCheck(`http://127.0.0.1:${port}/`, 1000, never);
  assert.equal(refused.health, 'critical');
  assert.match(refused.output, /ECONNREFUSED/);

  const ac = new AbortController();
  s.set(() => undefined);
  const pending = httpCheck(s.url, 5000, ac.signal);
  ac.abort();
  assert.deepEqual(await pending, { health: 'critical', output: 'check cancelled' });
});

test('TCP check: accepted connection passes, refused and unreachable fail', async (t) => {
  const server = createTcpServer((sock) => sock.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  assert.equal((await tcpCheck('127.0.0.1', port, 1000, never)).health, 'passing');
  const refused = await tcpCheck('127.0.0.1', await closedPort(), 1000, never);
  assert.equal(refused.health, 'critical');
  assert.match(refused.output, /ECONNREFUSED/);
});

test('damping: thresholds in a row, warnings count as successes', () => {
  const d = new Damper({ successBeforePassing: 2, failuresBeforeCritical: 3 }, 'critical');
  assert.equal(d.observe('passing'), 'critical');
  assert.equal(d.observe('passing'), 'passing');
  assert.equal(d.observe('critical'), 'passing');
  assert.equal(d.observe('critical'), 'passing');
  assert.equal(d.observe('passing'), 'passing', 'a success resets the failure count');
  assert.equal(d.observe('critical'), 'passing');
  assert.equal(d.observe('critical'), 'passing');
  assert.equal(d.observe('critical'), 'critical');
  assert.equal(d.observe('warning'), 'critical');
  assert.equal(d.observe('warning'), 'warning');
  assert.equal(d.observe('passing'), 'passing', 'past the threshold each success reports itself');
  const eager = new Damper({ successBeforePassing: 1, failuresBeforeCritical: 1 }, 'critical');
  assert.deepEqual((['passing', 'critical', 'warning'] as Health[]).map((h) => eager.observe(h)), ['passing', 'critical', 'warning']);
});

test('check definitions: defaults and bounds', () => {
  const c = parseCheck({ http: 'https://127.0.0.1/health' });
  assert.deepEqual(c, { kind: 'http', url: 'https://127.0.0.1/health', ...CHECK_DEFAULTS });
  assert.deepEqual(CHECK_DEFAULTS, { intervalMs: 10_000, timeoutMs: 2_000, successBeforePassing: 1, failuresBeforeCritical: 2 });
  const short = parseCheck({ tcp: '[::1]:5432', interval: '1s' });
  assert.deepEqual(short, { kind: 'tcp', host: '::1', port: 5432, intervalMs: 1000, timeoutMs: 1000, successBeforePassing: 1, failuresBeforeCritical: 2 });
  assert.deepEqual(parseCheck({ ttl: '90s' }), { kind: 'ttl', ttlMs: 90_000 });
  assert.throws(() => parseCheck({ ttl: '500ms' }), /check.ttl: expected a duration between 1s and 1d|check.ttl: expected a duration between 1s and 24h/);
});

test('slots bound concurrency and hand over in order', async () => {
  const slots = new Slots(2);
  await slots.acquire();
  await slots.acquire();
  const order: number[] = [];
  const third = slots.acquire().then(() => order.push(3));
  const fourth = slots.acquire().then(() => order.push(4));
  await sleep(5);
  assert.deepEqual(order, []);
  slots.release();
  await third;
  assert.deepEqual(order, [3]);
  slots.release();
  await fourth;
  assert.deepEqual(order, [3, 4]);
});

/** A runner with scripted probe results; records every health it reports. */
function scripted(results: Health[]): { runner: CheckRunner; reported: Health[]; metrics: CatalogMetrics; runs: () => number } {
  let runs = 0;
  const probe = async (): Promise<{ health: Health; output: string }> => {
    const health = results[Math.min(runs, results.length - 1)] as Health;
    runs++;
    return { health, output: health };
  };
  const probes: Probes = { http: probe, tcp: probe };
  const reported: Health[] = [];
  const metrics = new CatalogMetrics();
  const runner = new CheckRunner({ onHealth: (_id, h) => reported.push(h), metrics, log: silentLogger(), probes });
  return { runner, reported, metrics, runs: () => runs };
}

const fast = (over: Partial<Extract<CheckSpec, { kind: 'http' }>> = {}): CheckSpec => ({
  kind: 'http', url: 'http://127.0.0.1/', intervalMs: 20, timeoutMs: 20, successBeforePassing: 1, failuresBeforeCritical: 1, ...over,
});

test('runner: damping thresholds decide what reaches the catalog', async (t) => {
  const s = scripted(['passing', 'passing', 'critical', 'passing', 'critical', 'critical', 'critical']);
  t.after(() => s.runner.stop());
  s.runner.add('web', fast({ successBeforePassing: 2, failuresBeforeCritical: 2 }), 'critical');
  await until('seven runs', () => s.runs() >= 7);
  assert.deepEqual(s.reported, ['passing', 'critical']);
  assert.equal(s.metrics.checksRun.get('http'), s.runs());
  assert.ok((s.metrics.checksFailed.get('http') ?? 0) >= 4);
});

test('runner: a removed check stops running; stop() ends them all', async () => {
  const s = scripted(['passing']);
  s.runner.add('a', fast(), 'critical');
  s.runner.add('b', fast({ kind: 'http' }), 'critical');
  await until('both ran', () => s.runs() >= 4);
  s.runner.remove('a');
  assert.equal(s.runner.size, 1);
  s.runner.stop();
  const n = s.runs();
  await sleep(100);
  assert.ok(s.runs() <= n + 1, 'no runs after stop (one may have been in flight)');
  assert.equal(s.runner.size, 0);
});

test('TTL check: critical until reported, expires, renews', async () => {
  const changes: [Health, boolean][] = [];
  const ttl = new TtlCheck(150, 'critical', (h, _o, expired) => changes.push([h, expired]));
  await sleep(200);
  assert.deepEqual(changes, [], 'nothing expires before the first report');
  assert.equal(ttl.report('pass', ''), 'passing');
  await sleep(80);
  assert.equal(ttl.report('warn', 'busy'), 'warning', 'a report restarts the TTL');
  await sleep(100);
  assert.equal(ttl.health, 'warning');
  await sleep(120);
  assert.equal(ttl.health, 'critical');
  assert.equal(ttl.report('pass', ''), 'passing');
  ttl.stop();
  assert.deepEqual(changes, [['passing', false], ['warning', false], ['critical', true], ['passing', false]]);
});

test('runner: TTL reports and expiry through the runner', async (t) => {
  const s = scripted(['passing']);
  t.after(() => s.runner.stop());
  s.runner.add('job', { kind: 'ttl', ttlMs: 100 }, 'critical');
  assert.equal(s.runner.ttl('job', 'pass', ''), 'passing');
  await until('expiry', () => s.reported.length === 2);
  assert.deepEqual(s.reported, ['passing', 'critical']);
  assert.equal(s.metrics.checksRun.get('ttl'), 2);
  assert.equal(s.metrics.checksFailed.get('ttl'), 1);
  assert.throws(() => s.runner.ttl('other', 'pass', ''), /has no health check/);
});

test('agent: an HTTP check drives the instance health in the catalog, and stops with deregistration', async (t) => {
  const s = await httpServer(t);
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  const health = async (): Promise<unknown> => field(await call(sock, 'GET', '/v1/services?name=web').then((r) => ({ ...r, body: (r.body as unknown[])[0] })), 'health');

  // A slow first answer, so that the instance is seen before its first run has passed.
  s.set((res) => setTimeout(() => res.end('ok'), 300));
  const reg = await call(sock, 'PUT', '/v1/services', { name: 'web', port: 8080, check: { http: s.url, interval: '1s', timeout: '500ms', failures_before_critical: 1 } });
  assert.equal(field(reg, 'health'), 'critical', 'critical until the first run passes');
  await until('passing', async () => (await health()) === 'passing', 2_000);
  assert.equal(entriesPassing(await call(sock, 'GET', '/v1/services?passing=1')), 1);

  s.set(status(429));
  await until('warning', async () => (await health()) === 'warning', 3_000);
  s.set(status(500));
  await until('critical', async () => (await health()) === 'critical', 3_000);
  assert.equal(entriesPassing(await call(sock, 'GET', '/v1/services?passing=1')), 0);
  s.set(status(200));
  await until('passing again', async () => (await health()) === 'passing', 3_000);

  // The server goes away: critical.
  s.server.closeAllConnections();
  await new Promise<void>((r) => s.server.close(() => r()));
  await until('critical after the server stopped', async () => (await health()) === 'critical', 3_000);

  await call(sock, 'DELETE', '/v1/services/web');
  const metrics = (await call(sock, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /swimd_checks\{type="http"\} 0/);
  assert.match(metrics, /swimd_checks_run_total\{type="http"\} [1-9]/);
  assert.match(metrics, /swimd_checks_failed_total\{type="http"\} [1-9]/);
});

test('agent: a TCP check admits the instance once the port accepts', async (t) => {
  const port = await closedPort();
  const agent = await startAgent(t, tempDir(t));
  const sock = agent.config.socket;
  await call(sock, 'PUT', '/v1/services', { name: 'db', port, check: { tcp: `127.0.0.1:${port}`, interval: '1s', timeout: '200ms' } });
  const health = async (): Promise<unknown> => ((await call(sock, 'GET', '/v1/services')).body as { health: string }[])[0]?.health;
  await sleep(100);
  assert.equal(await health(), 'critical');
  const server = createTcpServer((c) => c.end());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  await until('passing', async () => (await health()) === 'passing', 3_000);
});

function entriesPassing(r: { body: unknown }): number {
  return Array.isArray(r.body) ? r.body.length : -1;
}
