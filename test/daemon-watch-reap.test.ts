/**
 * A member that is reaped (forgotten after being dead or gone long enough) leaves the watch stream
 * too: a client that rebuilds the member list from a snapshot and the events after it ends up with
 * what a fresh snapshot says. The core's events reach the agent's event log as in the daemon.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApiServer } from '../daemon/api/server.js';
import { Client, type Member, type WatchEvent } from '../client/index.js';
import { AgentEvents } from '../daemon/events.js';
import { silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';
import { EventLog, indexBase } from '../daemon/watch/event-log.js';
import { watchRoutes } from '../daemon/watch/routes-watch.js';
import { encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import type { GossipMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';
import { formatWatchEvent } from '../cli/watch-format.js';

const dir = mkdtempSync(join(tmpdir(), 'swimd-watch-reap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(pred: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('watch: a reaped member is removed by a "reaped" event, so a replayed view matches a fresh snapshot', async () => {
  const node = new SwimNode({ name: 'a', host: '127.0.0.1', port: 7001, profile: PROFILES.local, seed: 3, now: 0 });
  const events = new AgentEvents(silentLogger());
  const log = new EventLog({ members: () => node.members(), services: () => node.services() }, indexBase(1_700_000_000_000));
  log.attach(events);
  const feed = (effects: readonly Effect[]): void => {
    for (const e of effects) if (e.kind === 'event' || e.kind === 'service') events.emit(e.event);
  };
  const deliver = (now: number, msg: GossipMsg): void => feed(node.handlePacket(now, { host: '127.0.0.1', port: 7002 }, encodePacket(msg)));
  deliver(10, { type: 'alive', name: 'x', host: '127.0.0.1', port: 7003, incarnation: 0 });
  deliver(10, { type: 'alive', name: 'y', host: '127.0.0.1', port: 7004, incarnation: 0 });

  const socket = join(dir, 'agent.sock');
  const api = await ApiServer.start({ socketPath: socket, routes: watchRoutes(log), metrics: new Metrics(), log: silentLogger() });
  after(() => api.close());
  const client = new Client({ socketPath: socket });

  // A consumer that keeps the member list from the stream alone.
  const replayed = new Map<string, Member>();
  const lines: string[] = [];
  let lastIndex = 0;
  const ctl = new AbortController();
  const consumer = (async () => {
    for await (const ev of client.watch({ signal: ctl.signal }) as AsyncIterable<WatchEvent>) {
      lastIndex = ev.index;
      if (ev.type === 'snapshot') {
        replayed.clear();
        for (const m of ev.members) replayed.set(m.name, m);
      } else if (ev.type === 'member') {
        if (ev.event === 'reaped') replayed.delete(ev.member.name);
        else replayed.set(ev.member.name, ev.member);
        lines.push(formatWatchEvent(ev, new Date(0)) ?? '');
      }
    }
  })().catch((err: unknown) => {
    if (!ctl.signal.aborted) throw err;
  });
  await waitFor(() => replayed.has('x'), 'the first snapshot');

  deliver(1_000, { type: 'dead', name: 'x', incarnation: 0, from: 'y' });
  const until = 1_000 + PROFILES.local.reapAfterMs + 60_000;
  for (let t = node.nextDeadline(); t !== null && t <= until; t = node.nextDeadline()) feed(node.tick(t));
  assert.equal(node.member('x'), undefined, 'x is reaped by the core');

  await waitFor(() => lastIndex === log.index, 'every event');
  ctl.abort();
  await consumer;

  const fresh: Member[] = [];
  for await (const ev of client.watch({}) as AsyncIterable<WatchEvent>) {
    if (ev.type === 'snapshot') fresh.push(...ev.members);
    break;
  }
  const byName = (a: Member, b: Member): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  assert.deepEqual([...replayed.values()].sort(byName), fresh.sort(byName), 'the replayed view equals a fresh snapshot');
  assert.ok(lines.some((l) => /member\s+reaped\s+x 127\.0\.0\.1:7003 \(dead, incarnation 0\)/.test(l)), `swimd watch shows the reap: ${lines.join(' | ')}`);
});
