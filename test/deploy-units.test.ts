/**
 * The deploy drill's pure parts: the proxy's routing rules and the analysis of a run. The drill
 * itself (test/deploy-drill.test.ts) only shows that they add up; these pin down each rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceEntry, WatchEvent } from '../client/index.js';
import { analyzeRun, overlap } from '../bench/deploy/analyze.js';
import { BackendTable, chooseBackend, pickWeighted, type Backend } from '../bench/deploy/backends.js';
import type { RequestRecord } from '../bench/deploy/load.js';
import { isDeployScenario, OptionError, parseDeployArgs } from '../bench/deploy/options.js';
import { cookieValue } from '../bench/deploy/proxy.js';

function entry(over: Partial<ServiceEntry> & Pick<ServiceEntry, 'id'>): ServiceEntry {
  return {
    node: 'B', name: 'app', address: '127.0.0.1', port: 8000, tags: [], meta: {}, version: 'v1', weight: 1,
    health: 'passing', draining: false, effective_weight: 1, ...over,
  };
}

function snapshot(services: ServiceEntry[]): WatchEvent {
  return { type: 'snapshot', index: 1, reset: false, members: [], services, splits: [] };
}

function event(kind: string, service: ServiceEntry, index = 2): WatchEvent {
  return { type: 'service', index, event: kind, service };
}

/** A random source that walks through the given values. */
function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

test('backends: only passing, undrained instances of the service are eligible', () => {
  const t = new BackendTable('app');
  t.apply(snapshot([
    entry({ id: 'a' }), entry({ id: 'b', health: 'warning' }), entry({ id: 'c', draining: true }),
    entry({ id: 'd', health: 'critical' }), entry({ id: 'e', name: 'other' }),
  ]));
  assert.deepEqual(t.eligible().map((b) => b.id), ['a']);
  assert.equal(t.size, 4);
});

test('backends: events update and remove; a snapshot replaces everything', () => {
  const t = new BackendTable('app');
  t.apply(snapshot([entry({ id: 'a' })]));
  t.apply(event('registered', entry({ id: 'b', node: 'C', version: 'v2', health: 'critical' })));
  assert.deepEqual(t.eligible().map((b) => b.key), ['B/a']);
  t.apply(event('health', entry({ id: 'b', node: 'C', version: 'v2' })));
  t.apply(event('drained', entry({ id: 'a', draining: true })));
  assert.deepEqual(t.eligible().map((b) => b.key), ['C/b']);
  const removed = t.apply(event('deregistered', entry({ id: 'a', draining: true })));
  assert.deepEqual(removed.map((c) => c.change), ['removed']);
  assert.equal(t.get('B/a'), undefined);
  // A reset snapshot without C/b: it is gone.
  const changes = t.apply({ ...snapshot([entry({ id: 'z' })]), reset: true } as WatchEvent);
  assert.deepEqual(changes.map((c) => `${c.change} ${c.key}`).sort(), ['added B/z', 'removed C/b']);
});

test('backends: weighted choice follows the weights; zero weights only when nothing else', () => {
  const b = (key: string, weight: number): Backend => ({
    key, id: key, node: 'n', address: '127.0.0.1', port: 1, version: key, weight, health: 'passing', draining: false, effectiveWeight: weight,
  });
  const pool = [b('v1', 9), b('v2', 1)];
  // r × total = 8.9 falls in v1's share [0, 9); 9.0 in v2's [9, 10).
  assert.equal(pickWeighted(pool, () => 0.89)?.key, 'v1');
  assert.equal(pickWeighted(pool, () => 0.9)?.key, 'v2');
  assert.equal(pickWeighted([b('z', 0), b('w', 2)], () => 0)?.key, 'w');
  assert.equal(pickWeighted([b('z', 0), b('y', 0)], () => 0.6)?.key, 'y');
  assert.equal(pickWeighted([], () => 0), undefined);
});

