/**
 * The pure parts of the network-fault harness (test/netns/), checked without root: the nftables
 * rules it renders, the timeline's change detection and queries, metric parsing, report figures.
 * The fault suite itself (netns-faults.test.ts) can only say "a host was declared dead"; these make
 * sure that when it says so, the harness measured what it claims.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from '../bench/netns-report.js';
import type { Member, MemberStatus } from '../client/index.js';
import { falseDeaths, suspicionsSeen, timesToStatus } from './netns/checks.js';
import { pathLossPct, renderRules, type HostFaults } from './netns/faults.js';
import { countersFrom, delta, parseExposition, sum } from './netns/metrics.js';
import { spread } from './netns/report.js';
import { Timeline } from './netns/timeline.js';

function faults(over: Partial<HostFaults> = {}): HostFaults {
  return { lossPct: 0, udpOnly: false, deaf: new Set<string>(), delayMs: 0, ...over };
}

/** The rules of one chain, without the chain's header. */
function chainRules(script: string, chain: 'ingress' | 'egress'): string[] {
  const body = new RegExp(`chain ${chain} \\{\\n[^\\n]*\\n((?:    [^\\n]*\\n)*)  \\}`).exec(script);
  assert.ok(body !== null, `no ${chain} chain in:\n${script}`);
  return (body[1] ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

test('nft rules: no faults renders empty accepting chains, replaced in one transaction', () => {
  const s = renderRules(faults());
  assert.match(s, /^table netdev swt\ndelete table netdev swt\ntable netdev swt \{/);
  assert.match(s, /type filter hook ingress device "eth0" priority 0; policy accept;/);
  assert.match(s, /type filter hook egress device "eth0" priority 0; policy accept;/);
  assert.deepEqual(chainRules(s, 'ingress'), []);
  assert.deepEqual(chainRules(s, 'egress'), []);
});

test('nft rules: loss drops IPv4 (UDP and TCP) both ways, or only UDP when asked', () => {
  const all = renderRules(faults({ lossPct: 15 }));
  assert.deepEqual(chainRules(all, 'ingress'), ['meta protocol ip numgen random mod 100 < 15 drop']);
  assert.deepEqual(chainRules(all, 'egress'), ['meta protocol ip numgen random mod 100 < 15 drop']);
  const udp = renderRules(faults({ lossPct: 5, udpOnly: true }));
  assert.deepEqual(chainRules(udp, 'egress'), ['ip protocol udp numgen random mod 100 < 5 drop']);
  // nft rejects "mod 100 < 100": total loss is a plain drop.
  assert.deepEqual(chainRules(renderRules(faults({ lossPct: 100 })), 'ingress'), ['meta protocol ip drop']);
});

test('nft rules: a cut drops by source address at the receiving host, before loss is drawn', () => {
  const s = renderRules(faults({ lossPct: 20, deaf: new Set(['198.18.0.3', '198.18.0.2']) }));
  assert.deepEqual(chainRules(s, 'ingress'), [
    'ip saddr { 198.18.0.2, 198.18.0.3 } drop',
    'meta protocol ip numgen random mod 100 < 20 drop',
  ]);
  assert.deepEqual(chainRules(s, 'egress'), ['meta protocol ip numgen random mod 100 < 20 drop']);
});

test('host-to-host loss compounds the loss of both ends', () => {
  assert.equal(pathLossPct(0), 0);
  assert.ok(Math.abs(pathLossPct(5) - 9.75) < 1e-9);
  assert.ok(Math.abs(pathLossPct(15) - 27.75) < 1e-9);
});

function m(name: string, status: MemberStatus, incarnation = 1): Member {
  return { name, address: '198.18.0.1', port: 7946, status, incarnation };
}

test('timeline: records only changes, including members that disappear, per observer', () => {
  const tl = new Timeline();
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive')], 10);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive')], 60);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'suspect')], 110);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'dead')], 160);
  tl.update('h1', [m('h1', 'alive')], 210);
  tl.update('h2', [m('h2', 'alive')], 20);
  assert.deepEqual(tl.changes({ observer: 'h1', member: 'h2' }).map((c) => [c.t, c.from, c.to]), [
    [10, 'absent', 'alive'], [110, 'alive', 'suspect'], [160, 'suspect', 'dead'], [210, 'dead', 'absent'],
  ]);
  assert.equal(tl.firstSeen('h1', 'h2', 'dead', 0), 160);
  assert.equal(tl.firstSeen('h1', 'h2', 'dead', 161), undefined);
  assert.equal(tl.statusOf('h1', 'h2'), 'absent');
  assert.equal(tl.statusOf('h2', 'h2'), 'alive');
  assert.ok(tl.allSee(['h1', 'h2'], ['h1'], (v) => v === undefined || v.status === 'alive'));
  assert.ok(!tl.allSee(['h1', 'h2'], ['h1', 'h2'], 'alive'));
});

