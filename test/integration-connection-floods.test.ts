/**
 * Connection floods that cost an attacker nothing: idle TCP connections to the gossip port, partial
 * requests on the local socket. Neither may lock joining agents or the CLI out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, isClientError } from '../client/index.js';
import { runCli, waitFor, withCluster, type Agent } from './helpers/cluster.js';

/** Opens `n` connections and resolves once each is connected (or has failed). */
async function openIdle(n: number, connect: () => Socket, held: Socket[]): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = connect();
    held.push(s);
    s.on('error', () => resolve());
    s.on('connect', () => resolve());
  })));
}

test('40 idle connections to the gossip port from one host do not block a join through that agent', { timeout: 60_000 }, async (t) => {
  await withCluster(t, 2, { profile: 'local' }, async (c) => {
    const [seed, joiner] = c.agents as [Agent, Agent];
    const held: Socket[] = [];
    t.after(() => { for (const s of held) s.destroy(); });
    // From another loopback address than the agents', as a host elsewhere would.
    await openIdle(40, () => createConnection({ host: '127.0.0.1', port: seed.port, localAddress: '127.0.0.2' }), held);
    const r = await joiner.client.join([`127.0.0.1:${seed.port}`]);
    assert.equal(r.joined, 1, `join through the flooded agent: ${JSON.stringify(r.failed)}`);
    // And a new agent can still come in through it.
    const late = await c.add('late', [`127.0.0.1:${seed.port}`]);
    await waitFor('the late agent sees the seed', async () =>
      (await late.client.members()).some((m) => m.name === seed.name && m.status === 'alive'), 10_000);
  });
});

test('partial requests flooding the socket: the CLI says the agent is busy (or answers), never EPIPE', { timeout: 60_000 }, async (t) => {
  await withCluster(t, 1, { profile: 'local' }, async (c) => {
    const a = c.agents[0] as Agent;
    const held: Socket[] = [];
    t.after(() => { for (const s of held) s.destroy(); });
    // 140 fill the served connections and some of the room to answer "busy"; 300 more than both.
    for (const flood of [140, 300]) {
      for (const s of held.splice(0)) s.destroy();
      await openIdle(flood, () => {
        const s = createConnection({ path: a.socket });
        s.on('connect', () => s.write('GET /v1/members HTTP/1.1\r\nHost: swimd\r\n'));
        return s;
      }, held);
      for (const args of [['members'], ['info', '--json']]) {
        const what = `swimd ${args.join(' ')} after ${flood} partial requests`;
        const r = await runCli([...args, '--socket', a.socket]);
        t.diagnostic(`${what}: exit ${r.code} ${r.stderr.trim()}`);
        assert.doesNotMatch(r.stderr, /EPIPE|ECONNRESET/, what);
        if (r.code !== 0) assert.match(r.stderr, /busy.*try again/, what);
      }
    }
    for (const s of held.splice(0)) s.destroy();
    await waitFor('the agent answers once the flood is gone', () => a.client.info().then(() => true, () => false), 15_000);
  });
});

test('a connection the agent closes unanswered is reported as a busy agent, not a socket error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-busy-'));
  const path = join(dir, 'a.sock');
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });
  await assert.rejects(new Client({ socketPath: path }).info(), (e: unknown) => {
    assert.ok(isClientError(e));
    assert.match(e.message, /busy.*try again/);
    assert.doesNotMatch(e.message, /EPIPE|ECONNRESET|hang up/);
    return true;
  });
});