test('backends: sticky keeps a client on its version until none of it is eligible', () => {
  const t = new BackendTable('app');
  t.apply(snapshot([entry({ id: 'a', version: 'v1' }), entry({ id: 'b', node: 'C', version: 'v2', weight: 100 })]));
  assert.equal(chooseBackend(t, 'v1', seq([0.99]))?.version, 'v1');
  t.apply(event('drained', entry({ id: 'a', version: 'v1', draining: true })));
  assert.equal(chooseBackend(t, 'v1', seq([0]))?.version, 'v2');
});

test('backends: a split sets effective weights; a pinned client moves only when its version has no share left', () => {
  const t = new BackendTable('app');
  const split = (weights: Record<string, number> | null): WatchEvent => ({
    type: 'split', index: 3, event: weights === null ? 'cleared' : 'set', service: 'app',
    split: weights === null ? null : { service: 'app', weights, writer: 'A', hlc: { wall_ms: 1, counter: 0 } },
  });
  t.apply(snapshot([entry({ id: 'a', version: 'v1' }), entry({ id: 'a2', version: 'v1', weight: 3 }), entry({ id: 'b', node: 'C', version: 'v2' })]));
  assert.deepEqual(t.all().map((b) => b.effectiveWeight), [1, 3, 1]);
  t.apply(split({ v1: 90, v2: 10 }));
  assert.deepEqual(t.all().map((b) => b.effectiveWeight), [22.5, 67.5, 10]);
  // A sibling drains: the version's share goes to the other instance of it.
  t.apply(event('drained', entry({ id: 'a2', version: 'v1', weight: 3, draining: true })));
  assert.deepEqual(t.all().map((b) => b.effectiveWeight), [90, 0, 10]);
  assert.equal(chooseBackend(t, 'v2', seq([0]))?.version, 'v2', 'pinned to v2 while v2 has a share');
  t.apply(split({ v1: 100 }));
  assert.equal(chooseBackend(t, 'v2', seq([0.99]))?.version, 'v1', 'v2 has no share left: the client moves');
  t.apply(split(null));
  assert.deepEqual(t.all().map((b) => b.effectiveWeight), [1, 0, 1]);
  // A split of another service changes nothing here.
  t.apply({ ...split({ v2: 100 }), service: 'other' } as WatchEvent);
  assert.deepEqual(t.all().map((b) => b.effectiveWeight), [1, 0, 1]);
});

test('analysis: rollback timing and clients that saw both versions during the split', () => {
  const records = [
    rec(0, 'v1', 0), rec(5, 'v1', 1), rec(20, 'v2', 2), rec(22, 'v1', 0), rec(30, 'v2', 1), rec(41, 'v2', 2), rec(46, 'v2', 3), rec(60, 'v1', 2),
  ];
  const s = analyzeRun({
    name: 'rollback', records, dropped: 0, startedAt: 0, stoppedAt: 100, binMs: 50, proxySawV2: 18, proxySawV1Draining: null, proxySawRollback: 44,
    marks: [{ kind: 'register', at: 10 }, { kind: 'split', at: 15 }, { kind: 'split_set', at: 17 }, { kind: 'rollback', at: 40 }, { kind: 'rolled_back', at: 52 }],
  });
  assert.deepEqual(s.rollback, { command_ms: 12, to_last_v2_ms: 6, proxy_learned_ms: 4, v2_after_proxy_knew: 1 });
  // In [20, 40): client 1 got v2 only there (v1 at 5 is before), client 2 v2 only: nobody saw both.
  assert.deepEqual(s.split_clients, { clients: 3, saw_both: 0 });
  assert.deepEqual(s.split, { window_ms: 20, v1: 1, v2: 2, v2_pct: 66.7 });
  const none = analyzeRun({ name: 'swimd', records, dropped: 0, startedAt: 0, stoppedAt: 100, binMs: 50, proxySawV2: null, proxySawV1Draining: null, marks: [] });
  assert.equal(none.rollback, null);
  assert.equal(none.split_clients, null);
});

