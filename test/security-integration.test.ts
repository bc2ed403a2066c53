/**
 * Encryption and cluster labels with real `swimd agent` processes on loopback: who can and cannot
 * join whom, one log line per misconfigured peer, a key rotation across a running cluster with
 * nobody suspected, and the keyring surviving a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKey, keyFingerprint, parseKey } from '../client/contract/key.js';
import { runCli, sleep, waitFor, withCluster, type Agent, type Cluster } from './helpers/cluster.js';
import { MemberMonitor, rejected, sample, writeKeyFile } from './helpers/security.js';

type TestCtx = { after: (fn: () => void | Promise<void>) => void };

function tempDir(t: TestCtx): string {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-sec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function seedOf(a: Agent): string {
  return `127.0.0.1:${a.port}`;
}

function first(c: Cluster): Agent {
  const a = c.agents[0];
  assert.ok(a !== undefined);
  return a;
}

/** Member names `a` sees alive, sorted. */
async function aliveNames(a: Agent): Promise<string[]> {
  return (await a.client.members()).filter((m) => m.status === 'alive').map((m) => m.name).sort();
}

async function allSeeAlive(agents: readonly Agent[], n: number): Promise<void> {
  await waitFor(`${agents.length} agents each seeing ${n} alive`, async () => {
    const views = await Promise.all(agents.map(aliveNames));
    return views.every((v) => v.length === n);
  }, 30_000);
}

function logLines(a: Agent, msg: string): Record<string, unknown>[] {
  return readFileSync(a.logFile, 'utf8').split('\n').filter((l) => l.includes(msg)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A stranger with other settings tries to join `target` for a while; it must stay alone. */
async function assertNotAdmitted(target: Agent, targetSees: number, stranger: Agent, strangerName: string): Promise<void> {
  const r = await stranger.client.join([seedOf(target)]);
  assert.equal(r.joined, 0, `the join was refused: ${JSON.stringify(r.failed)}`);
  // The stranger's core keeps retrying the join in the background: give it time to get through.
  await sleep(3_000);
  assert.deepEqual(await aliveNames(stranger), [strangerName]);
  const seen = await aliveNames(target);
  assert.equal(seen.length, targetSees);
  assert.ok(!seen.includes(strangerName));
}

test('agents with different keys never see each other; agents with the same key do', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const keyA = writeKeyFile(dir, 'a.key');
  const keyB = writeKeyFile(dir, 'b.key');
  await withCluster(t, 2, { extraArgs: ['--encrypt-key-file', keyA] }, async (a) => {
    await allSeeAlive(a.agents, 2);
    const seed = first(a);
    await withCluster(t, 1, { extraArgs: ['--encrypt-key-file', keyB, '--name', 'stranger'] }, async (b) => {
      await assertNotAdmitted(seed, 2, first(b), 'stranger');
      const r = await rejected(seed.client);
      assert.ok((r.get('decrypt_failed') ?? 0) >= 2, `decrypt failures counted: ${JSON.stringify([...r])}`);
      const lines = logLines(seed, 'no installed key decrypts');
      assert.equal(lines.length, 1, 'one log line for the peer, not one per attempt');
      t.diagnostic(`wrong key: ${r.get('decrypt_failed')} inputs refused, ${lines.length} log line`);
    });
  });
});

test('an agent with another cluster label is not admitted, with or without encryption', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const key = writeKeyFile(dir, 'k');
  await withCluster(t, 1, {}, async (a) => {
    const seed = first(a);
    await withCluster(t, 1, { extraArgs: ['--cluster', 'other', '--name', 'foreign'] }, async (x) => {
      await assertNotAdmitted(seed, 1, first(x), 'foreign');
    });
    const r = await rejected(seed.client);
    assert.ok((r.get('cluster_mismatch') ?? 0) >= 2, JSON.stringify([...r]));
    const lines = logLines(seed, 'dropping input from another cluster');
    assert.equal(lines.length, 1, 'one log line for the peer and label');
    assert.equal(lines[0]?.['cluster'], 'other');
    assert.equal(lines[0]?.['ours'], 'default');
    t.diagnostic(`label "other" vs "default": ${r.get('cluster_mismatch')} inputs refused, 1 log line`);
  });
  // Same key, different labels: the clear label refuses it, and the label is bound into the AAD too.
  await withCluster(t, 1, { extraArgs: ['--encrypt-key-file', key, '--cluster', 'prod'] }, async (p) => {
    const seed = first(p);
    await withCluster(t, 1, { extraArgs: ['--encrypt-key-file', key, '--cluster', 'staging', '--name', 'stage0'] }, async (s) => {
      await assertNotAdmitted(seed, 1, first(s), 'stage0');
    });
    const r = await rejected(seed.client);
    assert.ok((r.get('cluster_mismatch') ?? 0) >= 2, JSON.stringify([...r]));
    assert.equal(r.get('decrypt_failed') ?? 0, 0, 'refused by label before any key is tried');
  });
});

