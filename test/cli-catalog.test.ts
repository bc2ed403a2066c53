/**
 * The catalog commands (services, register, deregister, drain, undrain, check, watch) and the
 * client's mutation and watch handling, against a stand-in agent.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runCli } from '../cli/program.js';
import { formatWatchEvent } from '../cli/watch-format.js';
import { Client, ClientError, NotConfirmedError, type WatchEvent } from '../client/index.js';
import { decodeWatchLine } from '../client/watch.js';
import { fakeAgent, json } from './helpers/fake-agent.js';

const SERVICE = {
  node: 'n0', id: 'web-1', name: 'web', address: '127.0.0.1', port: 8080, tags: ['v2'], meta: { zone: 'a' },
  version: '1.2', weight: 1, health: 'passing', draining: false, rev: 2, effective_weight: 1,
};
const MEMBER = { name: 'n3', address: '127.0.0.1', port: 7003, status: 'alive', incarnation: 1 };

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

const CONFIRMED = { wait: { done: true, elapsed_ms: 42, confirmed: 4, timeout_ms: 30_000 } };

test('register sends the registration built from the flags, with --wait defaulting to 30s', async () => {
  const a = await fakeAgent((req, _b, res) => json(res, 200, { ...SERVICE, ...(req.url?.includes('wait') === true ? CONFIRMED : {}) }));
  after(() => a.close());
  const r = await cli('register', '--name', 'web', '--id', 'web-1', '--port', '8080', '--tag', 'v2', '--tag', 'canary',
    '--meta', 'zone=a', '--meta', 'url=http://x/?a=b', '--version', '1.2', '--weight', '3',
    '--check-http', 'http://127.0.0.1:8080/health', '--interval', '2s', '--wait', '--socket', a.socket);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'registered web-1; confirmed by all 4 other alive members in 42 ms\n');
  assert.equal(a.requests[0], 'PUT /v1/services?wait=30s ' + JSON.stringify({
    name: 'web', port: 8080, id: 'web-1', tags: ['v2', 'canary'], meta: { zone: 'a', url: 'http://x/?a=b' }, version: '1.2', weight: 3,
    check: { http: 'http://127.0.0.1:8080/health', interval: '2s' },
  }));
  const plain = await cli('register', '--name', 'worker', '--port', '9000', '--check-ttl', '30s', '--socket', a.socket);
  assert.equal(plain.out, 'registered worker\n');
  assert.equal(a.requests[1], 'PUT /v1/services {"name":"worker","port":9000,"check":{"ttl":"30s"}}');
  const asJson = await cli('register', '--name', 'web', '--port', '8080', '--wait', '5s', '--json', '--socket', a.socket);
  const { rev: _rev, ...withoutRev } = SERVICE;
  assert.equal(a.requests[2], 'PUT /v1/services?wait=5s {"name":"web","port":8080}');
  assert.deepEqual(JSON.parse(asJson.out), {
    id: 'web-1', service: withoutRev, wait: { done: true, elapsed_ms: 42, confirmed: 4, pending: [], excluded: [] },
  });
});

test('a wait that runs out exits 1 naming the members that had not confirmed', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 504, {
    ...SERVICE, error: 'not confirmed by 1 member within 700ms: n3', pending: ['n3'], confirmed: 3,
    wait: { done: false, elapsed_ms: 700, confirmed: 3, timeout_ms: 700, pending: ['n3'] },
  }));
  after(() => a.close());
  const r = await cli('drain', 'web-1', '--wait', '700ms', '--socket', a.socket);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, 'swimd: drained web-1, but 1 member had not confirmed it within 700ms: n3 (3 members did)\n');
  const asJson = await cli('drain', 'web-1', '--wait', '700ms', '--json', '--socket', a.socket);
  assert.equal(asJson.code, 1);
  assert.deepEqual(JSON.parse(asJson.out).wait, { done: false, elapsed_ms: 700, confirmed: 3, pending: ['n3'], excluded: [] });
  await assert.rejects(new Client({ socketPath: a.socket }).register({ name: 'web', port: 1 }, { wait: 700 }), (e: unknown) => {
    assert.ok(e instanceof NotConfirmedError);
    assert.equal(e.code, 'not_confirmed');
    assert.equal(e.id, 'web-1');
    assert.deepEqual(e.outcome.pending, ['n3']);
    return true;
  });
});

test('members declared dead or leaving during a wait are named, and the answer never reads "confirmed by all"', async () => {
  const excluded = [{ name: 'n4', status: 'dead' }, { name: 'n5\u001b[31m', status: 'left' }];
  const a = await fakeAgent((_req, _b, res) => json(res, 200, {
    ...SERVICE, wait: { done: true, elapsed_ms: 900, confirmed: 2, timeout_ms: 10_000, excluded },
  }));
  after(() => a.close());
  const r = await cli('register', '--name', 'web', '--port', '8080', '--wait', '10s', '--socket', a.socket);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'registered web; confirmed by 2 other alive members in 900 ms, not by 2 members that stopped answering during the wait:\n' +
    '  n4: declared dead during the wait, did not confirm\n' +
    '  n5?[31m: left during the wait, did not confirm\n');
  assert.doesNotMatch(r.out, /confirmed by all/);
  const asJson = await cli('drain', 'web-1', '--wait', '10s', '--json', '--socket', a.socket);
  assert.deepEqual(JSON.parse(asJson.out).wait, { done: true, elapsed_ms: 900, confirmed: 2, pending: [], excluded });
  const waited = await new Client({ socketPath: a.socket }).drain('web-1', { wait: '10s' });
  assert.deepEqual(waited.wait?.excluded, excluded);
});

test('a wait that runs out also names the members it let go of; with a malformed exclusion the agent\'s message stays the error', async () => {
  let body: Record<string, unknown> = {
    ...SERVICE, error: 'not confirmed by 1 member within 1s: n3; n4: declared dead during the wait, did not confirm',
    pending: ['n3'], excluded: [{ name: 'n4', status: 'dead' }], confirmed: 1,
    wait: { done: false, elapsed_ms: 1000, confirmed: 1, timeout_ms: 1000, pending: ['n3'], excluded: [{ name: 'n4', status: 'dead' }] },
  };
  const a = await fakeAgent((_req, _b, res) => json(res, 504, body));
  after(() => a.close());
  const r = await cli('drain', 'web-1', '--wait', '1s', '--socket', a.socket);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'swimd: drained web-1, but 1 member had not confirmed it within 1s: n3 (1 member did); ' +
    'n4: declared dead during the wait, did not confirm\n');
  const c = new Client({ socketPath: a.socket });
  await assert.rejects(c.drain('web-1', { wait: '1s' }), (e: unknown) => e instanceof NotConfirmedError && e.outcome.excluded.length === 1);
  for (const bad of [{ name: 'n4', status: 'zombie' }, { name: 4, status: 'dead' }, 'n4']) {
    body = { ...body, wait: { done: false, elapsed_ms: 1000, confirmed: 1, timeout_ms: 1000, pending: ['n3'], excluded: [bad] } };
    await assert.rejects(c.drain('web-1', { wait: '1s' }), (e: unknown) =>
      e instanceof ClientError && !(e instanceof NotConfirmedError) && e.code === 'http' && e.status === 504 && e.message === (body as { error: string }).error);
  }
});

test('deregister, drain, undrain and check use their routes', async () => {
  const a = await fakeAgent((req, _b, res) => {
    if (req.method === 'DELETE') return json(res, 200, { id: 'web-1', deregistered: true, rev: 9, ...CONFIRMED });
    json(res, 200, { ...SERVICE, health: 'warning', ...(req.url?.includes('wait') === true ? CONFIRMED : {}) });
  });
  after(() => a.close());
  assert.equal((await cli('deregister', 'web-1', '--wait=2s', '--socket', a.socket)).out, 'deregistered web-1; confirmed by all 4 other alive members in 42 ms\n');
  assert.equal((await cli('drain', 'web-1', '--socket', a.socket)).out, 'drained web-1\n');
  assert.equal((await cli('undrain', 'web/1', '--wait', '1s', '--socket', a.socket)).code, 0);
  assert.equal((await cli('check', 'warn', 'web-1', '--note', 'slow', '--socket', a.socket)).out, 'web-1: reported warn; health warning\n');
  assert.equal((await cli('check', 'pass', 'web-1', '--socket', a.socket)).code, 0);
  assert.deepEqual(a.requests, [
    'DELETE /v1/services/web-1?wait=2s',
    'POST /v1/services/web-1/drain',
    'POST /v1/services/web%2F1/undrain?wait=1s',
    'POST /v1/checks/web-1/warn {"note":"slow"}',
    'POST /v1/checks/web-1/pass',
  ]);
});

test('check, drain and undrain --json answer in one shape: {id, service}', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 200, { ...SERVICE, health: 'warning' }));
  after(() => a.close());
  const outputs: unknown[] = [];
  for (const args of [['check', 'warn', 'web-1'], ['drain', 'web-1'], ['undrain', 'web-1']]) {
    const r = await cli(...args, '--json', '--socket', a.socket);
    assert.equal(r.code, 0, r.err);
    outputs.push(JSON.parse(r.out));
  }
  const [check, drain, undrain] = outputs as Array<{ id: string; service: { id: string; health: string } }>;
  assert.deepEqual(Object.keys(check ?? {}), ['id', 'service']);
  assert.equal(check?.id, 'web-1');
  assert.equal(check?.service.health, 'warning');
  assert.deepEqual(check, drain);
  assert.deepEqual(check, undrain);
});

test('services lists instances in a table, filtered by the agent', async () => {
  const a = await fakeAgent((_req, _b, res) => json(res, 200, [SERVICE, { ...SERVICE, id: 'web-2', tags: [], draining: true, health: 'critical', version: '' }]));
  after(() => a.close());
  const r = await cli('services', 'web', '--passing', '--tag', 'v2', '--socket', a.socket);
  assert.equal(r.code, 0);
  assert.equal(a.requests[0], 'GET /v1/services?name=web&passing=1&tag=v2');
  assert.equal(r.out, [
    'NAME  ID     NODE  ADDRESS         HEALTH    DRAINING  VERSION  WEIGHT  TAGS',
    'web   web-1  n0    127.0.0.1:8080  passing   no        1.2           1  v2',
    'web   web-2  n0    127.0.0.1:8080  critical  yes       -             1  -',
    '',
  ].join('\n'));
  const j = await cli('services', '--json', '--socket', a.socket);
  assert.equal(JSON.parse(j.out).length, 2);
});

const LINES = [
  JSON.stringify({ type: 'snapshot', index: 10, reset: false, members: [MEMBER], services: [SERVICE] }),
  JSON.stringify({ index: 11, type: 'member', event: 'suspect', member: { ...MEMBER, status: 'suspect' } }),
  JSON.stringify({ type: 'heartbeat', index: 11 }),
  JSON.stringify({ index: 12, type: 'service', event: 'health', service: { ...SERVICE, health: 'critical' }, previous: SERVICE }),
  JSON.stringify({ index: 13, type: 'novelty', what: 'a kind this client does not know' }),
];

test('watch --json prints the lines as the agent sent them; the human form one line per change', async () => {
  const a = await fakeAgent((_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(LINES.join('\n') + '\n');
  });
  const gone = a.close.bind(a);
  // The agent serves one stream, then goes away for good: the command must give up and say so.
  setTimeout(() => void gone(), 300);
  const j = await cli('watch', '--json', '--retry-for', '300ms', '--socket', a.socket);
  assert.equal(j.code, 1);
  assert.deepEqual(j.out.trimEnd().split('\n').slice(0, 4), LINES.slice(0, 4));
  assert.match(j.err, /^swimd: lost the agent: .*no agent listening/);
});

test('watch human lines are readable and neutralise control characters', () => {
  const at = new Date('2025-01-02T03:04:05.678Z');
  const lines = LINES.slice(0, 4).map((l) => {
    const ev = decodeWatchLine(l);
    assert.ok(ev !== null && ev.type !== 'error');
    return formatWatchEvent(ev, at);
  });
  assert.deepEqual(lines, [
    '2025-01-02T03:04:05.678Z  snapshot              1 member (1 alive), 1 service instance (1 passing)',
    '2025-01-02T03:04:05.678Z  member   suspect      n3 127.0.0.1:7003 (suspect, incarnation 1)',
    null,
    '2025-01-02T03:04:05.678Z  service  health       web/web-1 on n0: passing -> critical',
  ]);
  const evil = decodeWatchLine(JSON.stringify({ index: 1, type: 'member', event: 'joined', member: { ...MEMBER, name: 'x\u001b[2J' } }));
  assert.ok(evil !== null && evil.type !== 'error');
  assert.doesNotMatch(formatWatchEvent(evil, at) ?? '', /\u001b/);
});

test('client watch: an error line from the agent means reconnect from its index, and is not yielded', async () => {
  let n = 0;
  const a = await fakeAgent((_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (n++ === 0) {
      res.end(`${LINES[0]}\n${JSON.stringify({ type: 'error', index: 10, error: 'consumer too slow; reconnect with ?index=10' })}\n`);
    } else {
      res.write(`${LINES[1]}\n`);
    }
  });
  after(() => a.close());
  const seen: WatchEvent[] = [];
  for await (const ev of new Client({ socketPath: a.socket }).watch({ initialBackoffMs: 5 })) {
    seen.push(ev);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen.map((e) => [e.type, e.index]), [['snapshot', 10], ['member', 11]]);
  assert.deepEqual(a.requests, ['GET /v1/watch', 'GET /v1/watch?index=10']);
});

test('client watch: a connection silent for longer than the idle timeout is replaced', async () => {
  let n = 0;
  const a = await fakeAgent((_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${n++ === 0 ? LINES[0] : LINES[1]}\n`); // then silence, as from a stopped agent
  });
  after(() => a.close());
  const seen: number[] = [];
  const started = Date.now();
  for await (const ev of new Client({ socketPath: a.socket }).watch({ initialBackoffMs: 5, idleTimeoutMs: 150 })) {
    seen.push(ev.index);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen, [10, 11]);
  assert.ok(Date.now() - started >= 150);
  assert.deepEqual(a.requests, ['GET /v1/watch', 'GET /v1/watch?index=10']);
});

test('client watch: lines off the contract are bad_response', async () => {
  const a = await fakeAgent((_req, _b, res) => {
    res.writeHead(200);
    res.end(`${JSON.stringify({ type: 'snapshot', index: 1, members: 'none', services: [] })}\n`);
  });
  after(() => a.close());
  await assert.rejects(async () => {
    for await (const _ of new Client({ socketPath: a.socket }).watch()) { /* none */ }
  }, (e: unknown) => e instanceof ClientError && e.code === 'bad_response' && /snapshot.members is not an array/.test(e.message));
});