test('proxy: cookie parsing', () => {
  assert.equal(cookieValue('a=1; swimd_version=v2; b=3', 'swimd_version'), 'v2');
  assert.equal(cookieValue(undefined, 'swimd_version'), undefined);
  assert.equal(cookieValue('swimd_versionx=v1', 'swimd_version'), undefined);
});

function rec(start: number, version: string | null, client = 0, status = 200): RequestRecord {
  return { start, end: start + 1, client, status, version, error: status === 200 ? null : `HTTP ${status}` };
}

test('analysis: windows, gaps, split and per-client figures', () => {
  const records = [
    rec(0, 'v1', 0), rec(10, 'v1', 1), rec(20, 'v2', 0), rec(30, 'v1', 1), rec(40, 'v2', 1), rec(45, null, 0, 503), rec(100, 'v2', 0),
  ];
  const s = analyzeRun({
    name: 'swimd', records, dropped: 0, startedAt: 0, stoppedAt: 120, binMs: 50, proxySawV2: 18, proxySawV1Draining: 33,
    marks: [{ kind: 'register', at: 15 }, { kind: 'drain', at: 32 }],
  });
  assert.equal(s.sent, 7);
  assert.equal(s.failed, 1);
  assert.deepEqual(s.failures, { 'HTTP 503': 1 });
  assert.equal(s.register_to_first_v2_ms, 5);
  assert.equal(s.drain_to_last_v1_ms, -2);
  assert.equal(s.mixed_window_ms, 10);
  assert.equal(s.longest_gap_ms, 60);
  assert.equal(s.longest_gap_at_ms, 40);
  assert.deepEqual(s.split, { window_ms: 12, v1: 1, v2: 1, v2_pct: 50 });
  // Client 1: v1 at 10 and 30, v2 at 40 — no overlap; client 0: v1 at 0, v2 from 20 — none either.
  assert.deepEqual(s.per_client, { clients: 2, saw_both: 2, switched_back: 0, mixed_window_p50_ms: 0, mixed_window_max_ms: 0 });
  assert.deepEqual(s.proxy_learned_ms, { v2_eligible: 3, v1_draining: 1 });
  assert.equal(s.v1_after_proxy_knew_drain, 0);
  // 120 ms in bins of 50: two bins, the last 70 ms wide.
  assert.deepEqual(s.series.v1, [60, 0]);
  assert.deepEqual(s.series.v2, [40, 14.29]);
  assert.equal(overlap({ first: 0, last: 10 }, { first: 5, last: 20 }), 5);
  assert.equal(overlap({ first: 0, last: 4 }, { first: 5, last: 20 }), 0);
});

test('options: flags, defaults and errors', () => {
  const o = parseDeployArgs(['--scenario', 'deploy', '--only', 'naive,swimd', '--rate=100', '--duration', '10s', '--sticky', '--json', 'x.json']);
  assert.ok(o !== 'help');
  assert.deepEqual(o.runs, ['naive', 'swimd']);
  assert.equal(o.rate, 100);
  assert.equal(o.durationMs, 10_000);
  assert.equal(o.sticky, true);
  assert.equal(o.json, 'x.json');
  const d = parseDeployArgs([]);
  assert.ok(d !== 'help' && d.rate === 500);
  assert.equal(parseDeployArgs(['--scenario=deploy', '--help']), 'help');
  assert.ok(isDeployScenario(['--scenario', 'deploy']) && isDeployScenario(['--scenario=join,deploy']));
  assert.ok(!isDeployScenario(['--scenario', 'join']) && !isDeployScenario(['--json', 'deploy']));
  assert.throws(() => parseDeployArgs(['--only', 'fast']), OptionError);
  assert.throws(() => parseDeployArgs(['--duration', '10']), /unit is required/);
  assert.throws(() => parseDeployArgs(['--bogus']), /unknown option/);
});
