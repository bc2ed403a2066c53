/**
 * The client library and the client commands against a stand-in agent: an HTTP server on a Unix
 * socket that answers as the test says, so shapes, errors and reconnects are checked without a daemon.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../cli/program.js';
import { Client, ClientError, type WatchEvent } from '../client/index.js';

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

const dir = mkdtempSync(join(tmpdir(), 'swimd-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

async function fakeAgent(handler: Handler): Promise<{ socket: string; requests: string[]; close(): Promise<void> }> {
  const socket = join(dir, `a${serial++}.sock`);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}${body === '' ? '' : ` ${body}`}`);
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

const MEMBERS = [
  { name: 'n1', address: '127.0.0.1', port: 7001, status: 'dead', incarnation: 2 },
  { name: 'n0', address: '127.0.0.1', port: 7000, status: 'alive', incarnation: 5, extra: 'kept out' },
];

const SERVICE = {
  node: 'n0', id: 'web-1', name: 'web', address: '127.0.0.1', port: 8080, tags: ['v2'], meta: { zone: 'a' },
  version: '1.2', weight: 1, health: 'passing', draining: false, rev: 2,
};

const SNAPSHOT = (index: number): string => JSON.stringify({ type: 'snapshot', index, reset: false, members: [], services: [] });

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('members are decoded, filtered by status, and only contract fields kept', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 200, MEMBERS));
  after(() => a.close());
  const c = new Client({ socketPath: a.socket });
  const all = await c.members();
  assert.deepEqual(all.map((m) => m.name), ['n1', 'n0']);
  assert.deepEqual(Object.keys(all[1] ?? {}).sort(), ['address', 'incarnation', 'name', 'port', 'status']);
  assert.deepEqual((await c.members({ status: 'dead' })).map((m) => m.name), ['n1']);
});

test('swimd members prints a table, or JSON with --json', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 200, MEMBERS));
  after(() => a.close());
  const table = await cli('members', '--socket', a.socket);
  assert.equal(table.code, 0);
  assert.equal(table.out, [
    'NAME  ADDRESS         STATUS  INCARNATION',
    'n0    127.0.0.1:7000  alive             5',
    'n1    127.0.0.1:7001  dead              2',
    '',
  ].join('\n'));
  const asJson = await cli('members', '--json', '--status', 'alive', '--socket', a.socket);
  assert.equal(asJson.code, 0);
  assert.deepEqual(JSON.parse(asJson.out), [{ name: 'n0', address: '127.0.0.1', port: 7000, status: 'alive', incarnation: 5 }]);
});

test('info keeps fields beyond the contract and prints them', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 200, { name: 'n0', address: '127.0.0.1', port: 7000, members: 3, alive: 2, profile: 'local' }));
  after(() => a.close());
  const info = await new Client({ socketPath: a.socket }).info();
  assert.equal(info.alive, 2);
  assert.equal(info['profile'], 'local');
  const r = await cli('info', '--socket', a.socket);
  assert.equal(r.code, 0);
  assert.match(r.out, /^FIELD\s+VALUE\nname\s+n0\n/);
  assert.match(r.out, /\nprofile\s+local\n/);
});

test('join sends the addresses and reports how many answered; none is a failure', async () => {
  let answer: unknown = { joined: 2 };
  const a = await fakeAgent((_req, _b, res) => json(res, 200, answer));
  after(() => a.close());
  const ok = await cli('join', '127.0.0.1:1', '127.0.0.1:2', '--socket', a.socket);
  assert.equal(ok.code, 0);
  assert.equal(ok.out, 'joined through 2 of 2 addresses\n');
  assert.equal(a.requests[0], 'POST /v1/join {"addresses":["127.0.0.1:1","127.0.0.1:2"]}');
  answer = { joined: 1, failed: [{ seed: '127.0.0.1:2', kind: 'no-answer', reason: 'timed out' }] };
  const some = await cli('join', '127.0.0.1:1', '127.0.0.1:2', '--socket', a.socket);
  assert.equal(some.code, 0);
  assert.equal(some.out, 'joined through 1 of 2 addresses; failed: 127.0.0.1:2 (timed out)\n');
  answer = { joined: 0, failed: [{ seed: '127.0.0.1:1', kind: 'no-answer', reason: 'no answer within 5000 ms' }] };
  const none = await cli('join', '127.0.0.1:1', '--socket', a.socket);
  assert.equal(none.code, 1);
  assert.equal(none.err, 'swimd: could not join through 127.0.0.1:1 (no answer within 5000 ms)\n');
  const asJson = await cli('join', '127.0.0.1:1', '--json', '--socket', a.socket);
  assert.equal(asJson.code, 1);
  assert.deepEqual(JSON.parse(asJson.out), { joined: 0, failed: [{ seed: '127.0.0.1:1', reason: 'no answer within 5000 ms' }] });
});

test("an HTTP error carries the status and the agent's message", async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 400, { error: 'addresses: expected an array' }));
  after(() => a.close());
  await assert.rejects(new Client({ socketPath: a.socket }).join(['x:1']), (e: unknown) => {
    assert.ok(e instanceof ClientError);
    assert.equal(e.code, 'http');
    assert.equal(e.status, 400);
    assert.equal(e.message, 'addresses: expected an array');
    return true;
  });
  const r = await cli('leave', '--socket', a.socket);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'swimd: addresses: expected an array (HTTP 400)\n');
});

test('answers off the contract are bad_response, naming what is wrong', async () => {
  const bodies: string[] = [
    'not json',
    JSON.stringify([{ name: 'n0', address: '127.0.0.1', port: 7000, status: 'zombie', incarnation: 1 }]),
    JSON.stringify([{ name: 'n0', address: '127.0.0.1', port: -1, status: 'alive', incarnation: 1 }]),
    JSON.stringify({ members: [] }),
  ];
  let i = 0;
  const a = await fakeAgent((_req, _b, res) => { res.end(bodies[i++]); });
  after(() => a.close());
  const c = new Client({ socketPath: a.socket });
  for (const expected of [/not valid JSON/, /members\[0\]\.status is not one of/, /members\[0\]\.port/, /members is not an array/]) {
    await assert.rejects(c.members(), (e: unknown) => e instanceof ClientError && e.code === 'bad_response' && expected.test(e.message));
  }
});

test('an answer larger than the limit is refused rather than buffered', async () => {
  const a = await fakeAgent((_req, _b, res) => { res.end(JSON.stringify(Array(5000).fill(MEMBERS[0]))); });
  after(() => a.close());
  const c = new Client({ socketPath: a.socket, maxResponseBytes: 10_000 });
  await assert.rejects(c.members(), (e: unknown) => e instanceof ClientError && e.code === 'bad_response');
});

test('a silent agent times out', async () => {
  const a = await fakeAgent(() => { /* never answers */ });
  after(() => a.close());
  const c = new Client({ socketPath: a.socket, timeoutMs: 100 });
  await assert.rejects(c.info(), (e: unknown) => e instanceof ClientError && e.code === 'timeout' && /within 100 ms/.test(e.message));
});

