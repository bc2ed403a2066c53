/**
 * Real-network faults. Every host is a network namespace with its own address on a private bridge;
 * one real `swimd agent` (lan profile) runs in each. Faults are injected with nftables (loss,
 * partitions), signals (SIGKILL, SIGSTOP/SIGCONT) and tc netem (delay, where the kernel has it), and
 * every agent's view is recorded on one timeline through its local socket (test/netns/).
 *
 * Needs root, iproute2 and nftables. Elsewhere the suite is skipped with the reason, except under
 * CI=true, where not running it is a failure: CI is where these faults are checked.
 *
 * Every scenario prints its measured figures as diagnostics ("scenario: key = value") for the
 * README's "Failure behaviour" section; SWIMD_NETNS_REPORT=path also writes them as JSON
 * (bench/netns-report.ts turns that file into the README tables). The default durations are the
 * full-length ones (120 s of loss, 30 s partitions), in CI too: the suite takes about 6.5 minutes on
 * the 2-core machine. Shorter runs for development: SWIMD_NETNS_LOSS_S, SWIMD_NETNS_ONE_HOST_LOSS_S,
 * SWIMD_NETNS_PARTITION_S, SWIMD_NETNS_ONE_WAY_S, SWIMD_NETNS_PAUSE_S (seconds); more hosts:
 * SWIMD_NETNS_HOSTS (test/netns/config.ts).
 *
 * Assertions are about correctness (no healthy host declared dead, every host converges); figures
 * (detection, join and heal times, suspicion counts) are reported, with only the bounds the design
 * promises asserted.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { isClientError, type ServiceEntry } from '../client/index.js';
import { PROFILES } from '../protocol/profiles.js';
import { suspicionTimeouts } from '../protocol/suspicion.js';
import type { HostAgent } from './netns/agents.js';
import { describeChanges, falseDeaths, revivals, suspicionsSeen, timesToSettled, timesToStatus } from './netns/checks.js';
import { withNetnsCluster, type NetnsCluster, type NetnsClusterOptions } from './netns/cluster.js';
import { suiteConfig } from './netns/config.js';
import { NetemUnsupported, pathLossPct } from './netns/faults.js';
import { COUNTERS, delta, sum, type Counters } from './netns/metrics.js';
import { POLL_INTERVAL_MS } from './netns/observer.js';
import { preflight } from './netns/preflight.js';
import { ms, Report, spread, type Figures } from './netns/report.js';

const IN_CI = process.env['CI'] === 'true';
const caps = await preflight();
const cfg = suiteConfig();
const LAN = PROFILES.lan;
/** The design's promise for a healed partition: within one push-pull interval, plus slack for CI. */
const HEAL_BOUND_MS = LAN.pushPullIntervalMs + 5_000;
/** Ceiling for waits whose actual time is reported, so a slow-but-working case is measured, not cut off. */
const WAIT_MS = 90_000;
const SUSPICION = suspicionTimeouts(cfg.hosts, LAN.probeIntervalMs, LAN.suspicionMult, LAN.suspicionMaxMult);

const report = new Report({
  hosts: cfg.hosts,
  profile: 'lan',
  kernel: caps.ok ? caps.kernel : null,
  netem: caps.ok ? caps.netem : false,
  poll_interval_ms: POLL_INTERVAL_MS,
  loss_model: 'per host: P% of sent and P% of received IPv4 packets (UDP and TCP) dropped at the link; host-to-host loss 1-(1-P)^2',
  suspicion_timeout_ms: { min: SUSPICION.minMs, max: SUSPICION.maxMs },
  push_pull_interval_ms: LAN.pushPullIntervalMs,
  reconnect_interval_ms: LAN.reconnectIntervalMs,
});

function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, msec)));
}

/** Sleeps until the timeline's clock reads `t`. */
function sleepUntil(c: NetnsCluster, t: number): Promise<void> {
  return sleep(t - c.timeline.now());
}

function clusterOpts(extra: Partial<NetnsClusterOptions> = {}): NetnsClusterOptions {
  return { hosts: cfg.hosts, profile: 'lan', logLevel: cfg.logLevel, ...extra };
}

