/**
 * `--wait` against real agents when a member freezes (SIGSTOP) during the wait: once the frozen
 * member is declared dead it no longer holds the wait up, but the command names it, in text and in
 * --json, and never says "confirmed by all".
 */
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, waitFor, withCluster, type Agent, type Cluster, type CliResult } from './helpers/cluster.js';

const WAIT_MS = 30_000;

async function allAlive(c: Cluster): Promise<void> {
  await waitFor('every agent to list all agents alive', async () => {
    const views = await Promise.all(c.agents.map((a) => c.membersOf(a)));
    return views.every((v) => v.length === c.agents.length && v.every((m) => m.status === 'alive'));
  }, WAIT_MS);
}

/**
 * Runs the command on `owner` through a socket relay that freezes `frozen` the moment the command
 * connects, so that the wait surely begins while the frozen member is still alive in the owner's
 * view (failure detection takes far longer than relaying one request); thaws it afterwards.
 */
async function duringFreeze(c: Cluster, owner: Agent, frozen: Agent, args: readonly string[]): Promise<CliResult> {
  await allAlive(c);
  const relayPath = join(c.dir, 'relay.sock');
  let froze = false;
  const relay = createServer((client) => {
    if (!froze) {
      froze = true;
      c.kill(frozen, 'SIGSTOP');
    }
    const agent = connect(owner.socket);
    client.pipe(agent);
    agent.pipe(client);
    client.on('error', () => agent.destroy());
    agent.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(relayPath, r));
  try {
    return await runCli([...args, '--socket', relayPath], {}, WAIT_MS);
  } finally {
    if (froze) c.kill(frozen, 'SIGCONT');
    await new Promise<void>((r) => relay.close(() => r()));
  }
}

test('3 agents, one frozen during register/drain --wait: the frozen member is named as excluded, never "confirmed by all"', { timeout: 240_000 }, async (t) => {
  await withCluster(t, 3, { profile: 'lan' }, async (c) => {
    const [owner, live, frozen] = c.agents as [Agent, Agent, Agent];
    await allAlive(c);

    const text = await duringFreeze(c, owner, frozen, ['register', '--name', 'web', '--id', 'web-1', '--port', '8080', '--wait', '10s']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(
      '^registered web-1; confirmed by 1 other alive member in \\d+ ms, not by 1 member that stopped answering during the wait:\\n' +
      `  ${frozen.name}: declared dead during the wait, did not confirm\\n$`));
    assert.ok(!text.stdout.includes(live.name), 'the live member is not named');

    const json = await duringFreeze(c, owner, frozen, ['drain', 'web-1', '--wait', '10s', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const wait = (JSON.parse(json.stdout) as { wait: Record<string, unknown> }).wait;
    assert.equal(wait['done'], true);
    assert.equal(wait['confirmed'], 1);
    assert.deepEqual(wait['pending'], []);
    assert.deepEqual(wait['excluded'], [{ name: frozen.name, status: 'dead' }]);
  });
});
