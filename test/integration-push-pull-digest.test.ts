/**
 * Push-pull with state digests between real agents over TCP: an agent answers a digest equal to
 * its own "in sync" with no state and any other with its full state, and two agents' periodic
 * exchanges (digest first) complete as successes while they stay in agreement.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pushPullRequest } from '../daemon/net/stream-transport.js';
import { decodePushPull, encodePushPull } from '../protocol/codec.js';
import type { PushPullMsg, StateDigest } from '../protocol/messages.js';
import { DigestBuilder } from '../protocol/state-digest.js';
import { waitFor } from './helpers/cluster.js';
import { call, startAgent, tempDir } from './helpers/local-agent.js';

function digestRequest(digest: StateDigest): Uint8Array {
  return encodePushPull({ type: 'push-pull', join: false, source: 'outsider', members: [], services: [], digest });
}

async function ask(to: { host: string; port: number }, digest: StateDigest): Promise<PushPullMsg> {
  const reply = decodePushPull(await pushPullRequest(to, digestRequest(digest)));
  assert.ok(reply.ok, reply.ok ? '' : reply.detail);
  return reply.value;
}

/** `counter` summed over the series of a Prometheus text exposition whose labels contain `labels`. */
function metric(text: string, counter: string, labels: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${counter}{`) && line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('an agent answers its own digest "in sync" over TCP, and another digest with its full state', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const agent = await startAgent(t, dir, { name: 'n1' });
  // An agent with no services or splits: its state is its member list, itself alone.
  const d = new DigestBuilder();
  for (const m of agent.members()) d.member(m);
  const own = d.result();
  const inSync = await ask(agent.address, own);
  assert.equal(inSync.inSync, true);
  assert.deepEqual(inSync.members, []);
  const other = await ask(agent.address, { a: (own.a + 1) >>> 0, b: own.b });
  assert.equal(other.inSync, undefined);
  assert.deepEqual(other.members.map((m) => m.name), ['n1']);
  const metrics = (await call(agent.config.socket, 'GET', '/v1/metrics')).text;
  assert.equal(metric(metrics, 'swimd_push_pull_streams_total', 'direction="in",result="ok"'), 2, metrics);
});

test('two agents\' periodic exchanges succeed while they agree', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'n1' });
  const b = await startAgent(t, dir, { name: 'n2' });
  const joined = await call(b.config.socket, 'POST', '/v1/join', { addresses: [`${a.address.host}:${a.address.port}`] });
  assert.equal(joined.status, 200, joined.text);
  await waitFor('both agents list both alive', async () =>
    [a, b].every((x) => x.members().filter((m) => m.status === 'alive').length === 2) ? true : null, 20_000);
  const okOut = async (): Promise<number> => {
    let n = 0;
    for (const x of [a, b]) n += metric((await call(x.config.socket, 'GET', '/v1/metrics')).text, 'swimd_push_pull_streams_total', 'direction="out",result="ok"');
    return n;
  };
  const start = await okOut();
  // The local profile starts an exchange every 10 s per agent: a few of them, each a success.
  await waitFor('three periodic exchanges complete', async () => ((await okOut()) >= start + 3 ? true : null), 60_000);
  for (const x of [a, b]) {
    const text = (await call(x.config.socket, 'GET', '/v1/metrics')).text;
    assert.equal(metric(text, 'swimd_push_pull_streams_total', 'result="failed"'), 0, text);
    assert.equal(metric(text, 'swimd_packets_rejected_total', ''), 0, text);
  }
  assert.deepEqual(a.members().map((m) => `${m.name}/${m.status}`).sort(), b.members().map((m) => `${m.name}/${m.status}`).sort());
  // Each agent's digest, as computed from its member list, is the one its peer holds: each answers the other's "in sync".
  for (const [x, y] of [[a, b], [b, a]] as const) {
    const d = new DigestBuilder();
    for (const m of y.members()) d.member(m);
    assert.equal((await ask(x.address, d.result())).inSync, true, `${x.config.name} agrees with ${y.config.name}`);
  }
});
