/**
 * Start-up readiness as the systemd unit uses it: `swimd info --wait` blocks until a starting agent
 * serves its socket, and fails clearly after its bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, withCluster } from './helpers/cluster.js';

test('info --wait blocks until an agent starting later serves its socket', { timeout: 60_000 }, async (t) => {
  await withCluster(t, 1, { profile: 'local' }, async (c) => {
    const socket = join(c.dir, 'late.sock');
    const waiting = runCli(['info', '--wait', '30s', '--json', '--socket', socket], {}, 40_000);
    await c.add('late', []);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).name, 'late');
  });
});

test('info --wait fails after its bound, naming the socket and why', { timeout: 30_000 }, async () => {
  const socket = '/nonexistent/swimd-readiness.sock';
  const r = await runCli(['info', '--wait', '300ms', '--socket', socket]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the agent did not answer on \/nonexistent\/swimd-readiness\.sock within 300ms; last: no agent listening/);
  const bad = await runCli(['info', '--wait', '5', '--socket', socket]);
  assert.equal(bad.code, 2, 'a duration without a unit is a usage error');
});

test('the systemd unit counts start-up as done only once the agent answers on its socket', () => {
  const unit = readFileSync(fileURLToPath(new URL('../../daemon/swimd.service', import.meta.url)), 'utf8');
  const directive = (key: string): string[] =>
    unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
  assert.deepEqual(directive('Type'), ['exec']);
  const post = directive('ExecStartPost');
  assert.equal(post.length, 1);
  assert.match(post[0] ?? '', /^\/usr\/bin\/swimd info --wait (\d+)s$/);
  const waitS = Number(/--wait (\d+)s/.exec(post[0] ?? '')?.[1]);
  const startS = Number(/^(\d+)s$/.exec(directive('TimeoutStartSec')[0] ?? '')?.[1]);
  assert.ok(waitS < startS, 'the wait ends (with its message) before systemd gives up on the start');
});