/** Summed counter increases; an agent absent from `before` (started in between) counts from zero. */
function increase(before: ReadonlyMap<string, Counters>, after: ReadonlyMap<string, Counters>): Counters {
  const zero = sum([]);
  const total = sum([...after].map(([name, a]) => delta(before.get(name) ?? zero, a)));
  // A counter missing from /v1/metrics (renamed in daemon/metrics.ts?) must not pass as "0 suspicions".
  const missing = (Object.keys(COUNTERS) as (keyof typeof COUNTERS)[]).filter((k) => Number.isNaN(total[k]));
  assert.deepEqual(missing.map((k) => COUNTERS[k]), [], 'metrics missing from GET /v1/metrics');
  return total;
}

function suspicionFigures(m: Counters): Figures {
  return {
    suspicions_raised: m.suspicionsRaised,
    suspicions_refuted: m.suspicionsRefuted,
    declared_dead: m.declaredDead,
    probes_sent: m.probesSent,
    probes_failed: m.probesFailed,
    probe_failure_pct: m.probesSent > 0 ? Math.round((1000 * m.probesFailed) / m.probesSent) / 10 : null,
    late_ticks: m.lateTicks,
  };
}

/** Asserts that no healthy member was seen dead, with the evidence in the message. */
function assertNoFalseDeaths(c: NetnsCluster, healthy: readonly string[], after: number, before?: number, observers?: readonly string[]): void {
  const window = before === undefined ? { after } : { after, before };
  const deaths = falseDeaths(c.timeline, healthy, window, observers);
  if (deaths.length === 0) return;
  // The evidence: every observer's view of the victims from a few suspicion timeouts before the
  // first false death (the suspicion, and whether the refutation reached each observer) to just after.
  const members = [...new Set(deaths.map((d) => d.member))];
  const first = Math.min(...deaths.map((d) => d.t));
  const last = Math.max(...deaths.map((d) => d.t));
  const excerpt = c.timeline.format({ member: members, after: first - 3 * SUSPICION.maxMs, before: last + 2_000 }, after, 120);
  assert.fail(`healthy hosts declared dead: ${describeChanges(deaths, after)}\n`
    + `(times are from the start of the fault; faults in force now: ${c.faults.describe()})\n`
    + `timeline of ${members.join(',')}:\n${excerpt}`);
}

/**
 * Detection of a crashed host by the survivors: first suspect, first dead, and dead for good. The
 * last two differ when the victim's own last refutation (an alive at a higher incarnation, sent just
 * before it died) was still circulating and legitimately overrode an older suspicion's death; the
 * victim's timeline is then printed so the flap can be checked against the precedence rules.
 */
function crashFigures(t: TestContext, c: NetnsCluster, scenario: string, victim: HostAgent, tKill: number): Figures {
  const names = c.names(c.agents.filter((a) => a !== victim));
  const back = revivals(c.timeline, victim.name, { after: tKill }, names);
  if (back.length > 0) {
    t.diagnostic(`${scenario}: ${victim.name} left dead ${back.length} time(s) after the kill; its timeline (from the kill):`);
    for (const line of c.timeline.format({ member: victim.name, after: tKill - 5_000 }, tKill, 80).split('\n')) t.diagnostic(line);
  }
  return {
    crash_suspect_ms: spread([...timesToStatus(c.timeline, names, victim.name, 'suspect', tKill).values()]),
    crash_first_dead_ms: spread([...timesToStatus(c.timeline, names, victim.name, 'dead', tKill).values()]),
    crash_dead_for_good_ms: spread([...timesToSettled(c.timeline, names, victim.name, 'dead', tKill).values()]),
    crash_left_dead_after_kill: back.length,
  };
}

/**
 * A host that was cut off declares the others dead at their current incarnation. Those verdicts
 * must not reach hosts that were never cut off once the cut ends: at equal incarnation dead beats
 * alive, so healthy hosts would be dead everywhere until they refute. The core prevents it by
 * letting queued accusations expire (they are news only for as long as a suspicion lasts) and by
 * turning a peer's `dead` into a suspicion when merging its push-pull state.
 */
