import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MemberView } from '../protocol/effects.js';
import type { JoinResult } from '../client/contract/json.js';
import type { AgentApi, AgentInfo } from '../daemon/api/agent-api.js';
import { buildRoutes } from '../daemon/routes.js';
import type { Route } from '../daemon/api/router.js';
import { ApiServer } from '../daemon/api/server.js';
import { SocketInUseError } from '../daemon/api/socket-file.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';
import { EventLog } from '../daemon/watch/event-log.js';

type TestCtx = { after: (fn: () => void | Promise<void>) => void };

class FakeAgent implements AgentApi {
  joins: string[][] = [];
  leaves = 0;
  readonly list: MemberView[] = [
    { name: 'b', host: '10.0.0.2', port: 7946, incarnation: 3, status: 'suspect' },
    { name: 'a', host: '10.0.0.1', port: 7946, incarnation: 1, status: 'alive' },
  ];
  members(): readonly MemberView[] {
    return this.list;
  }
  info(): AgentInfo {
    return {
      name: 'a', address: '10.0.0.1', port: 7946, members: 2, alive: 1, profile: 'lan', cluster: 'default',
      version: '0.0.0', incarnation: 1, local_health: 0, uptime_s: 5,
    };
  }
  async join(seeds: readonly string[]): Promise<JoinResult> {
    this.joins.push([...seeds]);
    return { joined: seeds.length, failed: [] };
  }
  requestLeave(): void {
    this.leaves++;
  }
  metricsText(): string {
    return '# TYPE swimd_up gauge\nswimd_up 1\n';
  }
}

function tempDir(t: TestCtx): string {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-api-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startApi(t: TestCtx, socketPath: string, extra: Route[] = []): Promise<{ api: ApiServer; agent: FakeAgent; metrics: Metrics }> {
  const agent = new FakeAgent();
  const metrics = new Metrics();
  const watch = new EventLog({ members: () => agent.members(), services: () => [] }, 1000);
  const api = await ApiServer.start({ socketPath, routes: [...buildRoutes(agent, watch), ...extra], metrics, log: silentLogger() });
  t.after(() => api.close());
  return { api, agent, metrics };
}

interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

function call(socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorOf(r: Res): string {
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const parsed: unknown = JSON.parse(r.text);
  assert.ok(typeof parsed === 'object' && parsed !== null && typeof (parsed as Record<string, unknown>)['error'] === 'string', r.text);
  return (parsed as { error: string }).error;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

test('socket is created with mode 0660 and removed on close', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { api } = await startApi(t, sock);
  assert.equal(statSync(sock).mode & 0o777, 0o660);
  await api.close();
  assert.equal(existsSync(sock), false);
});

test('GET /v1/members lists members sorted, with a validated status filter', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  await startApi(t, sock);
  const all = await call(sock, 'GET', '/v1/members');
  assert.equal(all.status, 200);
  assert.deepEqual(JSON.parse(all.text), [
    { name: 'a', address: '10.0.0.1', port: 7946, status: 'alive', incarnation: 1 },
    { name: 'b', address: '10.0.0.2', port: 7946, status: 'suspect', incarnation: 3 },
  ]);
  const suspect = await call(sock, 'GET', '/v1/members?status=suspect');
  assert.deepEqual(JSON.parse(suspect.text).map((m: { name: string }) => m.name), ['b']);
  const both = await call(sock, 'GET', '/v1/members?status=suspect&status=alive');
  assert.equal(JSON.parse(both.text).length, 2);
  const bad = await call(sock, 'GET', '/v1/members?status=zombie');
  assert.equal(bad.status, 400);
  assert.match(errorOf(bad), /status: expected one of alive, suspect, dead, left, got "zombie"/);
});

test('GET /v1/info and /v1/metrics', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { metrics } = await startApi(t, sock);
  const info = await call(sock, 'GET', '/v1/info');
  assert.equal(info.status, 200);
  const body = JSON.parse(info.text) as Record<string, unknown>;
  for (const k of ['name', 'address', 'port', 'members', 'alive']) assert.ok(k in body, k);
  const m = await call(sock, 'GET', '/v1/metrics');
  assert.equal(m.status, 200);
  assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(m.text, /swimd_up 1/);
  assert.equal(metrics.apiRequests.get('GET /v1/info\u0000200'), 1);
});

