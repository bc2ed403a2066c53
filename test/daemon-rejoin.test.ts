/**
 * A restarted agent rejoins through the members it knew, not only through its --join seeds: the
 * README's three-agent demo with the seed agent stopped (SIGTERM: a graceful leave; SIGKILL: a crash)
 * and started again with its first command, which has no --join. TTL-checked instances come back
 * with their last reported status until the TTL they were given runs out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Member, ServiceEntry } from '../client/index.js';
import { sleep, waitFor, withCluster, type Agent, type Cluster } from './helpers/cluster.js';

function statusOf(members: readonly Member[], name: string): string | undefined {
  return members.find((m) => m.name === name)?.status;
}

async function servicesOf(a: Agent, node: string): Promise<ServiceEntry[]> {
  return (await a.client.services()).filter((s) => s.node === node);
}

async function restartSeedAlone(c: Cluster, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const [seed, b, d] = c.agents as [Agent, Agent, Agent];
  await seed.client.register({ name: 'web', port: 8080 });
  for (const a of c.agents) {
    await waitFor(`${a.name} sees everyone alive and the seed's service`, async () =>
      (await a.client.members()).filter((m) => m.status === 'alive').length === 3 && (await servicesOf(a, seed.name)).length === 1);
  }
  c.kill(seed, signal);
  await seed.exited;
  const gone = signal === 'SIGTERM' ? 'left' : 'dead';
  for (const a of [b, d]) {
    await waitFor(`${a.name} holds ${seed.name} as ${gone}`, async () => statusOf(await a.client.members(), seed.name) === gone);
  }
  // The first command again: no --join.
  await c.restart(seed, []);
  for (const a of c.agents) {
    await waitFor(`${a.name} sees all three alive again`, async () => {
      const ms = await a.client.members();
      return ['n0', 'n1', 'n2'].every((n) => statusOf(ms, n) === 'alive');
    }, 8_000);
  }
  for (const a of [b, d]) {
    await waitFor(`${a.name} sees the seed's service again`, async () => (await servicesOf(a, seed.name)).length === 1, 8_000);
  }
}

test('the seed agent stopped with SIGTERM and started without --join rejoins, services and all', { timeout: 90_000 }, async (t) => {
  await withCluster(t, 3, {}, (c) => restartSeedAlone(c, 'SIGTERM'));
});

test('the seed agent killed with SIGKILL and started without --join rejoins, services and all', { timeout: 90_000 }, async (t) => {
  await withCluster(t, 3, {}, (c) => restartSeedAlone(c, 'SIGKILL'));
});

async function restartWithSeedDown(c: Cluster, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const [seed, b, d] = c.agents as [Agent, Agent, Agent];
  for (const a of c.agents) {
    await waitFor(`${a.name} sees everyone alive`, async () => (await a.client.members()).filter((m) => m.status === 'alive').length === 3);
  }
  await d.client.register({ name: 'api', port: 9090 });
  await waitFor(`${b.name} sees ${d.name}'s service`, async () => (await servicesOf(b, d.name)).length === 1);
  // A crash loses what was not written yet: members.json follows membership a moment later.
  await waitFor(`${d.name} saved the members it knows`, () => {
    try {
      return readFileSync(join(d.dataDir, 'members.json'), 'utf8').includes(`"port":${b.port}`);
    } catch {
      return false;
    }
  });
  c.kill(seed, 'SIGKILL');
  await seed.exited;
  c.kill(d, signal);
  await d.exited;
  // Its own command (--join the seed, which is down): only the members it knew can take it back.
  await c.restart(d, [`127.0.0.1:${seed.port}`]);
  await waitFor(`${d.name} and ${b.name} see each other alive`, async () =>
    statusOf(await d.client.members(), b.name) === 'alive' && statusOf(await b.client.members(), d.name) === 'alive', 8_000);
  await waitFor(`${b.name} sees ${d.name}'s service again`, async () => (await servicesOf(b, d.name)).length === 1, 8_000);
}

test('an agent whose seeds are down rejoins through the members it knew (after a leave)', { timeout: 90_000 }, async (t) => {
  await withCluster(t, 3, {}, (c) => restartWithSeedDown(c, 'SIGTERM'));
});

test('an agent whose seeds are down rejoins through the members it knew (after a crash)', { timeout: 90_000 }, async (t) => {
  await withCluster(t, 3, {}, (c) => restartWithSeedDown(c, 'SIGKILL'));
});

test('a TTL-checked instance comes back with its last report while its TTL runs, critical after', { timeout: 90_000 }, async (t) => {
  await withCluster(t, 1, {}, async (c) => {
    const [a] = c.agents as [Agent];
    await a.client.register({ name: 'long', port: 8080, check: { ttl: '5m' } });
    await a.client.register({ name: 'short', port: 8081, check: { ttl: '2s' } });
    await a.client.check('long', 'pass');
    await a.client.check('short', 'pass');
    c.kill(a, 'SIGTERM');
    await a.exited;
    // Past the short TTL, well within the long one.
    await sleep(2_500);
    await c.restart(a, []);
    const health = new Map((await a.client.services()).map((s) => [s.id, s.health]));
    assert.equal(health.get('long'), 'passing', 'reported passing, restarted within its TTL');
    assert.equal(health.get('short'), 'critical', 'its TTL ran out while the agent was down');
    await a.client.check('short', 'pass');
    c.kill(a, 'SIGKILL');
    await a.exited;
    await c.restart(a, []);
    assert.equal(new Map((await a.client.services()).map((s) => [s.id, s.health])).get('short'), 'passing', 'after a crash too');
    await waitFor('the restored status expires with the TTL it was given', async () =>
      (await a.client.services()).find((s) => s.id === 'short')?.health === 'critical', 10_000);
  });
});