/** Counts healthy hosts seen newly dead after a heal; prints their timeline and checks there are none. */
async function deathsAfterHeal(t: TestContext, c: NetnsCluster, scenario: string, tHeal: number): Promise<number> {
  const deaths = falseDeaths(c.timeline, c.names(), { after: tHeal + 1 });
  if (deaths.length > 0) {
    const members = [...new Set(deaths.map((d) => d.member))];
    t.diagnostic(`${scenario}: healthy hosts declared dead after the heal: ${describeChanges(deaths, tHeal)}; timeline of ${members.join(',')} around the heal:`);
    for (const line of c.timeline.format({ member: members, after: tHeal - 2_000, before: tHeal + 10_000 }, tHeal, 80).split('\n')) t.diagnostic(line);
  }
  await t.test(`${scenario}: no healthy host is declared dead after the heal`, () => {
    assert.equal(deaths.length, 0, `healthy hosts declared dead after the heal: ${describeChanges(deaths, tHeal)}`);
  });
  return deaths.length;
}

const timeoutFor = (seconds: number): number => (seconds + 150) * 1_000;

// ---------------------------------------------------------------------------------------------

if (!caps.ok) {
  const reason = caps.reason;
  if (IN_CI) {
    test('network-fault suite prerequisites', () => {
      assert.fail(`CI=true but the network-fault suite cannot run: ${reason}`);
    });
  } else {
    test('network-fault suite (network namespaces)', (t) => {
      t.skip(`skipped: ${reason}`);
    });
  }
} else {
  describe(`network faults, ${cfg.hosts} hosts in network namespaces, lan profile`, () => {
    test(`5% loss on every host for ${cfg.lossS} s: no healthy host is declared dead`, { timeout: timeoutFor(cfg.lossS) }, async (t) => {
      await lossEverywhere(t, 5, 'loss_5pct_all_hosts');
    });

    test(`15% loss on every host for ${cfg.lossS} s: no false deaths; join and crash detection under loss`, { timeout: timeoutFor(cfg.lossS) }, async (t) => {
      await heavyLossJoinAndCrash(t, 15, 'loss_15pct_all_hosts');
    });

    test(`20% loss on one host for ${cfg.oneHostLossS} s: the others are never declared dead; the lossy host comes back`, { timeout: timeoutFor(cfg.oneHostLossS) }, async (t) => {
      await oneLossyHost(t, 20, 'loss_20pct_one_host');
    });

    test('SIGKILL of one host: declared dead by every other host', { timeout: timeoutFor(30) }, async (t) => {
      await crashDetection(t, 'sigkill');
    });

    test(`partition for ${cfg.partitionS} s: each side declares the other dead; all alive again after the heal`, { timeout: timeoutFor(cfg.partitionS + 60) }, async (t) => {
      await partitionAndHeal(t, 'partition');
    });

    test(`one-way partition of one host for ${cfg.oneWayS} s: the cluster converges after it ends`, { timeout: timeoutFor(cfg.oneWayS + 60) }, async (t) => {
      await oneWayPartition(t, 'one_way_partition');
    });

    test(`SIGSTOP of one host for ${cfg.pauseS} s, then SIGCONT: healthy hosts stay alive; the paused host refutes and returns`, { timeout: timeoutFor(cfg.pauseS + 30) }, async (t) => {
      await pauseAndResume(t, 'sigstop_sigcont');
    });

    test('restart of a crashed host with the same data dir: alive everywhere with a higher incarnation', { timeout: timeoutFor(60) }, async (t) => {
      await restartSameDataDir(t, 'restart_same_data_dir');
    });

    test(`${cfg.delayMs} ms added delay on one host for ${cfg.delayS} s: no false deaths`, { timeout: timeoutFor(cfg.delayS) }, async (t) => {
      if (!caps.netem) {
        t.diagnostic(`delay scenario not run: ${caps.netemReason}`);
        t.skip(caps.netemReason);
        return;
      }
      await delayedHost(t, 'delay_one_host');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** Loss on every host for the configured time; nobody may be declared dead. */
async function lossEverywhere(t: TestContext, pct: number, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const names = c.names();
    const before = await c.counters();
    const tLoss = await c.setLoss(c.agents, pct);
    await sleepUntil(c, tLoss + cfg.lossS * 1_000);
    const after = await c.counters();
    const tOff = await c.clearLoss();
    const tConverged = await c.waitConverged(WAIT_MS);
    const m = increase(before, after);
    const seen = suspicionsSeen(c.timeline, { after: tLoss, before: tOff });
    const deaths = falseDeaths(c.timeline, names, { after: tLoss });
    report.record(t, scenario, {
      loss_pct_per_host: pct,
      host_to_host_loss_pct: Math.round(pathLossPct(pct) * 100) / 100,
      duration_s: cfg.lossS,
      ...suspicionFigures(m),
      suspect_transitions_seen: seen.length,
      false_dead: deaths.length,
      all_alive_after_loss_ms: ms(tConverged - tOff),
    });
    assertNoFalseDeaths(c, names, tLoss);
    assert.equal(m.declaredDead, 0, `agents counted ${m.declaredDead} members declared dead under ${pct}% loss`);
  });
}

/**
 * Heavy loss on every host: one host joins under it (join time), the cluster runs under it for the
 * configured time (no false deaths), then one host crashes under it (detection time).
 */
async function heavyLossJoinAndCrash(t: TestContext, pct: number, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts({ startAgents: cfg.hosts - 1 }), async (c) => {
    const joiner = c.agents[c.agents.length - 1] as HostAgent;
    const victim = c.agents[1] as HostAgent;
    const tLoss = await c.setLoss(c.agents, pct);
    const before = await c.counters();

    const tJoin = c.timeline.now();
    await c.startAgent(joiner);
    const tJoinerSeesAll = await c.waitAllSee([joiner], c.agents, 'alive', WAIT_MS, `${joiner.name} to see everyone alive under ${pct}% loss`);
    const tAllSeeAll = await c.waitConverged(WAIT_MS, `every host to see every host alive after ${joiner.name} joined under ${pct}% loss`);

    await sleepUntil(c, tLoss + cfg.lossS * 1_000);
    const steady = await c.counters();
    const steadyEnd = c.timeline.now();

    const tKill = await c.crash(victim);
    const survivors = c.agents.filter((a) => a !== victim);
    const tDeadAll = await c.waitAllSee(survivors, [victim], 'dead', WAIT_MS, `every survivor to see ${victim.name} dead under ${pct}% loss`);
    const tOff = await c.clearLoss();
    const survivorNames = c.names(survivors);
    await c.waitAllSee(survivors, survivors, 'alive', WAIT_MS, 'survivors to see one another alive after the loss');

    const m = increase(before, steady);
    report.record(t, scenario, {
      loss_pct_per_host: pct,
      host_to_host_loss_pct: Math.round(pathLossPct(pct) * 100) / 100,
      duration_s: cfg.lossS,
      join_self_view_ms: ms(tJoinerSeesAll - tJoin),
      join_all_views_ms: ms(tAllSeeAll - tJoin),
      ...suspicionFigures(m),
      suspect_transitions_seen: suspicionsSeen(c.timeline, { after: tLoss, before: steadyEnd }).length,
      ...crashFigures(t, c, scenario, victim, tKill),
      crash_dead_everywhere_ms: ms(tDeadAll - tKill),
      false_dead: falseDeaths(c.timeline, survivorNames, { after: tLoss }).length
        + falseDeaths(c.timeline, [victim.name], { after: tLoss, before: tKill }).length,
      loss_off_at_s: Math.round((tOff - tLoss) / 1000),
    });
    assertNoFalseDeaths(c, survivorNames, tLoss);
    assertNoFalseDeaths(c, [victim.name], tLoss, tKill);
  });
}

/** One host drops 20% in and out; nobody else may be declared dead, and it must come back after. */
async function oneLossyHost(t: TestContext, pct: number, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const lossy = c.agents[c.agents.length - 1] as HostAgent;
    const others = c.agents.filter((a) => a !== lossy);
    const otherNames = c.names(others);
    const before = await c.counters();
    const tLoss = await c.setLoss([lossy], pct);
    await sleepUntil(c, tLoss + cfg.oneHostLossS * 1_000);
    const after = await c.counters();
    const tOff = await c.clearLoss();
    const tBack = await c.waitConverged(WAIT_MS, `every host to see every host alive once ${lossy.name}'s loss stopped`);

    const m = increase(before, after);
    const lossyDelta = delta(before.get(lossy.name) ?? sum([]), after.get(lossy.name) ?? sum([]));
    const window = { after: tLoss, before: tOff };
    const suspectedBy = c.timeline.changes({ member: lossy.name, to: 'suspect', observer: otherNames, ...window });
    const deadBy = c.timeline.changes({ member: lossy.name, to: 'dead', observer: otherNames, ...window });
    report.record(t, scenario, {
      lossy_host: lossy.name,
      loss_pct: pct,
      duration_s: cfg.oneHostLossS,
      lossy_suspect_transitions_seen: suspectedBy.length,
      lossy_dead_transitions_seen: deadBy.length,
      lossy_refutations: lossyDelta.suspicionsRefuted,
      lossy_local_health_at_end: lossyDelta.localHealth,
      lossy_suspicions_raised: lossyDelta.suspicionsRaised,
      ...suspicionFigures(m),
      others_false_dead: falseDeaths(c.timeline, otherNames, { after: tLoss }).length,
      all_alive_after_loss_ms: ms(tBack - tOff),
    });
    assertNoFalseDeaths(c, otherNames, tLoss);
  });
}

