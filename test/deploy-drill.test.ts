/**
 * The deploy drill, reduced: a few seconds of load through the proxy instead of 45. It checks
 * behaviour, not timing — the swimd deploy loses no request, the naive one loses some — since
 * timings on a shared test machine say little. Every run starts and stops its own agents, servers
 * and temp folder (run.ts), also when a step fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDeployDrill } from '../bench/deploy/index.js';

const lines: string[] = [];

test('deploy drill: the swimd deploy loses no request, the naive one does', { timeout: 60_000 }, async (t) => {
  const report = await runDeployDrill({
    runs: ['swimd', 'naive'],
    rate: 200,
    durationMs: 5_000,
    deployAtMs: 1_500,
    tailMs: 1_500,
    say: (line) => lines.push(line),
    print: (text) => lines.push(text),
  }).catch((e: unknown) => {
    // The drill's progress lines (and agents' logs on failure) are the only account of what went wrong.
    console.error(lines.join('\n'));
    throw e;
  });
  // The table only: one diagnostic per line, since diagnostics escape newlines.
  for (const line of report.text.split('\n').slice(0, 3)) t.diagnostic(line);
  const [swimd, naive] = report.runs;
  assert.ok(swimd !== undefined && naive !== undefined);

  assert.equal(swimd.error, undefined, `the swimd deploy failed: ${swimd.error}`);
  assert.ok(swimd.sent >= 500, `too few requests to mean anything: ${swimd.sent}`);
  assert.equal(swimd.failed, 0, `swimd deploy lost requests: ${JSON.stringify(swimd.failures)}`);
  // The deploy happened: both versions answered, and v1 answered nothing after it was drained.
  assert.ok(swimd.register_to_first_v2_ms !== null, 'v2 never answered');
  assert.ok(swimd.drain_to_last_v1_ms !== null, 'v1 never answered');
  assert.ok(swimd.steps_ms.deregistered !== undefined, 'the deploy did not reach the deregistration');
  assert.equal(swimd.v1_after_proxy_knew_drain, 0, 'the proxy sent requests to v1 after it knew v1 was draining');

  assert.equal(naive.error, undefined, `the naive deploy failed: ${naive.error}`);
  assert.ok(naive.failed > 0, 'the naive deploy lost no request, so the drill shows nothing');
  assert.ok(naive.register_to_first_v2_ms !== null, 'v2 never answered in the naive run');
});
