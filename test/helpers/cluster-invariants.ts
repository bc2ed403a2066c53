/**
 * What must hold once the faults of a randomised schedule have stopped. Each check returns its
 * violations as text; the convergence checks double as the "has it settled yet" condition.
 */
import type { ServiceView } from '../../protocol/effects.js';
import { isLater } from './serial-order.js';
import type { Trial, Violation } from './sim-trial.js';

/**
 * Membership and catalog agreement among the observers: every one of them sees every other as alive
 * at its real address, sees no crashed node as alive or suspect, and holds exactly what each live
 * owner holds of its own entries (no tombstone of an entry the owner still has).
 */
export function convergenceViolations(t: Trial): Violation[] {
  return convergence(t, Infinity);
}

/** Whether the observers have settled (convergenceViolations is empty), stopping at the first violation. */
export function hasSettled(t: Trial): boolean {
  return convergence(t, 1).length === 0;
}

function convergence(t: Trial, enough: number): Violation[] {
  const sim = t.sim;
  const out: Violation[] = [];
  const observers = t.observers();
  const liveNames = new Set(t.running().map((id) => sim.memberName(id)));
  for (const o of observers) {
    if (out.length >= enough) break;
    const view = sim.node(o).members();
    for (const target of observers) {
      const name = sim.memberName(target);
      const m = view.find((x) => x.name === name);
      if (m === undefined) out.push({ check: 'convergence', text: `${o} does not know ${name}` });
      else if (m.status !== 'alive') out.push({ check: 'convergence', text: `${o} sees live ${name} as ${m.status}` });
      else {
        const a = sim.address(target);
        if (m.host !== a.host || m.port !== a.port) {
          out.push({ check: 'member-address', text: `${o} sees ${name} at ${m.host}:${m.port}, it is at ${a.host}:${a.port}` });
        }
      }
    }
    for (const c of t.crashed) {
      const name = sim.memberName(c);
      if (liveNames.has(name)) continue;
      const m = view.find((x) => x.name === name);
      if (m !== undefined && (m.status === 'alive' || m.status === 'suspect')) {
        out.push({ check: 'convergence', text: `${o} sees crashed ${name} as ${m.status}` });
      }
    }
  }
  for (const owner of observers) {
    if (out.length >= enough) break;
    out.push(...catalogAgreement(t, owner, observers));
  }
  return out;
}

function catalogAgreement(t: Trial, ownerId: string, observers: readonly string[]): Violation[] {
  const sim = t.sim;
  const owner = sim.memberName(ownerId);
  const own = new Map(sim.node(ownerId).services().filter((s) => s.node === owner).map((s) => [s.id, s]));
  const out: Violation[] = [];
  for (const p of observers) {
    if (p === ownerId) continue;
    const node = sim.node(p);
    // Views of an owner not seen alive differ by design (critical or hidden); convergence reports that.
    if (node.member(owner)?.status !== 'alive') continue;
    const held = new Map(node.services().filter((s) => s.node === owner).map((s) => [s.id, s]));
    for (const [id, mine] of own) {
      const theirs = held.get(id);
      if (theirs === undefined) {
        const rev = node.serviceRevision(owner, id);
        if (rev > 0) out.push({ check: 'catalog-tombstone', text: `${p} holds a tombstone of ${owner}/${id} at rev ${rev}; ${owner} has it at ${describeEntry(mine)}` });
        else out.push({ check: 'catalog-agreement', text: `${p} lacks ${owner}/${id} (${describeEntry(mine)})` });
      } else if (!sameEntry(mine, theirs)) {
        out.push({ check: 'catalog-agreement', text: `${p} holds ${owner}/${id} at ${describeEntry(theirs)}; ${owner} has ${describeEntry(mine)}` });
      }
    }
    for (const [id, theirs] of held) {
      if (!own.has(id)) out.push({ check: 'catalog-agreement', text: `${p} holds ${owner}/${id} at ${describeEntry(theirs)}, which ${owner} does not have` });
    }
  }
  return out;
}