/** SIGKILL one host; every other host must declare it dead. */
async function crashDetection(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const victim = c.agents[2] as HostAgent;
    const survivors = c.agents.filter((a) => a !== victim);
    const names = c.names(survivors);
    const tKill = await c.crash(victim);
    const tAll = await c.waitAllSee(survivors, [victim], 'dead', WAIT_MS, `every survivor to see ${victim.name} dead`);
    report.record(t, scenario, {
      victim: victim.name,
      ...crashFigures(t, c, scenario, victim, tKill),
      dead_everywhere_ms: ms(tAll - tKill),
    });
    assertNoFalseDeaths(c, names, tKill);
  });
}

/**
 * What a partition scenario can hook into; the service-catalog check uses these, and further checks
 * (anything that must cross a healed partition) slot in the same way.
 */
interface PartitionSides {
  readonly a: readonly HostAgent[];
  readonly b: readonly HostAgent[];
}

interface PartitionHooks {
  /** Before the cut, with every host converged. */
  before?(c: NetnsCluster, s: PartitionSides): Promise<void>;
  /** While the cut is in force, after each side has declared the other dead. */
  during?(c: NetnsCluster, s: PartitionSides): Promise<void>;
  /** After every host sees every host alive again; returns figures for the report. */
  afterHeal?(c: NetnsCluster, s: PartitionSides, tHeal: number): Promise<Figures>;
}