test('transition mode: an agent with a key and encrypt_verify_* false interoperates with plaintext agents', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const key = writeKeyFile(dir, 'k');
  const config = join(dir, 'transition.json');
  writeFileSync(config, JSON.stringify({ encrypt_verify_incoming: false, encrypt_verify_outgoing: false }));
  await withCluster(t, 1, {}, async (plain) => {
    await withCluster(t, 1, { extraArgs: ['--encrypt-key-file', key, '--config', config, '--name', 'moving'] }, async (m) => {
      const r = await first(m).client.join([seedOf(first(plain))]);
      assert.equal(r.joined, 1);
      await allSeeAlive([first(plain), first(m)], 2);
      assert.match(readFileSync(first(m).logFile, 'utf8'), /encryption transition mode/);
    });
  });
});

test('key rotation across 5 running agents: install, use, remove on every agent; nobody suspected; keys survive a restart', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const k1 = generateKey();
  const k2 = generateKey();
  const keyFile = writeKeyFile(dir, 'gossip.key', [k1]);
  await withCluster(t, 5, { extraArgs: ['--encrypt-key-file', keyFile] }, async (c) => {
    await allSeeAlive(c.agents, 5);
    const before = await Promise.all(c.agents.map(async (a) => sample(await a.client.metrics(), 'swimd_suspicions_raised_total')));
    const monitor = new MemberMonitor(c.agents.map((a) => ({ name: a.name, client: a.client })), 5);
    const started = Date.now();
    try {
      for (const args of [['install', k2], ['use', k2], ['remove', k1]]) {
        for (const a of c.agents) {
          const r = await runCli(['keyring', ...args, '--socket', a.socket]);
          assert.equal(r.code, 0, `keyring ${args[0]} on ${a.name}: ${r.stderr}`);
        }
        // Let gossip run with the cluster half-way through each step.
        await sleep(1_500);
      }
      await sleep(2_000);
    } finally {
      await monitor.stop();
    }
    t.diagnostic(`rotation: ${monitor.polls} polls of 5 agents over ${Date.now() - started} ms, ${monitor.problems.length} problems`);
    assert.deepEqual(monitor.problems, [], 'every agent saw all 5 alive at every poll');
    assert.ok(monitor.polls >= 20, `polled ${monitor.polls} times`);
    for (const [i, a] of c.agents.entries()) {
      const text = await a.client.metrics();
      assert.equal(sample(text, 'swimd_suspicions_raised_total'), before[i], `${a.name} suspected nobody`);
      assert.equal(sample(text, 'swimd_packets_rejected_total', '{reason="decrypt_failed"}'), 0, `${a.name} decrypted everything`);
      assert.deepEqual(await a.client.keyring(), [{ fingerprint: keyFingerprint(parseKey(k2)), primary: true }]);
      const file = join(a.dataDir, 'keyring.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { format: 1, primary: k2, secondary: [] });
    }
    // Restarted with the old key file: the keyring in data_dir wins, so it rejoins with k2.
    const last = c.agents[4];
    assert.ok(last !== undefined);
    c.kill(last, 'SIGTERM');
    await last.exited;
    await c.restart(last);
    await allSeeAlive(c.agents, 5);
    assert.deepEqual(await last.client.keyring(), [{ fingerprint: keyFingerprint(parseKey(k2)), primary: true }]);
    assert.ok(logLines(last, 'takes precedence over encrypt_key_file').length >= 1);
  });
});
