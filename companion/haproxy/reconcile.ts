/**
 * Pure reconciliation of one backend: from the instances HAProxy should hold (desired.ts), the
 * slots as HAProxy has them (or as the companion last left them), and which instance held which
 * slot, to the Runtime API commands that make HAProxy match, and the slots as they will be after.
 *
 * Slot rules:
 * - An instance keeps its slot while it lives, whatever its state (a critical instance's slot waits
 *   in maint): moving it would change the server a persistence cookie names.
 * - With no slot remembered (start, after a reload) an instance takes back a slot that already
 *   points at its address and port, so a companion restart does not reshuffle a running HAProxy.
 * - New instances take free slots in the order HAProxy lists them, ready ones before draining ones.
 * - When slots run out, a ready or draining instance may take the slot of an instance in maint, never that of a
 *   ready or draining one (that would cut its sessions). Those still without a slot are returned
 *   as `unplaced`, for the log, the metric and the status: never dropped in silence.
 * - An instance registered with a host name rather than an IP address cannot be set with `set
 *   server ... addr` (HAProxy resolves names only through a `resolvers` section): it takes no slot
 *   and is returned as `unaddressable`, for the same reasons.
 */
import { isIP } from 'node:net';
import type { DesiredServer } from './desired.js';
import type { AdminState, Slot } from './slots.js';

/** Instance key → slot name, for one backend. */
export type Assignment = ReadonlyMap<string, string>;

export interface BackendPlan {
  readonly backend: string;
  readonly commands: readonly string[];
  readonly assignment: Map<string, string>;
  /** The slots once every command has succeeded. */
  readonly slots: readonly Slot[];
  /** Instances that should be in HAProxy (ready or draining) and have no slot. */
  readonly unplaced: readonly DesiredServer[];
  /** Instances that should be in HAProxy and have a host name for an address. */
  readonly unaddressable: readonly DesiredServer[];
}

const RANK: Readonly<Record<AdminState, number>> = { ready: 0, drain: 1, maint: 2 };

export function planBackend(backend: string, all: readonly DesiredServer[], slots: readonly Slot[], previous: Assignment): BackendPlan {
  const desired = all.filter((d) => isIP(d.address) !== 0);
  const unaddressable = all.filter((d) => isIP(d.address) === 0 && d.state !== 'maint');
  const slotByName = new Map(slots.map((s) => [s.name, s]));
  const assignment = new Map<string, string>();
  const taken = new Set<string>();
  const want = new Map(desired.map((d) => [d.key, d]));

  // 1. Remembered assignments of instances that still exist.
  for (const [key, slot] of previous) {
    if (want.has(key) && slotByName.has(slot) && !taken.has(slot)) {
      assignment.set(key, slot);
      taken.add(slot);
    }
  }
  // 2. Slots already pointing at an instance (a companion restart next to a running HAProxy).
  const adopt = (d: DesiredServer): void => {
    const at = (s: Slot): boolean => !taken.has(s.name) && s.address === d.address && s.port === d.port;
    const match = slots.find((s) => at(s) && s.admin !== 'maint') ?? slots.find(at);
    if (match === undefined) return;
    assignment.set(d.key, match.name);
    taken.add(match.name);
  };
  for (const d of desired) if (!assignment.has(d.key)) adopt(d);
  // 3. Free slots for the ready, then the draining instances (in key order: deterministic).
  const needing = desired.filter((d) => !assignment.has(d.key) && d.state !== 'maint').sort((a, b) => RANK[a.state] - RANK[b.state]);
  const unplaced: DesiredServer[] = [];
  for (const d of needing) {
    let free = slots.find((s) => !taken.has(s.name));
    // 4. Out of slots: an instance that takes traffic displaces one waiting in maint.
    if (free === undefined) {
      const victim = [...assignment].find(([k]) => want.get(k)?.state === 'maint');
      if (victim !== undefined) {
        assignment.delete(victim[0]);
        free = slotByName.get(victim[1]);
      }
    }
    if (free === undefined) {
      unplaced.push(d);
      continue;
    }
    assignment.set(d.key, free.name);
    taken.add(free.name);
  }

  // Commands, slot by slot in HAProxy's order.
  const holder = new Map([...assignment].map(([k, s]) => [s, k]));
  const commands: string[] = [];
  const after: Slot[] = [];
  for (const s of slots) {
    const ref = `${backend}/${s.name}`;
    const key = holder.get(s.name);
    const d = key === undefined ? undefined : want.get(key);
    if (d === undefined) {
      if (s.admin !== 'maint') commands.push(`set server ${ref} state maint`);
      after.push({ ...s, admin: 'maint' });
      continue;
    }
    let next: Slot = s;
    const moved = s.address !== d.address || s.port !== d.port;
    if (moved) {
      // A slot handed to another instance stops taking traffic before its address changes.
      if (s.admin !== 'maint') commands.push(`set server ${ref} state maint`);
      commands.push(`set server ${ref} addr ${d.address} port ${d.port}`);
      next = { ...next, address: d.address, port: d.port, admin: 'maint' };
    }
    if (d.state === 'ready' && next.weight !== d.weight) {
      commands.push(`set server ${ref} weight ${d.weight}`);
      next = { ...next, weight: d.weight };
    }
    if (next.admin !== d.state) {
      commands.push(`set server ${ref} state ${d.state}`);
      next = { ...next, admin: d.state };
    }
    after.push(next);
  }
  return { backend, commands, assignment, slots: after, unplaced, unaddressable };
}