/** Splits the hosts into {first half} | {rest}, e.g. {h1,h2} | {h3,h4,h5}. */
async function partitionAndHeal(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const cut = Math.floor(c.agents.length / 2);
    const sides: PartitionSides = { a: c.agents.slice(0, cut), b: c.agents.slice(cut) };
    const aNames = c.names(sides.a);
    const bNames = c.names(sides.b);
    const hooks = await catalogHooks(t, c);

    await hooks.before?.(c, sides);
    const tCut = await c.partition(sides.a, sides.b);
    const tSplit = await c.timeline.waitFor('each side to see the whole other side dead', () =>
      c.timeline.allSee(aNames, bNames, 'dead') && c.timeline.allSee(bNames, aNames, 'dead'), cfg.partitionS * 1_000 + WAIT_MS);
    await hooks.during?.(c, sides);
    await sleepUntil(c, tCut + cfg.partitionS * 1_000);
    // Inside each side, nobody may have been declared dead while the cut was in force.
    assertNoFalseDeaths(c, aNames, tCut, undefined, aNames);
    assertNoFalseDeaths(c, bNames, tCut, undefined, bNames);

    const tHeal = await c.heal();
    const tWhole = await c.waitConverged(HEAL_BOUND_MS + WAIT_MS, 'every host to see every host alive after the heal');
    const extra = (await hooks.afterHeal?.(c, sides, tHeal)) ?? {};
    const everyone = c.names();
    const staleDeaths = await deathsAfterHeal(t, c, scenario, tHeal);
    report.record(t, scenario, {
      sides: `{${aNames.join(',')}} | {${bNames.join(',')}}`,
      duration_s: cfg.partitionS,
      other_side_dead_everywhere_ms: ms(tSplit - tCut),
      heal_all_alive_ms: ms(tWhole - tHeal),
      heal_bound_ms: HEAL_BOUND_MS,
      heal_first_alive_ms: spread(everyone.flatMap((o) => {
        const other = aNames.includes(o) ? bNames : aNames;
        return other.map((m) => c.timeline.firstSeen(o, m, 'alive', tHeal)).map((x) => (x === undefined ? undefined : x - tHeal));
      })),
      healthy_declared_dead_after_heal: staleDeaths,
      ...extra,
    });
    assert.ok(tWhole - tHeal <= HEAL_BOUND_MS,
      `healed partition took ${Math.round(tWhole - tHeal)} ms to converge; bound is the push-pull interval + 5 s = ${HEAL_BOUND_MS} ms`);
  });
}

