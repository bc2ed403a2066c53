/**
 * Randomised fault schedules, one family of faults at a time, each drawn from a seed. Every family
 * runs the classic faults (loss, partitions, crashes, restarts, pauses, one-way blocks, catalog
 * changes) with its own kind of fault mixed in, then stops the faults and holds the cluster to the
 * invariants of cluster-invariants.ts.
 */
import type { ServiceMsg } from '../../protocol/messages.js';
import { PROFILES } from '../../protocol/profiles.js';
import {
  convergenceViolations, hasSettled, issuedViolations, nameConflictViolations, reapViolations,
} from './cluster-invariants.js';
import { FORGER, FORGERY_KINDS, forge, forgedCounter } from './forgery.js';
import { Trial, type Violation } from './sim-trial.js';

export type Family = 'classic' | 'forged' | 'amnesia' | 'same-name' | 'long-partition';

export interface RunOutcome {
  readonly seed: number;
  readonly family: Family;
  /** One line: the cluster and every fault applied, with its virtual time. */
  readonly description: string;
  readonly violations: readonly Violation[];
}

const REAP_MS = PROFILES.lan.reapAfterMs;
/** After the faults stop, the cluster must settle within this much virtual time. */
const SETTLE_MS = 240_000;
/** A partition longer than the reap time may take a slower path back (a rejoin); it gets longer. */
const LONG_SETTLE_MS = 600_000;
/**
 * Once settled, accusations raised during the faults may still be in flight and get refuted for a
 * while (at most a suspicion's maximum, seconds); after this grace nothing may change without a fault.
 */
const GRACE_MS = 30_000;
/** Watched after the grace: no incarnation may rise and the views must stay settled. */
const QUIET_MS = 10_000;
/** Beyond the reap time, an owner gone this long is surely reaped (death detection, the reap tick). */
const REAP_SLACK_MS = 2 * 60_000;
const LONG_PARTITION_MAX_MS = 2 * 60 * 60_000;

export function runSchedule(seed: number, family: Family): RunOutcome {
  const t = new Trial(seed, family, family === 'long-partition' ? 5 : 9);
  const violations: Violation[] = [];
  try {
    if (family === 'long-partition') violations.push(...runLongPartition(t));
    else {
      form(t, family === 'same-name');
      faultPhase(t, family);
      violations.push(...settle(t, SETTLE_MS));
    }
  } catch (e) {
    const where = e instanceof Error ? (e.stack?.split('\n')[1]?.trim() ?? '') : '';
    violations.push({ check: 'exception', text: `the run threw at ${(t.sim.now / 1000).toFixed(1)}s: ${e instanceof Error ? e.message : String(e)} ${where}` });
  }
  for (const e of t.nodeErrors.values()) violations.push({ check: 'exception', text: `${e.text} (${e.count} inputs lost in all)` });
  return { seed, family, description: t.describe(), violations };
}

/** The cluster forms, then a few nodes register service instances. */
function form(t: Trial, withOriginal: boolean): void {
  const { sim, rng, ids } = t;
  sim.joinAll([ids[0] as string], { spreadMs: rng.int(500) });
  sim.runFor(3_000);
  const owners = rng.shuffle([...ids]).slice(0, 1 + rng.int(Math.min(4, ids.length)));
  if (withOriginal) {
    // The node whose name a clone will take: never crashed, so it must come out unharmed.
    const original = t.victim() as string;
    t.protectedIds.add(original);
    if (!owners.includes(original)) owners.push(original);
  }
  for (const id of owners) {
    const count = 1 + rng.int(3);
    for (let i = 0; i < count; i++) t.register(id, `s${i}`, 8000 + rng.int(4));
  }
  t.note(`services on ${owners.join(',')}`);
  sim.runFor(1_000);
  t.noteIssued();
}

type Step = 'classic' | 'forged' | 'reboot' | 'clone';

function faultPhase(t: Trial, family: Family): void {
  const { rng } = t;
  const steps: Step[] = Array.from({ length: 3 + rng.int(5) }, () => 'classic');
  if (family === 'forged') for (let i = 1 + rng.int(3); i > 0; i--) steps.push('forged');
  if (family === 'amnesia') for (let i = 1 + rng.int(2); i > 0; i--) steps.push('reboot');
  if (family === 'same-name') steps.push('clone');
  rng.shuffle(steps);
  for (const step of steps) {
    if (step === 'classic') classicStep(t);
    else if (step === 'forged') forgedStep(t);
    else if (step === 'reboot') rebootStep(t);
    else cloneStep(t);
    t.sim.runFor(rng.int(8_000));
    t.noteIssued();
  }
}

