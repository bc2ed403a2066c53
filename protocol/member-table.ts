import type { MemberView } from './effects.js';
import { MemberColumns, MemberRecordView, REMOVED } from './member-columns.js';
import { MapSlotIndex, type MemberNames, type SlotIndex } from './member-index.js';
import { type MemberState, type MemberStatus, StatusCode } from './messages.js';
import type { Rng } from './rng.js';
import { inArc, type RelayArc, ringPosition } from './ring.js';

export interface MemberRecord {
  readonly name: string;
  host: string;
  port: number;
  incarnation: number;
  status: MemberStatus;
  /** Time of the last change of status or incarnation; dead and left members are reaped relative to it. */
  changedAt: number;
}

export function viewOf(r: MemberRecord): MemberView {
  return { name: r.name, host: r.host, port: r.port, incarnation: r.incarnation, status: r.status };
}

export function isLive(status: MemberStatus): boolean {
  return status === 'alive' || status === 'suspect';
}

/** Random choice among members, and the cluster size every timeout and fanout scales with. */
export interface MemberSampler {
  /** Alive and suspect members, self included. */
  readonly liveCount: number;
  get(name: string): MemberRecord | undefined;
  /** Up to k distinct members other than self and `exclude`, chosen uniformly, that pass `accept`. */
  sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[];
  /**
   * Members other than self on `arc` of the relay ring (ring.ts) that pass `accept`, clockwise
   * from the arc's start.
   */
  inArc(arc: RelayArc, accept: (r: MemberRecord) => boolean): MemberRecord[];
  /** This node's own position on the relay ring. */
  selfPosition(): number;
}

/** Sorted ring positions of a set of names, rebuilt when the set changes. */
interface RingIndex {
  readonly pos: Uint32Array;
  readonly names: readonly string[];
}

/** The index of the first position above `lo` (pos.length when none). */
export function firstAfter(pos: ArrayLike<number>, lo: number): number {
  let a = 0;
  let b = pos.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if ((pos[m] as number) <= lo) a = m + 1;
    else b = m;
  }
  return a;
}

/**
 * Indices into sorted `pos` of the positions on `arc`, clockwise from its start: calls `visit` for
 * each, wrapping past the top of the ring.
 */
export function forEachInArc(pos: ArrayLike<number>, arc: RelayArc, visit: (i: number) => void): void {
  const n = pos.length;
  if (arc.lo === arc.hi || n === 0) return;
  const start = firstAfter(pos, arc.lo);
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    if (!inArc(pos[i] as number, arc)) return;
    visit(i);
  }
}

/**
 * All known members (self included), with a live count kept incrementally so that the cluster size
 * used by every timeout and fanout is O(1), and the probe order: a shuffled round robin over the
 * other live members, reshuffled each round, with newcomers dropped in at a random later position.
 *
 * Records live in columns (member-columns.ts), one row per slot in insertion order; get(), values()
 * and sample() hand out views of rows. Callers use a record and drop it: a view held across a prune
 * reads and writes the columns it was made on, as a removed record object did. Self's view is one
 * object throughout, so `r === selfRecord` holds as before.
 */
export class MemberTable implements MemberSampler {
  /**
   * Rows in insertion order, kept for O(1) random sampling. A removed record keeps its slot, marked
   * REMOVED, until the next prune (it stands for its name: for nobody, or for the record that
   * re-added the name), so that the slots are drawn from exactly as before.
   */
  private cols = new MemberColumns(16);
  /** Name → slot of its current record. */
  private index: SlotIndex;
  private live = 0;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  /** The view of self's row, handed out for self every time. */
  private selfView: MemberRecordView | null = null;
  /** The relay ring over every record; null when a record came or went since it was built. */
  private ring: RingIndex | null = null;

  constructor(
    private readonly selfName: string,
    private readonly rng: Rng,
    /**
     * Maps a name or host to one shared copy of it. A simulator with thousands of nodes, each
     * holding a record of every member, shares one copy of each string between all of them.
     */
    readonly intern: (s: string) => string = (s) => s,
    /** A registry of names shared with other tables (a simulator's nodes); default: a Map of its own. */
    names?: MemberNames,
  ) {
    this.index = names === undefined ? new MapSlotIndex() : names.index();
  }

  get size(): number {
    return this.index.size;
  }

