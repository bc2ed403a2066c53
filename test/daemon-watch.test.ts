/**
 * The watch stream, server side: the event log (indexes, ring bounds, event kinds) and
 * GET /v1/watch over a real Unix socket (snapshot, resume, reset, heartbeats, slow readers), and
 * the client's watch() against it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MemberEvent, MemberView, ServiceEvent, ServiceView } from '../protocol/effects.js';
import type { Route } from '../daemon/api/router.js';
import { ApiServer } from '../daemon/api/server.js';
import { Client, type WatchEvent } from '../client/index.js';
import { AgentEvents } from '../daemon/events.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';
import { EventLog, indexBase, type EventLogLimits } from '../daemon/watch/event-log.js';
import { memberEventKind, serviceEventKind } from '../daemon/watch/lines.js';
import { watchRoutes } from '../daemon/watch/routes-watch.js';
import { runWatchStream } from '../daemon/watch/stream.js';

const dir = mkdtempSync(join(tmpdir(), 'swimd-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

const BASE = indexBase(1_700_000_000_000);

function member(name: string, status: MemberView['status'], incarnation = 1): MemberView {
  return { name, host: '127.0.0.1', port: 7000, incarnation, status };
}

function service(id: string, patch: Partial<ServiceView> = {}): ServiceView {
  return {
    node: 'n0', id, name: 'web', address: '127.0.0.1', port: 8080, tags: ['v1'], meta: { zone: 'a' },
    version: '1.0', weight: 1, health: 'passing', draining: false, rev: 1, ...patch,
  };
}

function memberEvent(name: string, status: MemberView['status'], previous: MemberView['status'] | null): MemberEvent {
  return { type: 'member', member: member(name, status), previous };
}

class State {
  members: MemberView[] = [member('n0', 'alive')];
  services: ServiceView[] = [];
}

function newLog(limits?: Partial<EventLogLimits>): { log: EventLog; state: State } {
  const state = new State();
  const full: EventLogLimits = {
    events: DAEMON_LIMITS.watchLogEventsMax, bytes: DAEMON_LIMITS.watchLogBytesMax, streams: DAEMON_LIMITS.watchStreamsMax, ...limits,
  };
  const log = new EventLog({ members: () => state.members, services: () => state.services }, BASE, full);
  return { log, state };
}

async function serve(routes: Route[]): Promise<{ socket: string; api: ApiServer }> {
  const socket = join(dir, `w${serial++}.sock`);
  const api = await ApiServer.start({ socketPath: socket, routes, metrics: new Metrics(), log: silentLogger() });
  after(() => api.close());
  return { socket, api };
}

/** An open watch connection that collects lines as they arrive. */
interface Reader {
  readonly res: IncomingMessage;
  readonly lines: Record<string, unknown>[];
  /** Resolves once at least n lines have arrived. */
  until(n: number, ms?: number): Promise<Record<string, unknown>[]>;
  readonly ended: Promise<void>;
  close(): void;
}