/** The faults of the original schedule, plus catalog changes. Restarts here lose all state. */
function classicStep(t: Trial): void {
  const { sim, rng } = t;
  const kind = rng.int(7);
  const victim = t.victim();
  if (kind === 0) {
    const loss = rng.next() * 0.2;
    sim.configure({ loss });
    t.note(`loss ${loss.toFixed(2)}`);
  } else if (kind === 1) {
    const all = rng.shuffle([...t.ids, ...t.clones]);
    const cut = 1 + rng.int(all.length - 1);
    sim.partition([all.slice(0, cut), all.slice(cut)]);
    t.note(`partition ${all.slice(0, cut).join(',')} | ${all.slice(cut).join(',')}`);
  } else if (victim === null) {
    return;
  } else if (kind === 2 && !t.crashed.has(victim)) {
    t.crash(victim);
    t.note(`crash ${victim}`);
  } else if (kind === 3 && t.crashed.has(victim)) {
    t.restart(victim, false);
    t.note(`restart ${victim} without state`);
  } else if (kind === 4 && !t.crashed.has(victim) && !sim.isPaused(victim)) {
    const ms = 1_000 + rng.int(14_000);
    sim.pause(victim, ms);
    t.note(`pause ${victim} ${ms} ms`);
  } else if (kind === 5) {
    const all = [...t.ids, ...t.clones];
    const from = all[rng.int(all.length)] as string;
    const to = all[rng.int(all.length)] as string;
    sim.blockOneWay(from, to);
    t.note(`block ${from}->${to}`);
  } else if (kind === 6) {
    t.serviceChange(t.ids[rng.int(t.ids.length)] as string);
  }
}

/** One or two forged datagrams from an outside address, about a running member or its catalog entries. */
function forgedStep(t: Trial): void {
  const { sim, rng } = t;
  const up = t.ids.filter((id) => sim.isUp(id));
  const receiver = up[rng.int(up.length)] as string;
  const kind = FORGERY_KINDS[rng.int(FORGERY_KINDS.length)] ?? 'suspect';
  const subjectId = kind === 'own-echo' ? receiver : (up[rng.int(up.length)] as string);
  const subject = sim.memberName(subjectId);
  const own = sim.node(subjectId).ownServices();
  const existing = own[rng.int(Math.max(1, own.length))];
  const serviceId = existing !== undefined && rng.int(2) === 0 ? existing.id : `forged${rng.int(2)}`;
  const f = forge(kind, forgedCounter(rng), {
    subject, subjectAddress: sim.address(subjectId), accuser: sim.memberName(up[rng.int(up.length)] as string), serviceId,
  });
  if (f.serviceId !== undefined) t.noteServiceId(subject, f.serviceId);
  t.forgedSubjects.add(subject);
  const receivers = rng.int(3) === 0 && kind !== 'own-echo' ? [receiver, up[rng.int(up.length)] as string] : [receiver];
  for (const r of receivers) sim.injectDatagram(r, FORGER, f.bytes);
  t.note(`forged ${f.text} to ${receivers.join(',')}`);
}

/**
 * A running node restarts, usually having lost its state (a new disk): its incarnation and catalog
 * revision start over, and whoever deploys to it registers some instances again, perhaps changed.
 * Otherwise it comes back with what the daemon persists and registers exactly what it had.
 */
function rebootStep(t: Trial): void {
  const { sim, rng } = t;
  const candidates = t.ids.filter((id) => !t.protectedIds.has(id) && sim.isUp(id));
  if (candidates.length === 0) return;
  const withServices = candidates.filter((id) => sim.node(id).ownServices().length > 0);
  const pool = withServices.length > 0 && rng.int(4) !== 0 ? withServices : candidates;
  const id = pool[rng.int(pool.length)] as string;
  const keep = rng.int(3) === 0;
  const downMs = rng.int(3) === 0 ? 0 : 500 + rng.int(15_000);
  if (downMs > 0) {
    t.crash(id);
    sim.runFor(downMs);
  }
  const had = t.restart(id, keep);
  const again: string[] = [];
  for (const m of had) {
    if (!keep && rng.int(3) === 0) continue;
    const port = keep || rng.int(2) === 0 ? m.port : m.port + 1_000;
    t.register(id, m.id, port, specExtras(m));
    again.push(`${m.id}:${port}`);
  }
  t.note(`reboot ${id} ${keep ? 'keeping' : 'losing'} state, ${downMs} ms down, registers [${again.join(',')}]`);
}

function specExtras(m: ServiceMsg): { tags: string[]; meta: Record<string, string>; version: string; weight: number; health: ServiceMsg['health']; draining: boolean } {
  return { tags: [...m.tags], meta: Object.fromEntries(m.meta), version: m.version, weight: m.weight, health: m.health, draining: m.draining };
}

/**
 * A clone of a running node's machine starts on another host: same member name, the original's
 * registrations (one of them changed) and one of its own.
 */