function sameEntry(a: ServiceView, b: ServiceView): boolean {
  return a.rev === b.rev && a.name === b.name && a.address === b.address && a.port === b.port &&
    a.version === b.version && a.weight === b.weight && a.health === b.health && a.draining === b.draining &&
    JSON.stringify(a.tags) === JSON.stringify(b.tags) && JSON.stringify({ ...a.meta }) === JSON.stringify({ ...b.meta });
}

function describeEntry(v: ServiceView): string {
  return `rev ${v.rev} ${v.address}:${v.port} ${v.health}${v.draining ? ' draining' : ''}${v.tags.length > 0 ? ` [${v.tags.join(',')}]` : ''}`;
}

/**
 * Nobody holds an incarnation or a catalog version later than the one its owner issued. A forged
 * value about an owner that is not running is exempt: no member can tell it from a real one, and
 * only its owner could outbid it.
 */
export function issuedViolations(t: Trial): Violation[] {
  const sim = t.sim;
  const out: Violation[] = [];
  const running = new Set(t.running().map((id) => sim.memberName(id)));
  const exempt = (name: string): boolean => t.forgedSubjects.has(name) && !running.has(name);
  for (const o of t.observers()) {
    const node = sim.node(o);
    for (const m of node.members()) {
      if (exempt(m.name)) continue;
      const issued = t.issuedIncarnation(m.name);
      if (isLater(m.incarnation, issued)) out.push({ check: 'incarnation-issued', text: `${o} holds ${m.name} at incarnation ${hex(m.incarnation)}, its owner issued at most ${hex(issued)}` });
    }
    for (const [owner, ids] of t.serviceIds) {
      if (exempt(owner)) continue;
      const issued = t.issuedRevision(owner);
      for (const id of ids) {
        const rev = node.serviceRevision(owner, id);
        if (isLater(rev, issued)) out.push({ check: 'version-issued', text: `${o} holds ${owner}/${id} at rev ${hex(rev)}, its owner issued at most ${hex(issued)}` });
      }
    }
  }
  return out;
}

/**
 * Owners gone (crashed, name not in use by a running node) for longer than `goneMs` are forgotten:
 * no observer lists them or holds any entry or tombstone of theirs.
 */
export function reapViolations(t: Trial, goneMs: number): Violation[] {
  const sim = t.sim;
  const out: Violation[] = [];
  const liveNames = new Set(t.running().map((id) => sim.memberName(id)));
  for (const c of t.crashed) {
    const name = sim.memberName(c);
    const since = t.crashedAt.get(c) ?? sim.now;
    if (liveNames.has(name) || sim.now - since < goneMs) continue;
    const gone = `${name}, gone for ${Math.round((sim.now - since) / 60_000)} min`;
    for (const o of t.observers()) {
      const node = sim.node(o);
      const m = node.member(name);
      if (m !== undefined) out.push({ check: 'member-reaped', text: `${o} still lists ${gone}, as ${m.status}` });
      for (const id of t.serviceIds.get(name) ?? []) {
        const rev = node.serviceRevision(name, id);
        if (rev > 0) out.push({ check: 'catalog-reaped', text: `${o} still holds ${name}/${id} at rev ${rev} (owner ${gone})` });
      }
    }
  }
  return out;
}

/** A node started under a running node's name must report the conflict; the original must not. */
export function nameConflictViolations(t: Trial): Violation[] {
  const sim = t.sim;
  const out: Violation[] = [];
  for (const c of t.clones) {
    const name = sim.memberName(c);
    if (!t.conflictReported.has(c)) out.push({ check: 'name-conflict', text: `${c} (started as ${name}, which ${originalOf(t, name)} holds) never reported a name conflict` });
  }
  for (const id of t.ids) {
    if (t.conflictReported.has(id)) out.push({ check: 'name-conflict', text: `the original ${id} reported a name conflict` });
  }
  return out;
}

function originalOf(t: Trial, name: string): string {
  return t.ids.find((id) => t.sim.memberName(id) === name) ?? '?';
}

export function hex(v: number): string {
  return v >= 0xffff_0000 ? '0x' + v.toString(16) : String(v);
}