test('timeline: an unanswered poll keeps the last view and is logged once per transition', () => {
  const tl = new Timeline();
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive', 3)], 10);
  tl.setReachable('h1', false, 'timeout', 20);
  tl.setReachable('h1', false, 'timeout', 30);
  assert.equal(tl.isReachable('h1'), false);
  assert.equal(tl.incarnationOf('h1', 'h2'), 3);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive', 3)], 40);
  assert.deepEqual(tl.reachability().map((r) => [r.t, r.reachable]), [[10, true], [20, false], [40, true]]);
  assert.equal(tl.lastAnswerAt('h1'), 40);
});

test('checks: false deaths, suspicions and detection times honour the window and observers', () => {
  const tl = new Timeline();
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive'), m('h3', 'alive')], 0);
  tl.update('h2', [m('h1', 'alive'), m('h2', 'alive'), m('h3', 'alive')], 0);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'suspect'), m('h3', 'suspect')], 100);
  tl.update('h1', [m('h1', 'alive'), m('h2', 'alive', 2), m('h3', 'dead')], 200);
  tl.update('h2', [m('h1', 'alive'), m('h2', 'alive'), m('h3', 'dead')], 250);
  assert.deepEqual(falseDeaths(tl, ['h1', 'h2'], { after: 0 }), []);
  assert.deepEqual(falseDeaths(tl, ['h3'], { after: 0 }).map((c) => c.observer), ['h1', 'h2']);
  assert.deepEqual(falseDeaths(tl, ['h3'], { after: 0, before: 220 }).map((c) => c.observer), ['h1']);
  assert.deepEqual(falseDeaths(tl, ['h3'], { after: 0 }, ['h2']).map((c) => c.t), [250]);
  assert.equal(suspicionsSeen(tl, { after: 0 }).length, 2);
  assert.equal(suspicionsSeen(tl, { after: 0 }, 'h2').length, 1);
  assert.deepEqual([...timesToStatus(tl, ['h1', 'h2'], 'h3', 'dead', 50)], [['h1', 150], ['h2', 200]]);
  assert.deepEqual([...timesToStatus(tl, ['h1', 'h2'], 'h3', 'suspect', 50)], [['h1', 50], ['h2', undefined]]);
});

const EXPOSITION = `# HELP swimd_members Known members.
# TYPE swimd_members gauge
swimd_members{status="alive"} 5
swimd_suspicions_raised_total 7
swimd_suspicions_refuted_total 2
swimd_declared_dead_total 0
swimd_probes_sent_total 150
swimd_probes_failed_total 3
swimd_indirect_probes_sent_total 4
swimd_send_errors_total 0
swimd_ticks_late_total 1
swimd_incarnation 3
swimd_local_health 0
`;

test('metrics: unlabelled samples are read by name; a missing counter reads as NaN, not zero', () => {
  const samples = parseExposition(EXPOSITION);
  assert.equal(samples.get('swimd_probes_sent_total'), 150);
  assert.equal(samples.has('swimd_members'), false);
  const c = countersFrom(EXPOSITION);
  assert.equal(c.suspicionsRaised, 7);
  assert.equal(c.incarnation, 3);
  assert.ok(Number.isNaN(countersFrom('swimd_incarnation 1\n').suspicionsRaised));
  const later = countersFrom(EXPOSITION.replace('raised_total 7', 'raised_total 10').replace('incarnation 3', 'incarnation 4'));
  const d = delta(c, later);
  assert.equal(d.suspicionsRaised, 3);
  assert.equal(d.incarnation, 4, 'gauges are taken as they are at the end');
  assert.equal(sum([d, d]).suspicionsRaised, 6);
});

test('report: spread is min / median / max over the observers that saw the event', () => {
  assert.deepEqual(spread([30, undefined, 10, 20]), { min: 10, median: 20, max: 30, n: 3 });
  assert.deepEqual(spread([10, 20]), { min: 10, median: 15, max: 20, n: 2 });
  assert.deepEqual(spread([undefined]), { min: null, median: null, max: null, n: 0 });
});

test('netns-report renders a report file as Markdown tables', () => {
  const md = render({
    hosts: 5,
    scenarios: { sigkill: { victim: 'h3', dead_ms: { min: 950, median: 970, max: 990, n: 4 } }, custom: { x: null } },
  });
  assert.match(md, /#### SIGKILL of one host/);
  assert.match(md, /\| dead_ms \| 950 \/ 970 \/ 990 \(n=4\) \|/);
  assert.match(md, /#### custom\n\n\| figure \| value \|\n\| --- \| --- \|\n\| x \| — \|/);
  assert.throws(() => render({ hosts: 5 }), /not a network-fault report/);
});