test('POST /v1/join validates its body', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { agent } = await startApi(t, sock);
  const ok = await call(sock, 'POST', '/v1/join', JSON.stringify({ addresses: ['10.0.0.5:7946', 'seed.example'] }));
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.text), { joined: 2, failed: [] });
  assert.deepEqual(agent.joins, [['10.0.0.5:7946', 'seed.example']]);

  const malformed = await call(sock, 'POST', '/v1/join', '{"addresses": [');
  assert.equal(malformed.status, 400);
  assert.match(errorOf(malformed), /^malformed JSON: /);
  assert.match(errorOf(await call(sock, 'POST', '/v1/join')), /request body is empty/);
  assert.match(errorOf(await call(sock, 'POST', '/v1/join', '[]')), /expected a JSON object/);
  assert.match(errorOf(await call(sock, 'POST', '/v1/join', '{"addresses": []}')), /non-empty array/);
  assert.match(errorOf(await call(sock, 'POST', '/v1/join', '{"addresses": ["ok:1", "bad::host:"]}')), /^addresses\[1\]: expected host:port/);
  assert.match(errorOf(await call(sock, 'POST', '/v1/join', '{"addresses": ["a:1"], "x": 1}')), /unknown field "x"/);
  const many = JSON.stringify({ addresses: Array.from({ length: 65 }, (_, i) => `10.0.0.${i}:1`) });
  assert.match(errorOf(await call(sock, 'POST', '/v1/join', many)), /at most 64/);
  assert.equal(agent.joins.length, 1, 'no invalid join reached the agent');
});

test('oversized bodies get 413, declared or streamed', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { agent } = await startApi(t, sock);
  const big = Buffer.alloc(DAEMON_LIMITS.apiBodyBytesMax + 1, 0x20);
  const declared = await call(sock, 'POST', '/v1/join', big);
  assert.equal(declared.status, 413);
  assert.match(errorOf(declared), /larger than 65536 bytes/);
  const chunked = await call(sock, 'POST', '/v1/join', big, { 'Transfer-Encoding': 'chunked' });
  assert.equal(chunked.status, 413);
  assert.equal(agent.joins.length, 0);
  // A body exactly at the limit is still read (and here rejected only as JSON).
  const atLimit = Buffer.alloc(DAEMON_LIMITS.apiBodyBytesMax, 0x20);
  assert.equal((await call(sock, 'POST', '/v1/join', atLimit)).status, 400);
});

test('unknown routes get 404 and wrong methods 405, as JSON', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  await startApi(t, sock);
  const nf = await call(sock, 'GET', '/v1/nope');
  assert.equal(nf.status, 404);
  assert.match(errorOf(nf), /no such endpoint: GET \/v1\/nope/);
  const wrong = await call(sock, 'DELETE', '/v1/members');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers['allow'], 'GET');
  assert.match(errorOf(wrong), /not allowed/);
  assert.equal((await call(sock, 'PATCH', '/v1/join')).status, 405);
  assert.equal((await call(sock, 'GET', '/v1/members/')).status, 200, 'trailing slash');
});

test('POST /v1/leave answers before the agent leaves', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { agent } = await startApi(t, sock);
  const r = await call(sock, 'POST', '/v1/leave');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.text), { left: true });
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(agent.leaves, 1);
});