test('services and mutations use the documented routes and wait parameter', async () => {
  const a = await fakeAgent((req, _b, res) => {
    if (req.method === 'GET') return json(res, 200, []);
    if (req.method === 'DELETE') return json(res, 200, { id: 'web/1', deregistered: true, rev: 3 });
    const wait = req.url?.includes('wait=') === true ? { wait: { done: true, elapsed_ms: 12, confirmed: 5, timeout_ms: 5000 } } : {};
    return json(res, 200, { ...SERVICE, ...wait });
  });
  after(() => a.close());
  const c = new Client({ socketPath: a.socket });
  await c.services({ name: 'web', passing: true, tag: 'v2' });
  const registered = await c.register({ name: 'web', port: 8080 }, { wait: '5s' });
  assert.equal(registered.id, 'web-1');
  assert.equal(registered.service?.port, 8080);
  assert.deepEqual(registered.wait, { done: true, elapsedMs: 12, confirmed: 5, pending: [], excluded: [] });
  await c.deregister('web/1', { wait: 1500 });
  await c.drain('web-1');
  await c.undrain('web-1');
  await c.check('web-1', 'warn', 'slow');
  assert.deepEqual(a.requests, [
    'GET /v1/services?name=web&passing=1&tag=v2',
    'PUT /v1/services?wait=5s {"name":"web","port":8080}',
    'DELETE /v1/services/web%2F1?wait=1500ms',
    'POST /v1/services/web-1/drain',
    'POST /v1/services/web-1/undrain',
    'POST /v1/checks/web-1/warn {"note":"slow"}',
  ]);
});

test('watch resumes from the last index after the connection drops', async () => {
  let connection = 0;
  const a = await fakeAgent((_req, _b, res) => {
    connection++;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (connection === 1) {
      res.write(`${SNAPSHOT(1)}\n{"type":"member","index":2,"event":"jo`);
      res.end(`ined","member":${JSON.stringify(MEMBERS[1])}}\n`); // a line split across chunks, then the agent goes away
    } else {
      res.write(`{"type":"member","index":3,"event":"dead","member":${JSON.stringify(MEMBERS[0])}}\n`);
    }
  });
  after(() => a.close());
  const seen: WatchEvent[] = [];
  for await (const ev of new Client({ socketPath: a.socket }).watch({ initialBackoffMs: 5 })) {
    seen.push(ev);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen.map((e) => [e.type, e.index]), [['snapshot', 1], ['member', 2], ['member', 3]]);
  assert.deepEqual(a.requests, ['GET /v1/watch', 'GET /v1/watch?index=2']);
});

test('watch gives up after a bounded number of failed reconnects', async () => {
  const a = await fakeAgent((_req, _b, res) => { res.writeHead(200); res.end(`${SNAPSHOT(7)}\n`); });
  const c = new Client({ socketPath: a.socket });
  const seen: number[] = [];
  const started = Date.now();
  await assert.rejects(async () => {
    for await (const ev of c.watch({ initialBackoffMs: 5, maxRetries: 3 })) {
      seen.push(ev.index);
      await a.close(); // the agent disappears for good
    }
  }, (e: unknown) => e instanceof ClientError && e.code === 'no_agent');
  assert.deepEqual(seen, [7]);
  assert.ok(Date.now() - started < 5_000);
});

test('watch does not retry a request the agent refuses', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 400, { error: 'index: expected an integer' }));
  after(() => a.close());
  await assert.rejects(async () => {
    for await (const _ of new Client({ socketPath: a.socket }).watch({ index: 3 })) { /* none */ }
  }, (e: unknown) => e instanceof ClientError && e.code === 'http' && e.status === 400);
  assert.equal(a.requests.length, 1);
});

test('aborting a watch ends the stream quietly', async () => {
  const a = await fakeAgent((_req, _b, res) => { res.writeHead(200); res.write(`${SNAPSHOT(1)}\n`); });
  after(() => a.close());
  const ctl = new AbortController();
  const seen: number[] = [];
  for await (const ev of new Client({ socketPath: a.socket }).watch({ signal: ctl.signal })) {
    seen.push(ev.index);
    setTimeout(() => ctl.abort(), 20);
  }
  assert.deepEqual(seen, [1]);
});
