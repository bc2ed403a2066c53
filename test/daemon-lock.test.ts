/**
 * The data directory's lock dies with its process: a lock file left by a killed agent, or the
 * pid-holding `lock` file of earlier versions naming a live process, never blocks a start; a live
 * agent's lock still does. Bad data directories fail at once with a message naming the problem.
 */
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../daemon/log.js';
import { DataDirLock, DataDirLocked } from '../daemon/store/data-lock.js';
import { Cluster, runCli } from './helpers/cluster.js';

function agentArgs(dataDir: string, socket: string): string[] {
  return ['agent', '--name', 'lonely', '--bind', '127.0.0.1:0', '--socket', socket, '--data-dir', dataDir, '--profile', 'local'];
}

test('a SIGKILLed agent and a legacy lock file holding a live pid do not block the next start', async (t) => {
  const c = await Cluster.start(1);
  t.after(() => c.stopAll());
  const [a] = c.agents;
  assert.ok(a !== undefined);
  c.kill(a, 'SIGKILL');
  await a.exited;
  // PIDs are reused: the earlier lock format named a pid, here one that is certainly alive.
  writeFileSync(join(a.dataDir, 'lock'), `${process.pid}\n`);
  await c.restart(a);
  assert.equal((await a.client.info()).name, 'n0');
  assert.ok(!existsSync(join(a.dataDir, 'lock')), 'the earlier version\'s lock file is removed');
  // Killed again: its own lock stays behind, and is taken over.
  c.kill(a, 'SIGKILL');
  await a.exited;
  assert.ok(existsSync(join(a.dataDir, 'agent.lock')), 'a killed agent leaves its lock file behind');
  await c.restart(a);
  assert.equal((await a.client.info()).name, 'n0');
});

test('a second agent on a data directory in use is refused, naming the directory', async (t) => {
  const c = await Cluster.start(1);
  t.after(() => c.stopAll());
  const [a] = c.agents;
  assert.ok(a !== undefined);
  const r = await runCli(agentArgs(a.dataDir, join(a.dataDir, '..', 'second.sock')));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /in use by another running agent/);
  assert.equal((await a.client.info()).name, 'n0', 'the running agent keeps its lock');
});

test('a data directory that is a file, or under a file system without directories, fails at once with a clear message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  const asFile = await runCli(agentArgs(file, join(dir, 'a.sock')));
  assert.notEqual(asFile.code, 0);
  assert.match(asFile.stderr + asFile.stdout, /exists and is not a directory/);
  assert.doesNotMatch(asFile.stderr + asFile.stdout, /EEXIST/);

  const under = await runCli(agentArgs(join(file, 'data'), join(dir, 'b.sock')));
  assert.notEqual(under.code, 0);
  assert.match(under.stderr + under.stdout, /a part of the path is a file, not a directory/);

  // Node's recursive mkdir spins forever here; runCli's timeout turns a hang into a failure.
  const proc = await runCli(agentArgs(`/proc/swimd-test-${process.pid}/data`, join(dir, 'c.sock')), {}, 10_000);
  assert.notEqual(proc.code, 0);
  assert.match(proc.stderr + proc.stdout, /cannot create \/proc\/swimd-test-\d+ \(the file system there does not allow new directories\)/);
});

test('agents starting together on a stale lock: exactly one takes it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The race is between probing a stale lock and replacing it: many rounds give it many chances.
  for (let round = 0; round < 25; round++) {
    // A stale lock: a socket file nobody listens on (the listener closed; its second link remains).
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'gone.sock'), resolve));
    linkSync(join(dir, 'gone.sock'), join(dir, 'agent.lock'));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const takes = await Promise.allSettled(Array.from({ length: 6 }, () => DataDirLock.take(dir, silentLogger())));
    const held = takes.filter((r): r is PromiseFulfilledResult<DataDirLock> => r.status === 'fulfilled');
    assert.equal(held.length, 1, `round ${round}:\n` + takes.map((r) => (r.status === 'rejected' ? String(r.reason) : 'held')).join('\n'));
    for (const r of takes) if (r.status === 'rejected') assert.ok(r.reason instanceof DataDirLocked, String(r.reason));
    await held[0]?.value.release();
    assert.ok(!existsSync(join(dir, 'agent.lock')), 'a released lock leaves no file');
  }
});
