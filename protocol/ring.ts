/**
 * The relay ring: every member sits at a 32-bit position derived from its name alone, so every node
 * that knows the same members sees the same ring. A fresh catalog update spreads as a tree over it:
 * its origin splits the ring into arcs and hands each arc to one member inside it (a relay), which
 * splits its arc the same way, until an arc holds few enough members to send to each directly.
 * Every member lies in exactly one arc at each level, so it is sent the update once.
 *
 * Arcs are half-open and run clockwise: (lo, hi] holds the positions p with lo < p <= hi, wrapping
 * past 2^32 - 1. An arc with lo === hi is empty; an origin's arc is the whole ring but the origin's
 * own position (arcAround).
 */
import { LIMITS } from './limits.js';

/** An arc of the ring: the positions p with lo < p <= hi, clockwise. */
export interface RelayArc {
  readonly lo: number;
  readonly hi: number;
}

/** The arc an update's origin at `pos` splits: the whole ring but its own position. */
export function arcAround(pos: number): RelayArc {
  return { lo: pos, hi: (pos - 1) >>> 0 };
}

/** A member's position: 32-bit FNV-1a over the UTF-16 code units of its name. */
export function ringPosition(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function inArc(pos: number, arc: RelayArc): boolean {
  const { lo, hi } = arc;
  if (lo === hi) return false;
  return lo < hi ? pos > lo && pos <= hi : pos > lo || pos <= hi;
}

/** A key that tells arcs apart (updates forwarded within one arc share a batch). */
export function arcKey(arc: RelayArc): string {
  return `${arc.lo}:${arc.hi}`;
}

/** One step of the tree: the member an arc goes to, and the arc it is to relay (null: a leaf). */
export interface RelayStep<M> {
  readonly to: M;
  readonly arc: RelayArc | null;
}

/**
 * How many parts an arc of `count` members is split into: all of them directly when they are few
 * (at most LIMITS.relayFanoutMax), else about the square root, so that two more levels reach the
 * rest; never more than LIMITS.relayFanoutMax.
 */
export function relayFanout(count: number): number {
  if (count <= LIMITS.relayFanoutMax) return count;
  return Math.min(LIMITS.relayFanoutMax, Math.ceil(Math.sqrt(count)));
}

/**
 * Splits the members of `arc` (in ring order from the arc's start, self excluded) into contiguous
 * chunks and picks one member of each with `choose`. A chunk of one member is a leaf; a larger
 * chunk's member gets the chunk's arc to relay. The chunks' arcs together span `arc` but for the
 * splitter's own position `self`: no descendant sends the update back to it. The first chunk starts
 * where the arc starts and the last ends where it ends, so a member that joined meanwhile still
 * falls into some chunk.
 */
export function splitArc<M>(arc: RelayArc, members: readonly M[], pos: (m: M) => number, choose: (chunk: readonly M[]) => M, self: number): RelayStep<M>[] {
  const c = members.length;
  if (c === 0) return [];
  const k = relayFanout(c);
  if (!inArc(self, arc)) return chunks(arc, members, k, pos, choose);
  // Members before the splitter's own position go over (lo, self - 1], those after over (self, hi].
  const offset = (p: number): number => (p - arc.lo) >>> 0;
  const selfOffset = offset(self);
  let before = 0;
  while (before < c && offset(pos(members[before] as M)) < selfOffset) before++;
  const k1 = before === 0 ? 0 : Math.min(before, Math.max(1, Math.round((k * before) / c)));
  const k2 = before === c ? 0 : Math.min(c - before, Math.max(1, k - k1));
  return [
    ...chunks({ lo: arc.lo, hi: (self - 1) >>> 0 }, members.slice(0, before), k1, pos, choose),
    ...chunks({ lo: self, hi: arc.hi }, members.slice(before), k2, pos, choose),
  ];
}

/** `members` (all on `arc`, in ring order) in k contiguous chunks whose arcs together span `arc`. */
function chunks<M>(arc: RelayArc, members: readonly M[], k: number, pos: (m: M) => number, choose: (chunk: readonly M[]) => M): RelayStep<M>[] {
  const c = members.length;
  const steps: RelayStep<M>[] = [];
  let start = 0;
  for (let j = 0; j < k; j++) {
    const end = Math.floor(((j + 1) * c) / k);
    const chunk = members.slice(start, end);
    if (chunk.length === 1) steps.push({ to: chunk[0] as M, arc: null });
    else if (chunk.length > 1) {
      const lo = start === 0 ? arc.lo : pos(members[start - 1] as M);
      const hi = end === c ? arc.hi : pos(chunk[chunk.length - 1] as M);
      steps.push({ to: choose(chunk), arc: { lo, hi } });
    }
    start = end;
  }
  return steps;
}
