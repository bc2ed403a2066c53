/**
 * Randomized fault schedules on the simulator, checked against the protocol's invariants once the
 * faults stop. 200 seeds by default; SWIMD_SIM_SEEDS=10000 for the long run, SWIMD_SEED=N for one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../protocol/rng.js';
import { isNewer, newest } from '../protocol/serial.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce } from './helpers/seed.js';

interface RunResult {
  readonly violations: string[];
}

function runSchedule(seed: number): RunResult {
  const rng = new Rng(seed ^ 0x5eed);
  const n = 4 + rng.int(9);
  const sim = new Simulator({ seed, profile: 'lan', latencyMs: 1 + rng.int(5), jitterMs: rng.int(3), recordEvents: false });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: rng.int(500) });
  sim.runFor(3_000);

  const crashed = new Set<string>();
  /** Newest incarnation (serial arithmetic) each node ever held for itself, across lives. */
  const ownMax = new Map<string, number>();
  const noteOwn = (name: string): void => {
    if (!sim.isUp(name)) return;
    const inc = sim.node(name).self().incarnation;
    const held = ownMax.get(name);
    ownMax.set(name, held === undefined ? inc : newest(held, inc));
  };
  const live = (): string[] => names.filter((x) => !crashed.has(x));

  // Fault phase: a few random faults over 30 virtual seconds. Nodes 0 and 1 never crash, so a
  // restarted node always has someone to join through.
  const steps = 3 + rng.int(5);
  for (let i = 0; i < steps; i++) {
    const kind = rng.int(6);
    const victim = names[2 + rng.int(n - 2)] as string;
    if (kind === 0) sim.configure({ loss: rng.next() * 0.2 });
    else if (kind === 1) {
      const cut = 1 + rng.int(n - 1);
      const shuffled = rng.shuffle([...names]);
      sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else if (kind === 2 && !crashed.has(victim)) {
      noteOwn(victim);
      sim.crash(victim);
      crashed.add(victim);
    } else if (kind === 3 && crashed.has(victim)) {
      sim.restart(victim, { seeds: [names[rng.int(2)] as string] });
      crashed.delete(victim);
    } else if (kind === 4 && !crashed.has(victim) && !sim.isPaused(victim)) {
      sim.pause(victim, 1_000 + rng.int(14_000));
    } else if (kind === 5) {
      sim.blockOneWay(names[rng.int(n)] as string, names[rng.int(n)] as string);
    }
    sim.runFor(rng.int(8_000));
    for (const x of names) noteOwn(x);
  }

  // Faults stop.
  sim.heal();
  sim.configure({ loss: 0 });
  for (const a of names) for (const b of names) sim.unblockOneWay(a, b);
  for (const x of names) if (sim.isUp(x) && sim.isPaused(x)) sim.resume(x);

  const converged = (): boolean => live().every((o) => {
    const view = sim.node(o).members();
    return live().every((t) => view.some((m) => m.name === t && m.status === 'alive')) &&
      [...crashed].every((t) => !view.some((m) => m.name === t && (m.status === 'alive' || m.status === 'suspect')));
  });
  const at = sim.runUntilCondition(converged, 240_000, 100);
  for (const x of names) noteOwn(x);

  const violations: string[] = [];
  if (at === null) {
    for (const o of live()) {
      for (const m of sim.node(o).members()) {
        const shouldLive = !crashed.has(m.name);
        if (shouldLive && m.status !== 'alive') violations.push(`${o} sees live ${m.name} as ${m.status}`);
        if (!shouldLive && (m.status === 'alive' || m.status === 'suspect')) violations.push(`${o} sees crashed ${m.name} as ${m.status}`);
      }
      for (const t of live()) if (!sim.node(o).members().some((m) => m.name === t)) violations.push(`${o} does not know ${t}`);
    }
    if (violations.length === 0) violations.push('no convergence within 240 s after faults stopped');
  }
  for (const o of live()) {
    for (const m of sim.node(o).members()) {
      const own = ownMax.get(m.name) ?? 0;
      if (isNewer(m.incarnation, own)) violations.push(`${o} holds ${m.name} at incarnation ${m.incarnation} > its own ${own}`);
    }
  }
  return { violations };
}

test('random fault schedules: convergence, no lingering death, incarnations only raised by their owner', () => {
  const pinned = process.env['SWIMD_SEED'];
  const count = Number(process.env['SWIMD_SIM_SEEDS'] ?? '200');
  const seeds = pinned !== undefined && pinned !== '' ? [Number(pinned)] : Array.from({ length: count }, (_, i) => 7_000 + i);
  const failures: string[] = [];
  for (const seed of seeds) {
    const { violations } = runSchedule(seed);
    if (violations.length > 0) failures.push(`seed ${seed}: ${violations.slice(0, 5).join('; ')}${reproduce(seed)}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${seeds.length} schedules violated an invariant`);
});
