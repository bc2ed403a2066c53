/**
 * Randomised fault schedules on the simulator, checked against the protocol's invariants once the
 * faults stop; one test per family of faults (test/helpers/fault-schedule.ts), each over the same
 * seeds. 200 seeds by default; SWIMD_SIM_SEEDS=10000 for the long run, SWIMD_SEED=N to replay one
 * seed in every family. A partition beyond the reap time is simulated hours long, so that family
 * runs one seed in LONG_PARTITION_EVERY (a pinned seed always runs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSchedule, type Family, type RunOutcome } from './helpers/fault-schedule.js';
import { reproduce } from './helpers/seed.js';
import type { CheckName } from './helpers/sim-trial.js';

const LONG_PARTITION_EVERY = 40;

function seeds(family: Family): number[] {
  const pinned = process.env['SWIMD_SEED'];
  if (pinned !== undefined && pinned !== '') return [Number(pinned)];
  const count = Number(process.env['SWIMD_SIM_SEEDS'] ?? '200');
  const all = Array.from({ length: count }, (_, i) => 7_000 + i);
  return family === 'long-partition' ? all.filter((_, i) => i % LONG_PARTITION_EVERY === 0) : all;
}

/** Failures grouped by check: how many seeds, which, and the first two in full. */
function report(family: Family, outcomes: readonly RunOutcome[]): string {
  const failed = outcomes.filter((o) => o.violations.length > 0);
  const byCheck = new Map<CheckName, RunOutcome[]>();
  for (const o of failed) {
    for (const check of new Set(o.violations.map((v) => v.check))) {
      const list = byCheck.get(check) ?? [];
      list.push(o);
      byCheck.set(check, list);
    }
  }
  const lines = [`${failed.length} of ${outcomes.length} ${family} schedules violated an invariant`];
  for (const [check, list] of byCheck) {
    const shown = list.slice(0, 20).map((o) => o.seed).join(', ');
    lines.push(`${check}: ${list.length} seeds (${shown}${list.length > 20 ? ', ...' : ''})`);
    for (const o of list.slice(0, 2)) {
      lines.push(`  seed ${o.seed}: ${o.description}`);
      for (const v of o.violations.filter((x) => x.check === check).slice(0, 3)) lines.push(`    ${v.text}`);
      lines.push(`   ${reproduce(o.seed)}`);
    }
  }
  return lines.join('\n');
}

function runFamily(family: Family): void {
  const outcomes = seeds(family).map((seed) => runSchedule(seed, family));
  const failed = outcomes.filter((o) => o.violations.length > 0);
  assert.equal(failed.length, 0, report(family, outcomes));
}

test('classic faults (loss, partitions, crashes, restarts, pauses, one-way blocks) with catalog changes', () => {
  runFamily('classic');
});

test('forged datagrams from outside the cluster with counters at and near 0xffffffff', () => {
  runFamily('forged');
});

test('restarts that lose state (incarnation, catalog revision, registrations) or keep it', () => {
  runFamily('amnesia');
});

test('a second node under a running node\'s name: the newcomer is refused, the original unharmed', () => {
  runFamily('same-name');
});

test('a partition longer than the reap time heals; a gone owner\'s entries are forgotten', () => {
  runFamily('long-partition');
});