/**
 * The service part of the partition scenario: a service registered on one side during the cut is
 * visible on the other after the heal, and one deregistered during the cut is not resurrected by
 * the other side's stale copy. Runs only when the agent serves the catalog (GET /v1/services);
 * before that it says so and the partition scenario runs without it.
 */
async function catalogHooks(t: TestContext, c: NetnsCluster): Promise<PartitionHooks> {
  const probe = c.agents[0] as HostAgent;
  try {
    await probe.client.services();
  } catch (e) {
    if (isClientError(e) && e.code === 'http' && e.status === 404) {
      t.diagnostic('service catalog part not run: the agent does not serve GET /v1/services yet');
      return {};
    }
    throw e;
  }
  const NEW = 'netns-part-new';
  const OLD = 'netns-part-old';
  const has = (list: readonly ServiceEntry[], id: string, node: string): boolean => list.some((s) => s.id === id && s.node === node);
  const everyHas = async (agents: readonly HostAgent[], id: string, node: string, want: boolean): Promise<boolean> => {
    const lists = await Promise.all(agents.map((a) => a.client.services()));
    return lists.every((l) => has(l, id, node) === want);
  };
  const until = async (what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<number> => {
    const deadline = c.timeline.now() + timeoutMs;
    for (;;) {
      if (await cond()) return c.timeline.now();
      if (c.timeline.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(POLL_INTERVAL_MS);
    }
  };
  return {
    async before(cl, s) {
      const owner = s.b[0] as HostAgent;
      await owner.client.register({ id: OLD, name: OLD, port: 9001 });
      await until(`${OLD} to be listed everywhere`, () => everyHas(cl.agents, OLD, owner.name, true), WAIT_MS);
    },
    async during(_cl, s) {
      const a0 = s.a[0] as HostAgent;
      const b0 = s.b[0] as HostAgent;
      await a0.client.register({ id: NEW, name: NEW, port: 9002 });
      await b0.client.deregister(OLD);
      await until(`${NEW} on side A and ${OLD} gone on side B`, async () =>
        (await everyHas(s.a, NEW, a0.name, true)) && (await everyHas(s.b, OLD, b0.name, false)), WAIT_MS);
    },
    async afterHeal(cl, s, tHeal) {
      const a0 = s.a[0] as HostAgent;
      const b0 = s.b[0] as HostAgent;
      const tCross = await until(`${NEW} to reach side B after the heal`, () => everyHas(s.b, NEW, a0.name, true), HEAL_BOUND_MS + WAIT_MS);
      // Side A held a live copy of OLD through the cut; after the heal it must take the tombstone,
      // and nobody may bring OLD back. Checked over a few reconnect intervals.
      const settleUntil = cl.timeline.now() + 3 * LAN.reconnectIntervalMs;
      let tGone: number | undefined;
      while (cl.timeline.now() < settleUntil) {
        const gone = await everyHas(cl.agents, OLD, b0.name, false);
        if (gone && tGone === undefined) tGone = cl.timeline.now();
        if (!gone && tGone !== undefined) assert.fail(`${OLD} (deregistered during the partition) was resurrected after the heal`);
        await sleep(POLL_INTERVAL_MS);
      }
      assert.ok(tGone !== undefined, `${OLD} (deregistered during the partition) is still listed ${Math.round(3 * LAN.reconnectIntervalMs / 1000)} s after the heal`);
      return { service_registered_during_cut_crossed_ms: ms(tCross - tHeal), service_deregistered_during_cut_gone_ms: ms(tGone - tHeal) };
    },
  };
}

/**
 * One host can hear the others but nothing it sends reaches them (its packets are dropped at the
 * others' ingress; TCP to and from it fails too, since a handshake needs both directions).
 *
 * What happens (5 hosts, lan profile; the figures are printed as diagnostics on every run): the
 * others stop getting its acks, suspect it within about 0.7 s and declare it dead within about
 * 1.4 s. The cut host hears that it is suspected and refutes (once: after that it no longer hears
 * about itself, as the others have stopped gossiping to a dead member), but the refutation never
 * arrives. All its own probes fail, so its Lifeguard local-health score climbs to the maximum and it
 * slows down, yet it still ends up declaring every other host dead in its own view: it is, from where
 * it stands, alone. When the cut ends, the periodic reconnect to dead members (a push-pull every
 * reconnect interval) finds the other side again and the cluster converges within a fraction of a
 * second, the cut host at a higher incarnation. The others never declare one another dead while the
 * cut lasts, nor right after it: the cut host's verdicts expire in its queue, and its push-pull
 * state only makes the accused refute.
 */
async function oneWayPartition(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const cut = c.agents[c.agents.length - 1] as HostAgent;
    const others = c.agents.filter((a) => a !== cut);
    const otherNames = c.names(others);
    const incBefore = c.timeline.incarnationOf(otherNames[0] ?? '', cut.name) ?? 0;
    const before = await c.counters();
    const tCut = await c.block([cut], others);
    await sleepUntil(c, tCut + cfg.oneWayS * 1_000);
    const during = await c.counters();
    const cutView = [...c.timeline.view(cut.name).values()].map((m) => `${m.name}=${m.status}`).join(' ');
    const othersViewOfCut = otherNames.map((o) => `${o}:${c.timeline.statusOf(o, cut.name)}`).join(' ');
    const tHeal = await c.heal();
    const tWhole = await c.waitConverged(HEAL_BOUND_MS + WAIT_MS, 'every host to see every host alive after the one-way cut ended');
    const incAfter = c.timeline.incarnationOf(otherNames[0] ?? '', cut.name) ?? 0;
    const cutDelta = delta(before.get(cut.name) ?? sum([]), during.get(cut.name) ?? sum([]));
    const window = { after: tCut, before: tHeal };
    const cutDeclaredOthersDead = c.timeline.changes({ observer: cut.name, member: otherNames, to: 'dead', ...window });
    const staleDeaths = await deathsAfterHeal(t, c, scenario, tHeal);
    const figures: Figures = {
      cut_host: cut.name,
      direction: `${cut.name} hears the others; the others do not hear ${cut.name}`,
      duration_s: cfg.oneWayS,
      others_see_cut_host_suspect_ms: spread([...timesToStatus(c.timeline, otherNames, cut.name, 'suspect', tCut).values()]),
      others_see_cut_host_dead_ms: spread([...timesToStatus(c.timeline, otherNames, cut.name, 'dead', tCut).values()]),
      cut_host_declared_others_dead: cutDeclaredOthersDead.length,
      cut_host_view_at_end_of_cut: cutView,
      others_view_of_cut_host_at_end_of_cut: othersViewOfCut,
      cut_host_refutations: cutDelta.suspicionsRefuted,
      cut_host_local_health_at_end_of_cut: cutDelta.localHealth,
      cut_host_incarnation: { before: incBefore, after: incAfter },
      converged_after_cut_ms: ms(tWhole - tHeal),
      healthy_declared_dead_after_cut: staleDeaths,
    };
    report.record(t, scenario, figures);
    t.diagnostic(`${scenario}: summary = others declared ${cut.name} dead; ${cut.name} `
      + `${cutDeclaredOthersDead.length > 0 ? `declared ${new Set(cutDeclaredOthersDead.map((x) => x.member)).size} of the others dead in its own view` : 'kept the others alive in its own view'}`
      + `; converged ${Math.round(tWhole - tHeal)} ms after the cut ended`
      + `${staleDeaths > 0 ? `; after the cut its stale verdicts made ${staleDeaths} observer(s) declare healthy hosts dead until they refuted` : ''}`);
    // The others can still talk among themselves: none of them may be declared dead by another while
    // the cut is in force. (After it ends, see deathsAfterHeal.)
    assertNoFalseDeaths(c, otherNames, tCut, tHeal, otherNames);
    assert.ok(tWhole - tHeal <= HEAL_BOUND_MS, `one-way cut: converged ${Math.round(tWhole - tHeal)} ms after it ended; bound ${HEAL_BOUND_MS} ms`);
  });
}