function open(socket: string, path: string, opts: { paused?: boolean } = {}): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, agent: false }, (res) => {
      const lines: Record<string, unknown>[] = [];
      let pending = '';
      const waiters: (() => void)[] = [];
      const ended = new Promise<void>((r) => { res.on('end', r); res.on('close', r); });
      res.on('data', (c: Buffer) => {
        pending += c.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(pending.slice(0, nl)) as Record<string, unknown>);
          pending = pending.slice(nl + 1);
        }
        for (const w of waiters.splice(0)) w();
      });
      if (opts.paused === true) res.pause();
      const until = async (n: number, ms = 5_000): Promise<Record<string, unknown>[]> => {
        const deadline = Date.now() + ms;
        while (lines.length < n) {
          if (Date.now() > deadline) throw new Error(`only ${lines.length} of ${n} lines: ${JSON.stringify(lines).slice(0, 500)}`);
          await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
        }
        return lines;
      };
      resolve({ res, lines, until, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

test('member and service events are named for what changed', () => {
  assert.equal(memberEventKind(memberEvent('a', 'alive', null)), 'joined');
  assert.equal(memberEventKind(memberEvent('a', 'dead', null)), 'dead');
  assert.equal(memberEventKind(memberEvent('a', 'suspect', 'alive')), 'suspect');
  assert.equal(memberEventKind(memberEvent('a', 'alive', 'suspect')), 'alive');
  assert.equal(memberEventKind(memberEvent('a', 'left', 'alive')), 'left');
  assert.equal(memberEventKind(memberEvent('a', 'alive', 'alive')), 'updated');
  assert.equal(memberEventKind({ ...memberEvent('a', 'dead', 'dead'), reaped: true }), 'reaped');
  const s = (change: ServiceEvent['change'], now: Partial<ServiceView>, before: Partial<ServiceView> | null): ServiceEvent =>
    ({ type: 'service', change, service: service('w', { rev: 2, ...now }), previous: before === null ? null : service('w', before) });
  assert.equal(serviceEventKind(s('registered', {}, null)), 'registered');
  assert.equal(serviceEventKind(s('deregistered', {}, {})), 'deregistered');
  assert.equal(serviceEventKind(s('updated', { health: 'critical' }, {})), 'health');
  assert.equal(serviceEventKind(s('updated', { draining: true }, {})), 'drained');
  assert.equal(serviceEventKind(s('updated', {}, { draining: true })), 'undrained');
  assert.equal(serviceEventKind(s('updated', { draining: true, health: 'warning' }, {})), 'updated');
  assert.equal(serviceEventKind(s('updated', { port: 9090 }, {})), 'updated');
  // Same pairs in another order are no change; a version bump alone is an update.
  assert.equal(serviceEventKind(s('updated', { meta: { b: '2', a: '1' }, health: 'warning' }, { meta: { a: '1', b: '2' } })), 'health');
  assert.equal(serviceEventKind(s('updated', {}, {})), 'updated');
  assert.equal(serviceEventKind(s('updated', {}, null)), 'updated');
});

test('the log numbers events from its base and keeps a bounded ring', () => {
  const { log } = newLog({ events: 4 });
  assert.equal(log.index, BASE);
  assert.ok(log.canResumeAfter(BASE));
  assert.ok(!log.canResumeAfter(BASE - 1));
  assert.ok(!log.canResumeAfter(BASE + 1));
  for (let i = 1; i <= 6; i++) log.append(memberEvent(`m${i}`, 'alive', null));
  assert.equal(log.index, BASE + 6);
  assert.deepEqual(log.size.events, 4);
  // Events 3..6 are held: resuming after 2 or later works, after 1 does not.
  assert.ok(log.canResumeAfter(BASE + 2));
  assert.ok(!log.canResumeAfter(BASE + 1));
  assert.equal(log.lineAt(BASE + 2), null);
  const third = JSON.parse(log.lineAt(BASE + 3) ?? 'null') as Record<string, unknown>;
  assert.deepEqual(third, {
    index: BASE + 3, type: 'member', event: 'joined',
    member: { name: 'm3', address: '127.0.0.1', port: 7000, status: 'alive', incarnation: 1 },
  });
  assert.equal(log.lineAt(BASE + 7), null);
});

test('the log is bounded by bytes too, keeping at least the newest event', () => {
  const { log } = newLog({ bytes: 1_000 });
  const fat = (i: number): ServiceEvent => ({
    type: 'service', change: 'registered', previous: null, service: service(`s${i}`, { meta: { pad: 'x'.repeat(300) } }),
  });
  for (let i = 0; i < 10; i++) log.append(fat(i));
  const lineBytes = Buffer.byteLength(log.lineAt(log.index) ?? '');
  assert.ok(log.size.bytes <= 1_000, `${log.size.bytes}`);
  assert.equal(log.size.events, Math.floor(1_000 / lineBytes));
  const { log: tiny } = newLog({ bytes: 10 });
  tiny.append(fat(0));
  tiny.append(fat(1));
  assert.equal(tiny.size.events, 1);
  assert.notEqual(tiny.lineAt(tiny.index), null);
});

test('a restarted agent starts above every index of its earlier lifetime', () => {
  const first = indexBase(1_700_000_000_000);
  const second = indexBase(1_700_000_000_001);
  assert.ok(first + 999 < second);
  assert.ok(Number.isSafeInteger(indexBase(Date.now()) + 1e9));
});

test('watch: a snapshot, then live events with increasing indexes', async () => {
  const { log, state } = newLog();
  state.services = [service('w2', { name: 'api' }), service('w1')];
  log.append(memberEvent('n0', 'alive', null));
  const { socket } = await serve(watchRoutes(log));
  const r = await open(socket, '/v1/watch');
  const [snap] = await r.until(1);
  assert.deepEqual(snap, {
    type: 'snapshot', index: BASE + 1, reset: false,
    members: [{ name: 'n0', address: '127.0.0.1', port: 7000, status: 'alive', incarnation: 1 }],
    services: [
      { node: 'n0', id: 'w2', name: 'api', address: '127.0.0.1', port: 8080, tags: ['v1'], meta: { zone: 'a' }, version: '1.0', weight: 1, health: 'passing', draining: false, rev: 1, effective_weight: 1 },
      { node: 'n0', id: 'w1', name: 'web', address: '127.0.0.1', port: 8080, tags: ['v1'], meta: { zone: 'a' }, version: '1.0', weight: 1, health: 'passing', draining: false, rev: 1, effective_weight: 1 },
    ],
    splits: [],
  });
  log.append(memberEvent('n1', 'alive', null));
  log.append({ type: 'service', change: 'updated', service: service('w1', { rev: 2, draining: true }), previous: service('w1') });
  const lines = await r.until(3);
  assert.deepEqual(lines.map((l) => [l['index'], l['type'], l['event']]), [
    [BASE + 1, 'snapshot', undefined], [BASE + 2, 'member', 'joined'], [BASE + 3, 'service', 'drained'],
  ]);
  assert.equal((lines[2]?.['previous'] as Record<string, unknown>)['draining'], false);
  assert.equal(log.streams, 1);
  r.close();
  await r.ended;
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(log.streams, 0);
});

test('watch: ?index=N within the log resumes with exactly the events after N, no snapshot', async () => {
  const { log } = newLog();
  for (let i = 1; i <= 5; i++) log.append(memberEvent(`m${i}`, 'alive', null));
  const { socket } = await serve(watchRoutes(log));
  const r = await open(socket, `/v1/watch?index=${BASE + 2}`);
  await r.until(3);
  log.append(memberEvent('m6', 'alive', null));
  const lines = await r.until(4);
  assert.deepEqual(lines.map((l) => l['index']), [BASE + 3, BASE + 4, BASE + 5, BASE + 6]);
  assert.ok(lines.every((l) => l['type'] === 'member'));
  r.close();
  // Resuming at the newest index: nothing to replay, the next line is the next event.
  const r2 = await open(socket, `/v1/watch?index=${BASE + 6}`);
  log.append(memberEvent('m7', 'alive', null));
  assert.deepEqual((await r2.until(1)).map((l) => l['index']), [BASE + 7]);
  r2.close();
});

test('watch: an index too old, ahead, or from another lifetime gets a reset snapshot', async () => {
  const { log } = newLog({ events: 3 });
  for (let i = 1; i <= 5; i++) log.append(memberEvent(`m${i}`, 'alive', null));
  const { socket } = await serve(watchRoutes(log));
  for (const n of [BASE + 1, BASE + 6, BASE - 1000, 0]) {
    const r = await open(socket, `/v1/watch?index=${n}`);
    const [snap] = await r.until(1);
    assert.equal(snap?.['type'], 'snapshot', `index ${n}`);
    assert.equal(snap?.['reset'], true, `index ${n}`);
    assert.equal(snap?.['index'], BASE + 5, `index ${n}`);
    r.close();
  }
  // The oldest resumable index is the one just before the oldest event held.
  const ok = await open(socket, `/v1/watch?index=${BASE + 2}`);
  assert.deepEqual((await ok.until(3)).map((l) => l['index']), [BASE + 3, BASE + 4, BASE + 5]);
  ok.close();
});

test('watch: bad index is a 400; too many streams a 503', async () => {
  const { log } = newLog({ streams: 1 });
  const { socket } = await serve(watchRoutes(log));
  for (const bad of ['-1', 'abc', '1e3', '99999999999999999', '']) {
    const r = await open(socket, `/v1/watch?index=${encodeURIComponent(bad)}`);
    assert.equal(r.res.statusCode, 400, bad);
    r.close();
  }
  const first = await open(socket, '/v1/watch');
  await first.until(1);
  const second = await open(socket, '/v1/watch');
  assert.equal(second.res.statusCode, 503);
  second.close();
  first.close();
});

test('watch: an idle stream carries heartbeats with the current index', async () => {
  const { log } = newLog();
  log.append(memberEvent('m1', 'alive', null));
  const { socket } = await serve([{
    method: 'GET', pattern: '/v1/watch', body: 'none',
    handle: () => ({ kind: 'ndjson', run: (sink) => runWatchStream(log, sink, { after: undefined, heartbeatMs: 40 }) }),
  }]);
  const r = await open(socket, '/v1/watch');
  const lines = await r.until(3);
  assert.deepEqual(lines.slice(1, 3), [{ type: 'heartbeat', index: BASE + 1 }, { type: 'heartbeat', index: BASE + 1 }]);
  log.append(memberEvent('m2', 'alive', null));
  await r.until(4);
  assert.ok(r.lines.some((l) => l['index'] === BASE + 2 && l['type'] === 'member'));
  r.close();
});

test('watch: a reader that stops reading is cut off with an error line naming its resume index', async () => {
  const { log } = newLog({ events: 50, bytes: 200_000 });
  const { socket } = await serve([{
    method: 'GET', pattern: '/v1/watch', body: 'none',
    handle: () => ({ kind: 'ndjson', run: (sink) => runWatchStream(log, sink, { after: undefined, bufferBytes: 4_096 }) }),
  }]);
  const r = await open(socket, '/v1/watch', { paused: true });
  const pad = 'x'.repeat(200);
  const meta: Record<string, string> = {};
  for (let k = 0; k < 30; k++) meta[`k${k}`] = pad;
  // Far more than the socket buffers and the log hold together: the reader must fall out of the log.
  for (let i = 0; i < 1_000; i++) {
    log.append({ type: 'service', change: 'registered', previous: null, service: service(`s${i}`, { meta }) });
    if (i % 50 === 0) await new Promise((res) => setImmediate(res));
  }
  await new Promise((res) => setTimeout(res, 50));
  r.res.resume();
  await r.ended;
  const last = r.lines.at(-1);
  assert.equal(last?.['type'], 'error', JSON.stringify(last).slice(0, 200));
  const events = r.lines.slice(1, -1);
  assert.ok(events.length < 1_000);
  // What arrived is gap-free up to the index the error line names.
  events.forEach((l, i) => assert.equal(l['index'], BASE + 1 + i));
  assert.equal(last?.['index'], BASE + events.length);
  assert.equal(last?.['error'], `consumer too slow; reconnect with ?index=${BASE + events.length}`);
  assert.equal(log.streams, 0);
});

test('client watch(): reconnects after the agent restarts and yields the reset snapshot', async () => {
  const socket = join(dir, `w${serial++}.sock`);
  const start = async (base: number): Promise<{ api: ApiServer; log: EventLog }> => {
    const state = new State();
    const log = new EventLog({ members: () => state.members, services: () => state.services }, base);
    const api = await ApiServer.start({ socketPath: socket, routes: watchRoutes(log), metrics: new Metrics(), log: silentLogger() });
    return { api, log };
  };
  let agent = await start(BASE);
  agent.log.append(memberEvent('m1', 'alive', null));
  const seen: WatchEvent[] = [];
  const ctl = new AbortController();
  const done = (async () => {
    for await (const ev of new Client({ socketPath: socket }).watch({ signal: ctl.signal, initialBackoffMs: 20 })) {
      seen.push(ev);
      if (seen.length === 2) {
        await agent.api.close();
        agent = await start(indexBase(1_700_000_001_000));
        agent.log.append(memberEvent('m9', 'alive', null));
      }
      if (seen.length === 3) {
        agent.log.append(memberEvent('m10', 'alive', null));
      }
      if (seen.length === 4) ctl.abort();
    }
  })();
  // Let the client see the first snapshot before the second event.
  await new Promise((res) => setTimeout(res, 100));
  agent.log.append(memberEvent('m2', 'alive', null));
  await done;
  await agent.api.close();
  const second = indexBase(1_700_000_001_000);
  assert.deepEqual(seen.map((e) => [e.type, e.index, e.type === 'snapshot' ? e.reset : null]), [
    ['snapshot', BASE + 1, false], ['member', BASE + 2, null], ['snapshot', second + 1, true], ['member', second + 2, null],
  ]);
});

test('AgentEvents feed the log once attached', () => {
  const events = new AgentEvents(silentLogger());
  const { log } = newLog();
  log.attach(events);
  events.emit(memberEvent('m1', 'alive', null));
  assert.equal(log.index, BASE + 1);
  log.detach();
  events.emit(memberEvent('m2', 'alive', null));
  assert.equal(log.index, BASE + 1);
});