function cloneStep(t: Trial): void {
  const { sim, rng } = t;
  const original = t.ids.find((id) => t.protectedIds.has(id) && id !== t.ids[0] && id !== t.ids[1]);
  if (original === undefined || t.clones.length > 0) return;
  const clone = sim.addNode(`c${t.clones.length}`, { memberName: sim.memberName(original) });
  t.clones.push(clone);
  sim.join(clone, [t.seedNode()]);
  const settleMs = 500 + rng.int(2_000);
  t.note(`clone ${clone} of ${original} on ${sim.address(clone).host} joins`);
  sim.runFor(settleMs);
  const copied = sim.node(original).ownServices()[0];
  if (copied !== undefined) t.register(clone, copied.id, 9_999, specExtras(copied));
  t.register(clone, 'clone-only', 9_998);
}

/** Faults stop; the cluster must settle, then stay settled, and hold no counter its owner never issued. */
function settle(t: Trial, budgetMs: number): Violation[] {
  const { sim } = t;
  t.stopFaults();
  t.note('faults stop');
  const at = sim.runUntilCondition(() => hasSettled(t), budgetMs, 100);
  t.noteIssued();
  const out: Violation[] = [];
  if (at === null) {
    out.push(...convergenceViolations(t));
  } else {
    sim.runFor(GRACE_MS);
    const before = new Map(t.observers().map((id) => [id, sim.node(id).self().incarnation]));
    sim.runFor(QUIET_MS);
    t.noteIssued();
    const settledAt = `settled at ${(at / 1000).toFixed(1)}s`;
    const window = `${(GRACE_MS + QUIET_MS) / 1000} s later`;
    for (const v of convergenceViolations(t)) out.push({ check: 'stability', text: `${settledAt}, ${window}: [${v.check}] ${v.text}` });
    for (const [id, inc] of before) {
      if (!sim.isUp(id)) continue;
      const now = sim.node(id).self().incarnation;
      if (now !== inc) out.push({ check: 'stability', text: `${settledAt}, ${id} raised its incarnation ${inc} -> ${now} in the quiet ${QUIET_MS / 1000} s ending ${window}` });
    }
  }
  out.push(...issuedViolations(t), ...nameConflictViolations(t));
  return out;
}

/**
 * A partition longer than the reap time (up to 2 h): each side forgets the other. An owner of
 * service instances crashes during it, often shortly before the heal, so that one side still holds
 * its entries when the other has long forgotten it. After the heal the cluster must merge again,
 * and once the owner has been gone longer than the reap time nobody may hold anything of it.
 */
function runLongPartition(t: Trial): Violation[] {
  const { sim, rng, ids } = t;
  form(t, false);
  const all = rng.shuffle([...ids]);
  const cut = 1 + rng.int(all.length - 1);
  const durationMs = REAP_MS + 5 * 60_000 + rng.int(LONG_PARTITION_MAX_MS - REAP_MS - 5 * 60_000);
  sim.partition([all.slice(0, cut), all.slice(cut)]);
  t.note(`partition ${all.slice(0, cut).join(',')} | ${all.slice(cut).join(',')} for ${Math.round(durationMs / 60_000)} min`);
  const start = sim.now;
  const crashAt = rng.int(2) === 0 ? rng.int(durationMs) : durationMs - 1 - rng.int(25 * 60_000);
  const changeAt = rng.int(durationMs);
  const owners = ids.filter((id) => !t.protectedIds.has(id) && sim.node(id).ownServices().length > 0);
  const pool = owners.length > 0 ? owners : ids.filter((id) => !t.protectedIds.has(id));
  const victim = pool[rng.int(pool.length)] as string;
  const changer = ids[rng.int(ids.length)] as string;
  const events = [{ at: crashAt, run: (): void => { t.crash(victim); t.note(`crash ${victim}`); } },
    { at: changeAt, run: (): void => { if (sim.isUp(changer)) t.serviceChange(changer); } }].sort((a, b) => a.at - b.at);
  for (const e of events) {
    sim.runUntil(start + e.at);
    e.run();
    t.noteIssued();
  }
  sim.runUntil(start + durationMs);
  const out = settle(t, LONG_SETTLE_MS);
  const goneMs = REAP_MS + REAP_SLACK_MS;
  const crashedAt = t.crashedAt.get(victim);
  if (crashedAt !== undefined) {
    // A node that starts afresh while the owner is dead but not yet reaped everywhere learns its
    // entries from a peer's state, without ever having known the owner as a member.
    const latest = crashedAt + REAP_MS - 60_000;
    const fresh = ids.filter((id) => id !== victim && !t.protectedIds.has(id) && sim.isUp(id));
    if (sim.now < latest && fresh.length > 0) {
      sim.runUntil(sim.now + rng.int(latest - sim.now));
      const id = fresh[rng.int(fresh.length)] as string;
      t.restart(id, false);
      t.note(`restart ${id} without state`);
    }
    if (sim.now < crashedAt + goneMs) sim.runUntil(crashedAt + goneMs);
  }
  t.noteIssued();
  t.note(`checked reaping at ${Math.round(sim.now / 60_000)} min`);
  out.push(...reapViolations(t, goneMs));
  return out;
}
