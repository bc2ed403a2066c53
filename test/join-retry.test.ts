import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Address, addressKey } from '../protocol/address.js';
import type { Effect } from '../protocol/effects.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';

const SLOW: Address = { host: '10.0.0.2', port: 7946 };
const DOWN: Address = { host: '10.0.0.3', port: 7946 };

/** The join exchanges among `effects`, by the seed they go to. */
function joinsTo(effects: readonly Effect[]): string[] {
  return effects.flatMap((e) => (e.kind === 'push-pull' && e.join ? [addressKey(e.to)] : [])).sort();
}

/** Fires every timer due up to `until`, returning every join exchange they started. */
function runTo(n: SwimNode, until: number): string[] {
  const out: string[] = [];
  for (let next = n.nextDeadline(); next !== null && next <= until; next = n.nextDeadline()) out.push(...joinsTo(n.tick(next)));
  return out;
}

test('a join retry skips a seed whose previous request is still unanswered, and goes to it again once that one failed', () => {
  const profile = PROFILES.lan;
  const n = new SwimNode({ name: 'a', host: '10.0.0.1', port: 7946, profile, seed: 1, now: 0 });
  assert.deepEqual(joinsTo(n.join(0, [SLOW, DOWN])), [addressKey(SLOW), addressKey(DOWN)].sort());
  n.handlePushPullFailed(10, DOWN);
  // First retry: the slow seed is still working on our request; only the failed one is asked again.
  assert.deepEqual(runTo(n, profile.joinRetryMs), [addressKey(DOWN)]);
  n.handlePushPullFailed(profile.joinRetryMs + 5, SLOW);
  n.handlePushPullFailed(profile.joinRetryMs + 5, DOWN);
  // The next retry (after the doubled backoff) asks both again.
  assert.deepEqual(runTo(n, profile.joinRetryMs * 3), [addressKey(SLOW), addressKey(DOWN)].sort());
});

test('while every seed is still working on our request a retry sends nothing, and the backoff goes on', () => {
  const profile = PROFILES.lan;
  const n = new SwimNode({ name: 'a', host: '10.0.0.1', port: 7946, profile, seed: 1, now: 0 });
  n.join(0, [SLOW]);
  assert.deepEqual(runTo(n, profile.joinRetryMs * 3), [], 'no second request to a seed that has not answered the first');
  n.handlePushPullFailed(profile.joinRetryMs * 3 + 1, SLOW);
  // Retries were due at 1 s and 3 s; the next at 7 s finds the seed idle again.
  assert.deepEqual(runTo(n, profile.joinRetryMs * 7), [addressKey(SLOW)]);
});