/** A paused agent (SIGSTOP) looks dead to the others; after SIGCONT it must refute and return. */
async function pauseAndResume(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const paused = c.agents[1] as HostAgent;
    const others = c.agents.filter((a) => a !== paused);
    const otherNames = c.names(others);
    const incBefore = c.timeline.incarnationOf(otherNames[0] ?? '', paused.name) ?? 0;
    const tStop = c.pause(paused);
    await sleepUntil(c, tStop + cfg.pauseS * 1_000);
    const tCont = c.resume(paused);
    const tBack = await c.waitAllSee(c.agents, [paused], (m) => m?.status === 'alive' && m.incarnation > incBefore,
      WAIT_MS, `everyone to see ${paused.name} alive at an incarnation above ${incBefore}`);
    await c.waitConverged(WAIT_MS);
    const wasDead = otherNames.some((o) => c.timeline.firstSeen(o, paused.name, 'dead', tStop) !== undefined);
    report.record(t, scenario, {
      paused_host: paused.name,
      paused_s: cfg.pauseS,
      others_see_paused_suspect_ms: spread([...timesToStatus(c.timeline, otherNames, paused.name, 'suspect', tStop).values()]),
      others_see_paused_dead_ms: spread([...timesToStatus(c.timeline, otherNames, paused.name, 'dead', tStop).values()]),
      declared_dead_while_paused: wasDead,
      alive_everywhere_after_sigcont_ms: ms(tBack - tCont),
      paused_host_incarnation: { before: incBefore, after: c.timeline.incarnationOf(otherNames[0] ?? '', paused.name) ?? null },
    });
    // Healthy hosts must never be seen dead — including by the paused host, whose timers all fire
    // late at once when it resumes.
    assertNoFalseDeaths(c, otherNames, tStop);
  });
}

