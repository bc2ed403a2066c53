import { LIMITS } from './limits.js';
import type { MemberRecord } from './member-table.js';
import type { MemberState } from './messages.js';

/**
 * Members as a push-pull state carries them, at most pushPullMembersMax. Dead and left members carry
 * their age, so that a peer that imports one reaps it when everyone else does; those already due to
 * be reaped are left out, so that no peer takes them up again.
 */
export function memberStates(records: Iterable<MemberRecord>, self: MemberRecord, now: number, reapAfterMs: number): MemberState[] {
  const out: MemberState[] = [];
  for (const r of records) {
    if (out.length >= LIMITS.pushPullMembersMax) break;
    const m: MemberState = { name: r.name, host: r.host, port: r.port, incarnation: r.incarnation, status: r.status };
    if (r.status === 'dead' || r.status === 'left') {
      const age = Math.floor(now - r.changedAt);
      if (age >= reapAfterMs && r !== self) continue;
      out.push({ ...m, ageMs: Math.min(LIMITS.memberAgeMsMax, Math.max(0, age)) });
    } else {
      out.push(m);
    }
  }
  return out;
}
