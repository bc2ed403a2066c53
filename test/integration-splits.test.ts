/**
 * Splits across 3 real agent processes: `swimd split --wait` on one returns once all hold it, every
 * agent's services show the effective weights, concurrent writers on different hosts converge on
 * one split, a restarted agent keeps it, and bad input exits 2 with nothing changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SplitJson } from '../client/index.js';
import { runCli, waitFor, withCluster, type Agent, type Cluster } from './helpers/cluster.js';

const WAIT_MS = 30_000;

async function splitsOf(a: Agent): Promise<SplitJson[]> {
  return a.client.splits();
}

async function allHold(c: Cluster, ok: (s: SplitJson | undefined) => boolean): Promise<void> {
  await waitFor('every agent to hold the split', async () => {
    const views = await Promise.all(c.agents.map((a) => splitsOf(a)));
    return views.every((v) => ok(v.find((s) => s.service === 'app')));
  }, WAIT_MS);
}

test('3 agents: split --wait, effective weights everywhere, concurrent writers converge, restart keeps it, bad input exits 2', { timeout: 240_000 }, async (t) => {
  await withCluster(t, 3, { profile: 'local' }, async (c) => {
    const [a, b, d] = c.agents as [Agent, Agent, Agent];
    await waitFor('all alive', async () => (await Promise.all(c.agents.map((x) => c.membersOf(x)))).every((v) => v.filter((m) => m.status === 'alive').length === 3), WAIT_MS);
    await a.client.register({ name: 'app', id: 'app-v1', port: 9001, version: 'v1' }, { wait: '10s' });
    await b.client.register({ name: 'app', id: 'app-v2', port: 9002, version: 'v2' }, { wait: '10s' });

    for (const args of [['v1=90', 'v2=20'], ['v1=90', 'v2=x'], ['v1'], ['v1=-5', 'v2=105']]) {
      const r = await runCli(['split', 'app', ...args, '--socket', a.socket]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
    const unknown = await runCli(['split', 'nothing', 'v1=100', '--socket', a.socket]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /no instance of service "nothing"/);
    assert.deepEqual(await splitsOf(a), [], 'refused input changed nothing');

    const set = await runCli(['split', 'app', 'v1=90', 'v2=10', '--wait', '10s', '--socket', d.socket]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^split app: v1=90 v2=10; confirmed by all 2 other alive members in \d+ ms\n$/);
    // --wait returned: every agent holds it now, with no further waiting.
    for (const x of c.agents) assert.deepEqual((await splitsOf(x)).map((s) => s.weights), [{ v1: 90, v2: 10 }], x.name);
    for (const x of c.agents) {
      const w = Object.fromEntries((await x.client.services({ name: 'app' })).map((s) => [s.id, s.effective_weight]));
      assert.deepEqual(w, { 'app-v1': 90, 'app-v2': 10 }, x.name);
    }
    const shown = await runCli(['split', 'app', '--socket', b.socket]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^app: v1=90 v2=10 \(set by /);

    // Concurrent writers on every host: all settle on the same write.
    const results = await Promise.all([
      a.client.setSplit('app', { v1: 50, v2: 50 }),
      b.client.setSplit('app', { v1: 10, v2: 90 }),
      d.client.setSplit('app', { v1: 100 }),
    ]);
    const top = results.map((r) => r.split!).reduce((x, y) => {
      const cx = [x.hlc.wall_ms, x.hlc.counter, x.writer] as const;
      const cy = [y.hlc.wall_ms, y.hlc.counter, y.writer] as const;
      return cy[0] > cx[0] || (cy[0] === cx[0] && (cy[1] > cx[1] || (cy[1] === cx[1] && cy[2] > cx[2]))) ? y : x;
    });
    await allHold(c, (s) => s !== undefined && s.writer === top.writer && s.hlc.wall_ms === top.hlc.wall_ms && s.hlc.counter === top.hlc.counter);
    for (const x of c.agents) assert.deepEqual((await splitsOf(x))[0]?.weights, top.weights, x.name);

    // A restarted agent keeps it (from its data dir), and the rest still agree.
    c.kill(b, 'SIGTERM');
    await b.exited;
    await c.restart(b);
    const kept = await splitsOf(b);
    assert.deepEqual(kept.map((s) => s.weights), [top.weights], 'held right after the restart');

    const cleared = await runCli(['split', 'app', '--clear', '--wait', '10s', '--socket', b.socket]);
    assert.equal(cleared.code, 0, cleared.stderr);
    for (const x of c.agents) assert.deepEqual(await splitsOf(x), [], x.name);
  });
});