/** A crashed host restarted with the same data dir comes back alive at a higher incarnation. */
async function restartSameDataDir(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const host = c.agents[c.agents.length - 1] as HostAgent;
    const others = c.agents.filter((a) => a !== host);
    const otherNames = c.names(others);
    const incBefore = c.timeline.incarnationOf(otherNames[0] ?? '', host.name) ?? 0;
    const tKill = await c.crash(host);
    const tDead = await c.waitAllSee(others, [host], 'dead', WAIT_MS, `every other host to see ${host.name} dead`);
    const tStart = c.timeline.now();
    await c.startAgent(host);
    const tBack = await c.waitAllSee(c.agents, [host], (m) => m?.status === 'alive' && m.incarnation > incBefore,
      WAIT_MS, `everyone to see ${host.name} alive at an incarnation above ${incBefore}`);
    const tWhole = await c.waitConverged(WAIT_MS);
    const incAfter = c.timeline.incarnationOf(otherNames[0] ?? '', host.name) ?? 0;
    report.record(t, scenario, {
      host: host.name,
      dead_everywhere_ms: ms(tDead - tKill),
      rejoin_alive_everywhere_ms: ms(tBack - tStart),
      rejoin_all_views_ms: ms(tWhole - tStart),
      incarnation: { before: incBefore, after: incAfter },
    });
    assert.ok(incAfter > incBefore, `${host.name} came back at incarnation ${incAfter}, not above ${incBefore}`);
    assertNoFalseDeaths(c, otherNames, tKill);
  });
}

/** Added one-way delay (netem) on one host's link; nobody may be declared dead. */
async function delayedHost(t: TestContext, scenario: string): Promise<void> {
  await withNetnsCluster(t, clusterOpts(), async (c) => {
    const slow = c.agents[c.agents.length - 1] as HostAgent;
    const names = c.names();
    const before = await c.counters();
    let tDelay: number;
    try {
      tDelay = await c.setDelay(slow, cfg.delayMs, { jitterMs: Math.round(cfg.delayMs / 5) });
    } catch (e) {
      if (e instanceof NetemUnsupported) {
        t.diagnostic(`delay scenario not run: ${e.message}`);
        t.skip(e.message);
        return;
      }
      throw e;
    }
    await sleepUntil(c, tDelay + cfg.delayS * 1_000);
    const after = await c.counters();
    await c.clearDelay(slow);
    report.record(t, scenario, {
      delayed_host: slow.name,
      delay_ms: cfg.delayMs,
      jitter_ms: Math.round(cfg.delayMs / 5),
      duration_s: cfg.delayS,
      ...suspicionFigures(increase(before, after)),
      false_dead: falseDeaths(c.timeline, names, { after: tDelay }).length,
    });
    assertNoFalseDeaths(c, names, tDelay);
  });
}