test('extra route files plug in: params and NDJSON streaming', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const extra: Route[] = [
    { method: 'GET', pattern: '/v1/things/:id', body: 'none', handle: (ctx) => ({ kind: 'json', status: 200, body: { id: ctx.params['id'] } }) },
    {
      method: 'GET', pattern: '/v1/stream', body: 'none',
      handle: () => ({
        kind: 'ndjson',
        run: async (sink) => {
          for (let i = 0; i < 3; i++) sink.send({ i });
        },
      }),
    },
  ];
  await startApi(t, sock, extra);
  assert.deepEqual(JSON.parse((await call(sock, 'GET', '/v1/things/a%2Fb')).text), { id: 'a/b' });
  assert.equal((await call(sock, 'GET', '/v1/things/%E0%A4%A')).status, 400);
  const s = await call(sock, 'GET', '/v1/stream');
  assert.equal(s.headers['content-type'], 'application/x-ndjson; charset=utf-8');
  assert.deepEqual(s.text.trim().split('\n').map((l) => JSON.parse(l)), [{ i: 0 }, { i: 1 }, { i: 2 }]);
});

test('a stale socket file from a crashed agent is replaced', async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'a.sock');
  // A second hard link keeps the socket inode after its listener is gone: exactly a crash's leftover.
  const old = createServer();
  await listen(old, join(dir, 'old.sock'));
  linkSync(join(dir, 'old.sock'), sock);
  await new Promise((r) => old.close(r));
  assert.ok(existsSync(sock));
  await startApi(t, sock);
  assert.equal((await call(sock, 'GET', '/v1/info')).status, 200);
});

test('a live socket is refused, and a non-socket file is left alone', async (t) => {
  const dir = tempDir(t);
  const sock = join(dir, 'a.sock');
  const other = createServer((c) => c.destroy());
  await listen(other, sock);
  t.after(() => new Promise<void>((r) => other.close(() => r())));
  await assert.rejects(
    ApiServer.start({ socketPath: sock, routes: [], metrics: new Metrics(), log: silentLogger() }),
    (e: unknown) => e instanceof SocketInUseError && e.message === `another agent is listening on ${sock}`,
  );
  assert.ok(existsSync(sock), 'the other agent keeps its socket');

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'precious');
  await assert.rejects(
    ApiServer.start({ socketPath: file, routes: [], metrics: new Metrics(), log: silentLogger() }),
    /exists and is not a socket/,
  );
  assert.equal(readFileSync(file, 'utf8'), 'precious');
});

test('unknown query parameters get 400 naming the parameter, on every route', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  const { agent } = await startApi(t, sock);
  const members = await call(sock, 'GET', '/v1/members?foo=1');
  assert.equal(members.status, 400);
  assert.match(errorOf(members), /unknown query parameter "foo"; known: status/);
  // A misspelt filter must not silently list everything.
  const typo = await call(sock, 'GET', '/v1/members?stauts=alive');
  assert.equal(typo.status, 400);
  const info = await call(sock, 'GET', '/v1/info?verbose=1');
  assert.equal(info.status, 400);
  assert.match(errorOf(info), /unknown query parameter "verbose"; this endpoint takes none/);
  assert.equal((await call(sock, 'GET', '/v1/metrics?x=1')).status, 400);
  assert.equal((await call(sock, 'GET', '/v1/watch?since=3')).status, 400);
  const joined = await call(sock, 'POST', '/v1/join?x=1', JSON.stringify({ addresses: ['10.0.0.9:7946'] }));
  assert.equal(joined.status, 400);
  assert.equal(agent.joins.length, 0, 'a refused request changes nothing');
  assert.equal((await call(sock, 'POST', '/v1/leave?now=1')).status, 400);
  assert.equal(agent.leaves, 0);
  // The known ones still work.
  assert.equal((await call(sock, 'GET', '/v1/members?status=alive')).status, 200);
});

test('headers over the limit get 431 with an {"error"} body', async (t) => {
  const sock = join(tempDir(t), 'a.sock');
  await startApi(t, sock);
  const r = await call(sock, 'GET', '/v1/members', undefined, { 'X-Big': 'x'.repeat(DAEMON_LIMITS.apiHeaderBytesMax + 1) });
  assert.equal(r.status, 431);
  assert.match(errorOf(r), /request headers larger than \d+ bytes/);
});
