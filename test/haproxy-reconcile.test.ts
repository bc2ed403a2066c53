/**
 * The companion's pure parts: reading HAProxy's answers (as captured from HAProxy 2.6), the
 * desired state from the catalog, and the slot plan.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceEntry, WatchSnapshot } from '../client/index.js';
import { desiredServers, type DesiredServer } from '../companion/haproxy/desired.js';
import { planBackend } from '../companion/haproxy/reconcile.js';
import { checkCommand, RuntimeApiError, setCommandSucceeded, splitPromptAnswers } from '../companion/haproxy/runtime-api.js';
import { adminStateOf, parseServersState, parseShowInfo, type Slot } from '../companion/haproxy/slots.js';
import { CatalogView } from '../companion/haproxy/view.js';
import { mulberry32 } from './helpers/rng.js';
import { reproduce, testSeed } from './helpers/seed.js';

const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 app1 127.0.0.1 2 4 50 1 22 1 0 0 8 0 0 0 - 9999 - 0 0 - - 0
3 app 2 app2 127.0.0.1 2 12 1 1 0 1 0 0 8 0 0 0 - 9998 - 0 0 - - 0
3 app 3 app3 127.0.0.1 0 5 1 1 23 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
4 other 1 other1 127.0.0.1 0 5 1 1 23 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
`;

test('show servers state: columns by header name, admin bits to ready/drain/maint, other backends skipped', () => {
  const slots = parseServersState(STATE, 'app');
  assert.deepEqual(slots.map((s) => [s.name, s.address, s.port, s.admin, s.weight]), [
    ['app1', '127.0.0.1', 9999, 'ready', 50], ['app2', '127.0.0.1', 9998, 'drain', 1], ['app3', '127.0.0.1', 1, 'maint', 1],
  ]);
  // 0x04 alone (declared `disabled`, then set ready) is not maintenance.
  assert.equal(adminStateOf(0x04), 'ready');
  assert.equal(adminStateOf(0x01 | 0x08), 'maint');
  assert.equal(adminStateOf(0x10), 'drain');
  assert.equal(adminStateOf(0x20), 'maint');
  assert.throws(() => parseServersState("Can't find backend.\n"), RuntimeApiError);
  assert.throws(() => parseServersState('1\n# be_name srv_name\n'), /no srv_addr column/);
  assert.throws(() => parseServersState(STATE.replace('2 4 50', '2 x 50'), 'app'), /srv_admin_state is not a number/);
});

test('show info: Pid and Start_time_sec identify the process', () => {
  assert.deepEqual(parseShowInfo('Name: HAProxy\nPid: 16840\nUptime_sec: 0\nStart_time_sec: 1796129219\n'), { pid: 16840, startTimeSec: 1796129219 });
  assert.throws(() => parseShowInfo('Unknown command\n'), /no Pid/);
});

test('prompt-mode answers are split per command; a short session is an error', () => {
  const out = "\n> no need to change the addr, port changed from '1' to '9998' by 'stats socket command'\n\n> \n> No such server.\n\n> ";
  assert.deepEqual(splitPromptAnswers(out, 3), ["no need to change the addr, port changed from '1' to '9998' by 'stats socket command'", '', 'No such server.']);
  assert.throws(() => splitPromptAnswers(out, 4), /answered 3 of 4 commands/);
  assert.throws(() => splitPromptAnswers('Unknown command', 1), /unexpected start/);
});

test('set answers: only known successes count as success', () => {
  for (const ok of ['', "IP changed from '127.0.0.1' to '127.0.0.2', port changed from '1' to '80' by 'stats socket command'", "no need to change the addr, port changed from '1' to '9' by 'x'"]) {
    assert.equal(setCommandSucceeded(ok), true, ok);
  }
  for (const bad of ['No such server.', "Invalid addr '1.2.3' by 'stats socket command'", 'Absolute weight can only be between 0 and 256 inclusive.', 'Unknown command: ...', 'Permission denied', 'something new']) {
    assert.equal(setCommandSucceeded(bad), false, bad);
  }
  assert.throws(() => checkCommand('set server a/b state ready; shutdown sessions server a/b'), /malformed/);
  assert.throws(() => checkCommand('set server a/b state ready\nshow info'), /malformed/);
});

function slot(name: string, over: Partial<Slot> = {}): Slot {
  return { backend: 'app', name, address: '127.0.0.1', port: 1, admin: 'maint', weight: 1, adminBits: 5, ...over };
}
function want(key: string, port: number, state: DesiredServer['state'], weight = 256): DesiredServer {
  return { key, address: '10.0.0.1', port, state, weight };
}
const EMPTY = new Map<string, string>();

test('plan: a new instance takes the first free slot: address, weight, then ready', () => {
  const p = planBackend('app', [want('n/a', 80, 'ready')], [slot('app1'), slot('app2')], EMPTY);
  assert.deepEqual(p.commands, ['set server app/app1 addr 10.0.0.1 port 80', 'set server app/app1 weight 256', 'set server app/app1 state ready']);
  assert.deepEqual(p.unplaced, []);
  assert.deepEqual(planBackend('app', [want('n/a', 80, 'ready')], p.slots, p.assignment).commands, [], 'applied: nothing left to do');
});

test('plan: drain and maint keep the slot; a removed instance frees it to maint', () => {
  const first = planBackend('app', [want('n/a', 80, 'ready'), want('n/b', 81, 'ready')], [slot('app1'), slot('app2')], EMPTY);
  const drained = planBackend('app', [want('n/a', 80, 'drain'), want('n/b', 81, 'maint')], first.slots, first.assignment);
  assert.deepEqual(drained.commands, ['set server app/app1 state drain', 'set server app/app2 state maint']);
  assert.equal(drained.assignment.get('n/b'), 'app2');
  const back = planBackend('app', [want('n/a', 80, 'drain'), want('n/b', 81, 'ready')], drained.slots, drained.assignment);
  assert.deepEqual(back.commands, ['set server app/app2 state ready'], 'back on its own slot');
  const gone = planBackend('app', [want('n/b', 81, 'ready')], back.slots, back.assignment);
  assert.deepEqual(gone.commands, ['set server app/app1 state maint']);
  assert.equal(gone.assignment.has('n/a'), false);
});

test('plan: with nothing remembered, a slot already pointing at an instance is taken back (companion restart)', () => {
  const slots = [slot('app1'), slot('app2', { address: '10.0.0.1', port: 80, admin: 'ready', weight: 256 })];
  const p = planBackend('app', [want('n/a', 80, 'ready')], slots, EMPTY);
  assert.deepEqual(p.commands, []);
  assert.equal(p.assignment.get('n/a'), 'app2');
});

test('plan: out of slots, an active instance displaces one in maint, never a ready or draining one, and the rest are unplaced', () => {
  const slots = [slot('app1'), slot('app2')];
  const held = planBackend('app', [want('n/a', 80, 'drain'), want('n/b', 81, 'ready')], slots, EMPTY);
  const crowded = planBackend('app', [want('n/a', 80, 'drain'), want('n/b', 81, 'ready'), want('n/c', 82, 'ready')], held.slots, held.assignment);
  assert.deepEqual(crowded.unplaced.map((u) => u.key), ['n/c']);
  assert.deepEqual(crowded.commands, []);
  const bSick = planBackend('app', [want('n/a', 80, 'drain'), want('n/b', 81, 'maint'), want('n/c', 82, 'ready')], crowded.slots, crowded.assignment);
  assert.deepEqual(bSick.unplaced, []);
  assert.equal(bSick.assignment.get('n/c'), 'app1', 'the slot b took first (ready before draining)');
  assert.equal(bSick.assignment.has('n/b'), false);
  assert.deepEqual(bSick.commands, ['set server app/app1 state maint', 'set server app/app1 addr 10.0.0.1 port 82', 'set server app/app1 state ready'],
    'out of rotation before the address changes; same weight, so no weight command');
});

function entry(id: string, over: Partial<ServiceEntry> = {}): ServiceEntry {
  return { node: 'n1', id, name: 'web', address: '10.0.0.1', port: 80, tags: [], meta: {}, version: 'v1', weight: 1, health: 'passing', draining: false, effective_weight: 1, ...over };
}
function viewOf(services: ServiceEntry[], dead: string[] = []): CatalogView {
  const v = new CatalogView();
  const nodes = [...new Set(services.map((s) => s.node))];
  const snap: WatchSnapshot = {
    type: 'snapshot', index: 1, reset: false, services, splits: [],
    members: nodes.map((name) => ({ name, address: '10.0.0.1', port: 7946, status: dead.includes(name) ? 'dead' : 'alive', incarnation: 1 })),
  };
  v.apply(snap);
  return v;
}

test('desired: routable → ready with weights scaled to 0–256; draining → drain; critical, dead owner or draining-and-critical → maint', () => {
  const v = viewOf([
    entry('a', { weight: 9 }), entry('b', { weight: 1, port: 81 }), entry('c', { draining: true, port: 82 }),
    entry('d', { health: 'critical', port: 83 }), entry('e', { node: 'n2', port: 84 }), entry('f', { draining: true, health: 'critical', port: 85 }),
    entry('g', { weight: 0, port: 86 }), entry('x', { name: 'other' }),
  ], ['n2']);
  const d = desiredServers('web', v, undefined);
  assert.deepEqual(d.map((s) => [s.key, s.state, s.state === 'ready' ? s.weight : '-']), [
    ['n1/a', 'ready', 256], ['n1/b', 'ready', 28], ['n1/c', 'drain', '-'], ['n1/d', 'maint', '-'], ['n1/f', 'maint', '-'], ['n1/g', 'maint', '-'],
    ['n2/e', 'maint', '-'],
  ]);
  const split = desiredServers('web', viewOf([entry('a', { version: 'v1' }), entry('b', { version: 'v2', port: 81 })]), { v1: 90, v2: 10 });
  assert.deepEqual(split.map((s) => s.weight), [256, 28], '90/10 split kept within 1 % (28/284 = 9.9 %)');
  const rolledBack = desiredServers('web', viewOf([entry('a', { version: 'v1' }), entry('b', { version: 'v2', port: 81 })]), { v1: 100 });
  assert.deepEqual(rolledBack.map((s) => s.state), ['ready', 'maint'], 'a version with no share takes no one, not even pinned clients');
  const movedOn = desiredServers('web', viewOf([entry('a', { version: 'v1', draining: true }), entry('b', { version: 'v2', port: 81 })]), { v2: 100 });
  assert.deepEqual(movedOn.map((s) => s.state), ['maint', 'ready'], 'draining after the split took its share: stays out, its pinned clients not let back');
});

test('plan, randomised: applying the plan converges, no slot is shared, and an instance never moves while it lives', () => {
  const seed = testSeed(0x5107);
  const rnd = mulberry32(seed);
  const states: DesiredServer['state'][] = ['ready', 'drain', 'maint'];
  let slots: Slot[] = [1, 2, 3, 4].map((i) => slot(`app${i}`));
  let assignment = new Map<string, string>();
  const live = new Map<string, DesiredServer>();
  for (let step = 0; step < 2_000; step++) {
    const key = `n/i${Math.floor(rnd() * 7)}`;
    if (rnd() < 0.25) live.delete(key);
    else live.set(key, want(key, 8000 + Number(key.slice(3)), states[Math.floor(rnd() * 3)] as DesiredServer['state'], 1 + Math.floor(rnd() * 256)));
    const desired = [...live.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    const p = planBackend('app', desired, slots, assignment);
    const where = `step ${step}${reproduce(seed)}`;
    assert.equal(new Set(p.assignment.values()).size, p.assignment.size, `a slot held twice at ${where}`);
    for (const [k, s] of assignment) {
      const d = live.get(k);
      const evictable = d?.state === 'maint';
      if (d !== undefined && !evictable) assert.equal(p.assignment.get(k), s, `${k} moved at ${where}`);
    }
    const placedActive = desired.filter((d) => d.state !== 'maint' && p.assignment.has(d.key)).length;
    if (p.unplaced.length > 0) assert.equal(placedActive, slots.length, `unplaced while a slot was free or held in maint at ${where}`);
    for (const s of p.slots) {
      const holder = [...p.assignment].find(([, n]) => n === s.name)?.[0];
      const d = holder === undefined ? undefined : live.get(holder);
      assert.equal(s.admin, d?.state ?? 'maint', `${s.name} at ${where}`);
      if (d !== undefined) assert.deepEqual([s.address, s.port], [d.address, d.port], `${s.name} address at ${where}`);
    }
    assert.deepEqual(planBackend('app', desired, p.slots, p.assignment).commands, [], `not converged at ${where}`);
    slots = [...p.slots];
    assignment = p.assignment;
  }
});

test('plan: an instance with a host name for an address takes no slot and is returned as unaddressable', () => {
  const named = { ...want('n/db', 5432, 'ready'), address: 'db.internal' };
  const p = planBackend('app', [named, want('n/a', 80, 'ready')], [slot('app1'), slot('app2')], EMPTY);
  assert.deepEqual(p.unaddressable.map((u) => u.key), ['n/db']);
  assert.equal(p.assignment.has('n/db'), false);
  assert.ok(p.commands.every((c) => !c.includes('db.internal')));
  assert.deepEqual(planBackend('app', [{ ...named, state: 'maint' }], [slot('app1')], EMPTY).unaddressable, [], 'nothing to report for one out of service');
});
