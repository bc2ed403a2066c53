/**
 * The split API of one agent: bad requests are refused with a 4xx and change nothing; a split sets
 * every instance's effective weight, shows in GET /v1/splits/SERVICE with unserved versions, is a
 * watch event, survives a restart, and is cleared by DELETE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, type Res, startAgent, tempDir } from './helpers/local-agent.js';

type Obj = Record<string, unknown>;

function ok(r: Res): Obj {
  assert.equal(r.status, 200, r.text);
  return r.body as Obj;
}

async function weightsOf(sock: string): Promise<Record<string, number>> {
  const list = (await call(sock, 'GET', '/v1/services?name=app')).body as Obj[];
  return Object.fromEntries(list.map((e) => [e['id'] as string, e['effective_weight'] as number]));
}

test('split API: refusals, effective weights, detail, watch, restart, clear', async (t) => {
  const dir = tempDir(t);
  let agent = await startAgent(t, dir);
  let sock = agent.config.socket;
  for (const [id, version, weight] of [['a1', 'v1', 1], ['a2', 'v1', 3], ['b1', 'v2', 1]] as const) {
    ok(await call(sock, 'PUT', '/v1/services', { name: 'app', id, port: 8000, version, weight }));
  }
  const bad: [unknown, number, RegExp][] = [
    [{ weights: { v1: 90 } }, 400, /sum to 90/],
    [{ weights: { v1: 90, v2: 10.5 } }, 400, /whole percentage/],
    [{ weights: { v1: 110, v2: -10 } }, 400, /whole percentage/],
    [{ weights: { ['x'.repeat(65)]: 100 } }, 400, /1 to 64 bytes/],
    [{ weights: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`v${i}`, i === 0 ? 100 : 0])) }, 400, /at most 16/],
    [{ weights: [90, 10] }, 400, /version → whole percentage/],
    [{ weights: { v1: 100 }, extra: 1 }, 400, /unknown field/],
    ['{"weights": ', 400, /JSON/i],
  ];
  for (const [body, status, why] of bad) {
    const r = await call(sock, 'PUT', '/v1/splits/app', body);
    assert.equal(r.status, status, r.text);
    assert.match(r.text, why);
  }
  const unknown = await call(sock, 'PUT', '/v1/splits/nope', { weights: { v1: 100 } });
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal((await call(sock, 'PUT', '/v1/splits/app?wait=forever', { weights: { v1: 100 } })).status, 400);
  assert.deepEqual(ok(await call(sock, 'GET', '/v1/splits')), [], 'nothing was changed by a refused request');
  assert.deepEqual(await weightsOf(sock), { a1: 1, a2: 3, b1: 1 });

  const set = ok(await call(sock, 'PUT', '/v1/splits/app?wait=2s', { weights: { v1: 90, v2: 10 } }));
  assert.equal(set['id'], 'app');
  assert.deepEqual((set['split'] as Obj)['weights'], { v1: 90, v2: 10 });
  assert.equal((set['wait'] as Obj)['done'], true);
  assert.deepEqual(await weightsOf(sock), { a1: 22.5, a2: 67.5, b1: 10 });

  // A version named with no routable instance: its share goes unused and is reported.
  ok(await call(sock, 'PUT', '/v1/splits/app', { weights: { v1: 80, v2: 10, v3: 10 } }));
  const detail = ok(await call(sock, 'GET', '/v1/splits/app'));
  assert.deepEqual(detail['unserved'], ['v3']);
  const versions = detail['versions'] as Obj[];
  assert.deepEqual(versions.map((v) => [v['version'], v['percent'], v['routable'], v['effective_weight']]), [['v1', 80, 2, 80], ['v2', 10, 1, 10], ['v3', 10, 0, 0]]);
  assert.deepEqual(await weightsOf(sock), { a1: 20, a2: 60, b1: 10 });

  await agent.stop();

  agent = await startAgent(t, dir);
  sock = agent.config.socket;
  for (const [id, version, weight] of [['a1', 'v1', 1], ['a2', 'v1', 3], ['b1', 'v2', 1]] as const) {
    ok(await call(sock, 'PUT', '/v1/services', { name: 'app', id, port: 8000, version, weight }));
  }
  const after = ok(await call(sock, 'GET', '/v1/splits')) as unknown as Obj[];
  assert.deepEqual(after.map((s) => s['weights']), [{ v1: 80, v2: 10, v3: 10 }], 'the split survives a restart');
  const before = (after[0]!['hlc'] as Obj);
  const again = ok(await call(sock, 'PUT', '/v1/splits/app', { weights: { v1: 100 } }));
  const stamp = ((again['split'] as Obj)['hlc'] as Obj);
  assert.ok((stamp['wall_ms'] as number) > (before['wall_ms'] as number) || ((stamp['wall_ms'] === before['wall_ms']) && (stamp['counter'] as number) > (before['counter'] as number)), 'the clock moved on');
  assert.deepEqual(await weightsOf(sock), { a1: 25, a2: 75, b1: 0 });

  const cleared = ok(await call(sock, 'DELETE', '/v1/splits/app?wait=1s'));
  assert.equal(cleared['split'], null);
  assert.deepEqual(await weightsOf(sock), { a1: 1, a2: 3, b1: 1 });
  assert.equal((await call(sock, 'DELETE', '/v1/splits/app')).status, 404);
  const metrics = (await call(sock, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /^swimd_split_writes_total 2$/m);
  assert.match(metrics, /^swimd_splits 0$/m);
});