  /** Alive and suspect members, self included. */
  get liveCount(): number {
    return this.live;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  get(name: string): MemberRecord | undefined {
    const slot = this.index.get(name);
    return slot === undefined ? undefined : this.view(slot);
  }

  *values(): IterableIterator<MemberRecord> {
    // Rows appended while iterating are visited, as a Map's iterator visits entries set meanwhile.
    for (let slot = 0; slot < this.cols.length; slot++) {
      if (!this.cols.isRemoved(slot)) yield this.view(slot);
    }
  }

  /**
   * Adds every member of `members` not known yet (self excepted) as alive, up to `max` members in
   * all, as add() would one by one (the same rows, probe order and draws) but
   * without a record object per member: a simulator starting converged adds n² of them.
   */
  preloadAlive(members: readonly MemberState[], now: number, max: number): void {
    this.reserve(Math.min(max, this.index.size + members.length));
    // One record reused for every row: push() copies its fields.
    const row: { name: string; host: string; port: number; incarnation: number; status: MemberStatus; changedAt: number } =
      { name: '', host: '', port: 0, incarnation: 0, status: 'alive', changedAt: now };
    for (const m of members) {
      if (m.name === this.selfName || this.index.size >= max || this.index.has(m.name)) continue;
      const name = this.intern(m.name);
      row.name = name;
      row.host = this.intern(m.host);
      row.port = m.port;
      row.incarnation = m.incarnation;
      const slot = this.cols.push(row);
      this.index.set(name, slot);
      this.live++;
      this.enterProbeOrder(name);
    }
    this.ring = null;
    this.checkLiveCount();
  }

  /** Makes room for `n` rows in all, so that adding that many members allocates once. */
  reserve(n: number): void {
    this.cols.reserve(n);
  }

  /** Stores a copy of `r`; returns the stored record, which later changes go through. */
  add(r: MemberRecord): MemberRecord {
    if (this.index.has(r.name)) throw new Error(`member ${r.name} already present`);
    const slot = this.cols.push(r);
    this.index.set(r.name, slot);
    this.ring = null;
    if (isLive(r.status)) this.live++;
    this.checkLiveCount();
    if (r.name === this.selfName) this.selfView = new MemberRecordView(this.cols, slot);
    if (r.name !== this.selfName && isLive(r.status)) this.enterProbeOrder(r.name);
    return this.view(slot);
  }

  /** A newcomer goes to a random position in the rest of this round, so it is probed within one round. */
  private enterProbeOrder(name: string): void {
    this.probeOrder.push(name);
    const last = this.probeOrder.length - 1;
    const j = this.probeIndex + this.rng.int(last - this.probeIndex + 1);
    const tmp = this.probeOrder[j] as string;
    this.probeOrder[j] = name;
    this.probeOrder[last] = tmp;
  }

  /**
   * Applies a status at an incarnation. The clock restarts on any new declaration, not only on a
   * new status: a member re-declared dead at a higher incarnation was alive at that incarnation
   * after the old death, so it has been dead only since now.
   */
  setStatus(r: MemberRecord, status: MemberStatus, incarnation: number, now: number): void {
    const wasLive = isLive(r.status);
    const nowLive = isLive(status);
    if (wasLive && !nowLive) this.live--;
    if (!wasLive && nowLive) this.live++;
    this.checkLiveCount();
    if (r.status !== status || r.incarnation !== incarnation) r.changedAt = now;
    r.status = status;
    r.incarnation = incarnation;
  }

  remove(name: string): void {
    const slot = this.index.get(name);
    if (slot === undefined) return;
    const cols = this.cols;
    if (isLive(cols.status(slot))) this.live--;
    this.index.delete(name);
    cols.statuses[slot] = (cols.statuses[slot] as number) | REMOVED;
    if (name === this.selfName) this.selfView = null;
    this.ring = null;
    this.checkLiveCount();
    if (cols.length > 2 * this.index.size + 16) this.prune();
  }

  /**
   * Moves the rows to new columns without the removed ones nobody came back for. Slots of names
   * that are back stay (each stands for the new record), as before a prune.
   */
  private prune(): void {
    const old = this.cols;
    const cols = new MemberColumns(this.index.size + 16);
    const index = this.index.empty();
    for (let slot = 0; slot < old.length; slot++) {
      if (this.current(slot) === undefined) continue;
      const to = cols.copyRow(old, slot);
      if (!old.isRemoved(slot)) index.set(old.names[slot] as string, to);
    }
    this.cols = cols;
    this.index = index;
    if (this.selfView !== null) {
      // Self's view is one object for good: it moves with the table.
      this.selfView.cols = cols;
      this.selfView.slot = index.get(this.selfName) as number;
    }
  }

  /** The slot of the record a slot stands for now: its own, the one that re-added its name, or none. */
  private current(slot: number): number | undefined {
    return this.cols.isRemoved(slot) ? this.index.get(this.cols.names[slot] as string) : slot;
  }

  private view(slot: number): MemberRecord {
    const self = this.selfView;
    if (self !== null && self.slot === slot && self.cols === this.cols) return self;
    return new MemberRecordView(this.cols, slot);
  }

  /** The live count is kept by hand on every change; a slip would skew every timeout and fanout. */
  private checkLiveCount(): void {
    if (this.live < 0 || this.live > this.index.size) {
      throw new Error(`member table: live count ${this.live} outside [0, ${this.index.size}]`);
    }
  }

  /** Next member to probe, or null when there is nobody else alive or suspect. */
  nextProbeTarget(): MemberRecord | null {
    for (let rounds = 0; rounds < 2; ) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.probeOrder = [];
        const cols = this.cols;
        for (let slot = 0; slot < cols.length; slot++) {
          if (cols.isRemoved(slot)) continue;
          const name = cols.names[slot] as string;
          if (name !== this.selfName && isLive(cols.status(slot))) this.probeOrder.push(name);
        }
        this.rng.shuffle(this.probeOrder);
        this.probeIndex = 0;
        rounds++;
        if (this.probeOrder.length === 0) return null;
      }
      const name = this.probeOrder[this.probeIndex++] as string;
      const slot = this.index.get(name);
      if (slot !== undefined && isLive(this.cols.status(slot))) return this.view(slot);
    }
    return null;
  }

  selfPosition(): number {
    return ringPosition(this.selfName);
  }

  inArc(arc: RelayArc, accept: (r: MemberRecord) => boolean): MemberRecord[] {
    const ring = this.ringIndex();
    const out: MemberRecord[] = [];
    forEachInArc(ring.pos, arc, (i) => {
      const name = ring.names[i] as string;
      if (name === this.selfName) return;
      const r = this.get(name);
      if (r !== undefined && accept(r)) out.push(r);
    });
    return out;
  }

  private ringIndex(): RingIndex {
    if (this.ring !== null) return this.ring;
    const entries: { p: number; name: string }[] = [];
    const cols = this.cols;
    for (let slot = 0; slot < cols.length; slot++) {
      if (cols.isRemoved(slot)) continue;
      const name = cols.names[slot] as string;
      entries.push({ p: ringPosition(name), name });
    }
    // Ties broken by name, so that every node orders the same members the same way.
    entries.sort((a, b) => a.p - b.p || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.ring = { pos: Uint32Array.from(entries, (e) => e.p), names: entries.map((e) => e.name) };
    return this.ring;
  }

  /**
   * Up to k distinct members other than self and `exclude` with `status`, chosen uniformly: one
   * pass over the status bytes finds them (a quiet cluster has no dead member, and then draws
   * nothing), then k draws among those found. sample() would draw over every slot until it met
   * one: about n/2 draws to find the one dead member of n.
   */
  sampleByStatus(k: number, status: MemberStatus, exclude?: string): MemberRecord[] {
    const cols = this.cols;
    const code = StatusCode[status];
    const statuses = cols.statuses;
    const found: number[] = [];
    for (let slot = 0; slot < cols.length; slot++) {
      // A removed row has REMOVED or'ed into its byte, so it never equals a bare code: each member
      // is found once, at its current row.
      if (statuses[slot] !== code) continue;
      const name = cols.names[slot] as string;
      if (name !== this.selfName && name !== exclude) found.push(slot);
    }
    const out: MemberRecord[] = [];
    for (let i = 0; i < found.length && out.length < k; i++) {
      const j = i + this.rng.int(found.length - i);
      const pick = found[j] as number;
      found[j] = found[i] as number;
      out.push(this.view(pick));
    }
    return out;
  }

  /** Up to k distinct members other than self and `exclude`, chosen uniformly, that pass `accept`. */
  sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[] {
    const cols = this.cols;
    const picked = this.rng.sampleIndex(cols.length, k, (slot) => {
      const c = this.current(slot);
      if (c === undefined) return false;
      const name = cols.names[c] as string;
      return name !== this.selfName && name !== exclude && accept(this.view(c));
    });
    return this.distinctRecords(picked);
  }

  /** The records picked slots stand for, each once: a name re-added after a reap holds two slots until the next prune. */
  private distinctRecords(picked: readonly number[]): MemberRecord[] {
    const out: MemberRecord[] = [];
    const seen = new Set<number>();
    for (const slot of picked) {
      const c = this.current(slot) as number;
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(this.view(c));
    }
    return out;
  }
}
