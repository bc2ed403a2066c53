/**
 * `effective_weight` in the services JSON: GET /v1/services, the watch snapshot and service lines,
 * and mutation answers all carry the share computed by the shared rule (effective-weight.ts), from
 * this agent's view of the instances and their owners.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, type WatchEvent } from '../client/index.js';
import { decodeService } from '../client/decode.js';
import { serviceEffectiveWeights } from '../client/contract/service-weights.js';
import type { ServiceView } from '../protocol/effects.js';
import { servicesJson, weightsFor } from '../daemon/api/shapes.js';
import { call, startAgent, tempDir } from './helpers/local-agent.js';

function view(over: Partial<ServiceView> & Pick<ServiceView, 'id'>): ServiceView {
  return {
    node: 'n1', name: 'app', address: '127.0.0.1', port: 8000, tags: [], meta: {}, version: 'v1', weight: 1,
    health: 'passing', draining: false, rev: 1, ...over,
  };
}

test('effective weights: own weight when routable, 0 otherwise; a dead owner routes nothing', () => {
  const views = [
    view({ id: 'a', weight: 2 }), view({ id: 'b', weight: 3, draining: true }), view({ id: 'c', health: 'critical' }),
    view({ id: 'd', node: 'n2', weight: 5 }), view({ id: 'x', name: 'other', weight: 7 }),
  ];
  const status = new Map<string, 'alive' | 'dead'>([['n1', 'alive'], ['n2', 'dead']]);
  const state = { services: () => views, member: (n: string) => ({ name: n, host: 'h', port: 1, incarnation: 0, status: status.get(n) ?? 'alive' }) };
  const w = weightsFor(state, views);
  assert.deepEqual(Object.fromEntries(w), { 'n1/a': 2, 'n1/b': 0, 'n1/c': 0, 'n2/d': 0, 'n1/x': 7 });
  // A split in the state is applied per service.
  const split = { ...state, split: (s: string) => (s === 'app' ? { v1: 90, v2: 10 } : undefined) };
  const two = [view({ id: 'a', weight: 1 }), view({ id: 'b', weight: 3 }), view({ id: 'c', version: 'v2' })];
  const j = servicesJson({ ...split, services: () => two }, two);
  assert.deepEqual(j.map((e) => [e.id, e.effective_weight]), [['a', 22.5], ['b', 67.5], ['c', 10]]);
  // The client's function gives the same weights from the entries alone.
  const client = serviceEffectiveWeights(j, (s) => split.split(s));
  assert.deepEqual(j.map((e) => client.get(`${e.node}/${e.id}`)), j.map((e) => e.effective_weight));
});

test('effective weights: a previous entry is weighed among its siblings, a deregistered one is 0', () => {
  const now = [view({ id: 'a', weight: 1 }), view({ id: 'b', weight: 1, draining: true })];
  const before = view({ id: 'b', weight: 1 });
  const state = { services: () => now };
  assert.equal(weightsFor(state, [before]).get('n1/b'), 1);
  assert.equal(weightsFor(state, [now[1]!]).get('n1/b'), 0);
});

test('decoding: an entry without effective_weight (an older agent) gets its own weight when routable', () => {
  const base = { node: 'n', id: 'i', name: 'app', address: 'a', port: 1, tags: [], meta: {}, version: '', weight: 4, health: 'passing', draining: false };
  assert.equal(decodeService(base, 's').effective_weight, 4);
  assert.equal(decodeService({ ...base, draining: true }, 's').effective_weight, 0);
  assert.equal(decodeService({ ...base, effective_weight: 2.5 }, 's').effective_weight, 2.5);
  assert.throws(() => decodeService({ ...base, effective_weight: 'x' }, 's'), /effective_weight/);
});

test('agent: GET /v1/services, answers, the watch snapshot and lines carry effective_weight', async (t) => {
  const dir = tempDir(t);
  const agent = await startAgent(t, dir);
  const sock = agent.config.socket;
  const reg = await call(sock, 'PUT', '/v1/services', { name: 'app', id: 'a1', port: 8001, weight: 3 });
  assert.equal(reg.status, 200, reg.text);
  assert.equal((reg.body as Record<string, unknown>)['effective_weight'], 3);
  assert.equal((await call(sock, 'PUT', '/v1/services', { name: 'app', id: 'a2', port: 8002 })).status, 200);
  const list = await call(sock, 'GET', '/v1/services?name=app');
  assert.deepEqual((list.body as Record<string, unknown>[]).map((e) => [e['id'], e['effective_weight']]), [['a1', 3], ['a2', 1]]);

  const client = new Client({ socketPath: sock });
  const seen: WatchEvent[] = [];
  const ac = new AbortController();
  t.after(() => ac.abort());
  const watching = (async () => {
    try {
      for await (const ev of client.watch({ signal: ac.signal })) seen.push(ev);
    } catch {
      // ended by the abort
    }
  })();
  const until = async (ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), JSON.stringify(seen));
  };
  await until(() => seen.some((e) => e.type === 'snapshot'));
  const snap = seen.find((e) => e.type === 'snapshot');
  assert.ok(snap !== undefined && snap.type === 'snapshot');
  assert.deepEqual(snap.services.map((s) => [s.id, s.effective_weight]), [['a1', 3], ['a2', 1]]);

  const drained = await call(sock, 'POST', '/v1/services/a1/drain');
  assert.equal((drained.body as Record<string, unknown>)['effective_weight'], 0);
  await until(() => seen.some((e) => e.type === 'service' && e.event === 'drained'));
  const line = seen.find((e) => e.type === 'service' && e.event === 'drained');
  assert.ok(line !== undefined && line.type === 'service');
  assert.equal(line.service.effective_weight, 0);
  assert.equal(line.previous?.effective_weight, 3);
  assert.equal((await call(sock, 'DELETE', '/v1/services/a2')).status, 200);
  await until(() => seen.some((e) => e.type === 'service' && e.event === 'deregistered'));
  const gone = seen.find((e) => e.type === 'service' && e.event === 'deregistered');
  assert.ok(gone !== undefined && gone.type === 'service');
  assert.equal(gone.service.effective_weight, 0);

  // A split is a line of its own; the instances' weights then follow it in every answer.
  assert.equal((await call(sock, 'POST', '/v1/services/a1/undrain')).status, 200);
  assert.equal((await call(sock, 'PUT', '/v1/services', { name: 'app', id: 'c1', port: 8003, version: 'v2' })).status, 200);
  assert.equal((await call(sock, 'PUT', '/v1/splits/app', { weights: { v2: 100 } })).status, 200);
  await until(() => seen.some((e) => e.type === 'split'));
  const split = seen.find((e) => e.type === 'split');
  assert.ok(split !== undefined && split.type === 'split');
  assert.equal(split.event, 'set');
  assert.deepEqual(split.split?.weights, { v2: 100 });
  const after = await call(sock, 'GET', '/v1/services?name=app');
  assert.deepEqual((after.body as Record<string, unknown>[]).map((e) => [e['id'], e['effective_weight']]), [['a1', 0], ['c1', 100]]);
  const second = new AbortController();
  for await (const ev of client.watch({ signal: second.signal })) {
    assert.ok(ev.type === 'snapshot');
    assert.deepEqual(ev.splits.map((x) => [x.service, x.weights]), [['app', { v2: 100 }]]);
    break;
  }
  second.abort();
  ac.abort();
  await watching;
});
