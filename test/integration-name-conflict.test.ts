/**
 * A second real agent with a member's name (a cloned host keeps the host name) joins a cluster of
 * three: it exits with the name-conflict status naming the address already in use, and the first
 * agent keeps its address and services on every member.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT_NAME_CONFLICT } from '../daemon/run.js';
import { runCli, sleep, waitFor, withCluster } from './helpers/cluster.js';

test('an agent whose name is already in use refuses to join; the first keeps its address and services', async (t) => {
  await withCluster(t, 3, { profile: 'local' }, async (c) => {
    const [n0, n1, n2] = c.agents;
    assert.ok(n0 !== undefined && n1 !== undefined && n2 !== undefined);
    await n1.client.register({ name: 'web', port: 8080 });
    for (const a of c.agents) {
      await waitFor(`${a.name} holds n1/web`, async () => (await a.client.services()).some((s) => s.node === 'n1' && s.id === 'web'));
    }

    const dataDir = join(c.dir, 'clone');
    mkdirSync(dataDir, { recursive: true });
    const r = await runCli([
      'agent', '--name', 'n1', '--bind', '127.0.0.1:0', '--socket', join(c.dir, 'clone.sock'), '--data-dir', dataDir,
      '--profile', 'local', '--join', `127.0.0.1:${n0.port}`,
    ], {}, 30_000);
    assert.equal(r.code, EXIT_NAME_CONFLICT, `the clone must exit with ${EXIT_NAME_CONFLICT}; stderr:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`another live agent at 127\\.0\\.0\\.1:${n1.port} already uses the name "n1"`), r.stderr);

    // Give any damage time to spread (several gossip rounds of the local profile), then look.
    await sleep(1_000);
    for (const a of c.agents) {
      const m = (await a.client.members()).find((x) => x.name === 'n1');
      assert.equal(m?.port, n1.port, `${a.name} must hold n1 at its own port`);
      assert.equal(m?.status, 'alive', `${a.name} must hold n1 alive`);
      const web = (await a.client.services()).find((s) => s.node === 'n1' && s.id === 'web');
      assert.ok(web !== undefined, `${a.name} lost n1/web`);
      assert.equal(web.health, 'passing');
    }
    // The seed refused the clone's claim and counted it.
    const metrics = await n0.client.metrics();
    const counted = /^swimd_name_conflicts_total\{about="member"\} (\d+)$/m.exec(metrics);
    assert.ok(counted !== null && Number(counted[1]) >= 1, `n0 must count the conflict:\n${metrics.split('\n').filter((l) => l.includes('conflict')).join('\n')}`);
  });
});
