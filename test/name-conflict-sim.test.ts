/**
 * Two processes with one member name (cloned hosts keep the host name) on the deterministic
 * simulator: the live address is kept everywhere, nobody's incarnation climbs, the first owner's
 * catalog entries survive, and the newcomer reports the conflict; a real restart on a new address
 * still converges to the new address.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NameConflict } from '../protocol/effects.js';
import { Simulator } from '../protocol/sim/simulator.js';
import { reproduce, testSeed } from './helpers/seed.js';

interface Reported {
  readonly observer: string;
  readonly conflict: NameConflict;
}

function settled(n: number, seed: number, reported: Reported[]): { sim: Simulator; names: string[] } {
  const sim = new Simulator({
    seed, profile: 'lan', latencyMs: 1, jitterMs: 0.5, recordEvents: false,
    onConflict: (_t, observer, conflict) => reported.push({ observer, conflict }),
  });
  const names = sim.addNodes(n);
  sim.joinAll([names[0] as string], { spreadMs: 500 });
  const ok = sim.runUntilCondition(() => names.every((o) => sim.node(o).liveCount() === n), 60_000, 20);
  assert.notEqual(ok, null, 'cluster did not form' + reproduce(seed));
  return { sim, names };
}

function register(sim: Simulator, slot: string, id: string): void {
  sim.act(slot, (node, now) => node.registerService(now, { id, name: 'app', address: sim.address(slot).host, port: 8080 }).effects);
}

test('a second process with a member\'s name on another address is refused; the first keeps its address and services', () => {
  const seed = testSeed(4101);
  const reported: Reported[] = [];
  const { sim, names } = settled(8, seed, reported);
  const owner = 'n3';
  const ownerAddr = sim.address(owner);
  register(sim, owner, 'web');
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => sim.node(o).services().some((s) => s.node === owner && s.id === 'web')), 5_000, 5), null, 'spread' + reproduce(seed));
  const webRev = sim.node(owner).serviceRevision(owner, 'web');
  const incarnationBefore = sim.node(owner).self().incarnation;

  // The clone: same member name, its own address, the same configured service and one more, at
  // higher versions than the first owner's; it joins through another member.
  const clone = sim.addNode('clone', { memberName: owner });
  const cloneAddr = sim.address(clone);
  register(sim, clone, 'db');
  register(sim, clone, 'web');
  sim.join(clone, ['n0']);

  // Two full push-pull periods and then some, checked every 100 ms of virtual time.
  for (let t = 0; t < 75_000; t += 100) {
    sim.runFor(100);
    for (const o of names) {
      const m = sim.node(o).member(owner);
      assert.equal(m?.host, ownerAddr.host, `${o} must keep ${owner} at ${ownerAddr.host}, holds ${m?.host} at ${t} ms` + reproduce(seed));
      assert.equal(m?.status, 'alive', `${o} must hold ${owner} alive at ${t} ms` + reproduce(seed));
      assert.ok(m.incarnation <= incarnationBefore, `${o} holds ${owner} at incarnation ${m.incarnation} (was ${incarnationBefore}) at ${t} ms` + reproduce(seed));
      const web = sim.node(o).services().find((s) => s.node === owner && s.id === 'web');
      assert.ok(web !== undefined, `${o} lost ${owner}/web at ${t} ms` + reproduce(seed));
      assert.equal(web.rev, webRev, `${o} holds ${owner}/web at version ${web.rev}, registered at ${webRev}` + reproduce(seed));
      assert.equal(web.address, ownerAddr.host, `${o} holds ${owner}/web at the clone's address` + reproduce(seed));
      assert.ok(!sim.node(o).services().some((s) => s.node === owner && s.id === 'db'), `${o} took the clone's entry as ${owner}'s at ${t} ms` + reproduce(seed));
    }
    assert.ok(sim.node(clone).self().incarnation <= 1, `the clone's incarnation climbs: ${sim.node(clone).self().incarnation}` + reproduce(seed));
  }

  const byClone = reported.filter((r) => r.observer === clone && r.conflict.about === 'self');
  assert.ok(byClone.length >= 1, 'the clone must report the conflict' + reproduce(seed));
  assert.equal(byClone[0]?.conflict.phase, 'join', 'the clone met the other process while joining' + reproduce(seed));
  assert.deepEqual(byClone[0]?.conflict.other, ownerAddr, 'the report names the address already in use' + reproduce(seed));
  // Reported once per confirmation, not once per push-pull that brings the claim back.
  assert.equal(byClone.length, 1, 'a standing conflict is reported once' + reproduce(seed));
  const byOwner = reported.filter((r) => r.observer === owner && r.conflict.about === 'self');
  assert.ok(byOwner.every((r) => r.conflict.phase === 'running' && r.conflict.other.host === cloneAddr.host), 'the first owner reports it as running' + reproduce(seed));
  assert.ok(reported.some((r) => r.conflict.about === 'member' && r.conflict.name === owner && r.conflict.other.host === cloneAddr.host),
    'the members refusing the claim report it' + reproduce(seed));
});

test('a member restarting on a new address while the cluster still holds the old one converges to the new address', () => {
  const seed = testSeed(4102);
  const reported: Reported[] = [];
  const { sim, names } = settled(8, seed, reported);
  const owner = 'n3';
  register(sim, owner, 'web');
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => sim.node(o).services().some((s) => s.node === owner && s.id === 'web')), 5_000, 5), null, 'spread' + reproduce(seed));

  // The host comes back at once with a new address and no state: the cluster still holds it alive.
  sim.crash(owner);
  const next = sim.addNode('n3-new', { memberName: owner });
  const nextAddr = sim.address(next);
  register(sim, next, 'api');
  sim.join(next, ['n0']);
  const others = names.filter((n) => n !== owner);
  const moved = sim.runUntilCondition(() => others.every((o) => {
    const m = sim.node(o).member(owner);
    return m?.host === nextAddr.host && m.status === 'alive';
  }), 60_000, 20);
  assert.notEqual(moved, null, `every member must hold ${owner} alive at its new address` + reproduce(seed));
  // The previous life's entry is gone: the new process holds no such registration and says so.
  const gone = sim.runUntilCondition(() => others.every((o) => !sim.node(o).services().some((s) => s.node === owner && s.id === 'web')), 60_000, 20);
  assert.notEqual(gone, null, 'the previous life\'s entry must be removed' + reproduce(seed));
  // What the new life registered reaches everyone.
  const spread = sim.runUntilCondition(() => others.every((o) => sim.node(o).services().some((s) => s.node === owner && s.id === 'api' && s.address === nextAddr.host)), 60_000, 20);
  assert.notEqual(spread, null, 'the new life\'s entry must reach every member' + reproduce(seed));
  assert.equal(reported.filter((r) => r.conflict.about === 'self').length, 0, 'a previous life is not a conflict' + reproduce(seed));
});

test('a clone that took a name while its owner was cut off steps aside when the partition heals: the newer process yields', () => {
  const seed = testSeed(4103);
  const reported: Reported[] = [];
  const { sim, names } = settled(6, seed, reported);
  const owner = 'n3';
  const ownerAddr = sim.address(owner);
  register(sim, owner, 'web');
  assert.notEqual(sim.runUntilCondition(() => names.every((o) => sim.node(o).services().some((s) => s.node === owner && s.id === 'web')), 5_000, 5), null, 'spread' + reproduce(seed));

  // The owner is cut off alone and declared dead on the other side; a clone of it joins there and,
  // to that side, looks like the owner come back on a new address.
  const rest = names.filter((n) => n !== owner);
  sim.partition([[owner], rest]);
  assert.notEqual(sim.runUntilCondition(() => rest.every((o) => sim.node(o).member(owner)?.status === 'dead'), 60_000, 20), null, 'the owner declared dead' + reproduce(seed));
  sim.runFor(10_000);
  const clone = sim.addNode('clone', { memberName: owner });
  const cloneAddr = sim.address(clone);
  sim.partition([[owner], [...rest, clone]]);
  sim.join(clone, ['n0']);
  assert.notEqual(sim.runUntilCondition(() => rest.every((o) => sim.node(o).member(owner)?.host === cloneAddr.host), 30_000, 20), null,
    'the clone took the name on its side' + reproduce(seed));
  assert.equal(reported.filter((r) => r.observer === clone && r.conflict.stepAside).length, 0, 'nothing to yield to yet' + reproduce(seed));

  sim.heal();
  // The clone, started later, steps aside; the owner keeps its name, and every member comes back
  // to the owner's address with the owner's entry.
  const back = sim.runUntilCondition(() => rest.every((o) => {
    const m = sim.node(o).member(owner);
    return m?.host === ownerAddr.host && m.status === 'alive' &&
      sim.node(o).services().some((s) => s.node === owner && s.id === 'web' && s.health === 'passing');
  }), 180_000, 50);
  assert.notEqual(back, null, 'every member must hold the owner alive at its own address again, with its entry' + reproduce(seed));
  const yielded = reported.filter((r) => r.conflict.about === 'self' && r.conflict.stepAside);
  assert.deepEqual(yielded.map((r) => r.observer), [clone], 'only the clone steps aside, once' + reproduce(seed));
  assert.equal(yielded[0]?.conflict.phase, 'running', 'it was running when it met the owner' + reproduce(seed));
  assert.deepEqual(yielded[0]?.conflict.other, ownerAddr, 'its report names the owner\'s address' + reproduce(seed));
  assert.equal(sim.node(clone).nextDeadline(), null, 'a node that stepped aside sets no timer' + reproduce(seed));
});
