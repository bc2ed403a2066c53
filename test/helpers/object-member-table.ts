/**
 * The member table as it was stored before columns: a Map of record objects. Kept as the reference
 * the column table must match draw for draw and record for record.
 */
import type { MemberStatus } from '../../protocol/messages.js';
import { forEachInArc, isLive, type MemberRecord, type MemberSampler } from '../../protocol/member-table.js';
import { type RelayArc, ringPosition } from '../../protocol/ring.js';
import type { Rng } from '../../protocol/rng.js';

interface RingIndex {
  readonly pos: Uint32Array;
  readonly names: readonly string[];
}

/**
 * All known members (self included), with a live count kept incrementally so that the cluster size
 * used by every timeout and fanout is O(1), and the probe order: a shuffled round robin over the
 * other live members, reshuffled each round, with newcomers dropped in at a random later position.
 */
export class ObjectMemberTable implements MemberSampler {
  private readonly records = new Map<string, MemberRecord>();
  private live = 0;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  /**
   * Records in insertion order, kept for O(1) random sampling without a lookup per candidate. A
   * removed record keeps its slot until the next prune (it stands for its name: for nobody, or for
   * the record that re-added the name), so that the slots are drawn from exactly as before.
   */
  private slots: MemberRecord[] = [];
  /** Removed records that still hold a slot. */
  private removed = new Set<MemberRecord>();
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
  ) {}

  get size(): number {
    return this.records.size;
  }

  /** Alive and suspect members, self included. */
  get liveCount(): number {
    return this.live;
  }

  get(name: string): MemberRecord | undefined {
    return this.records.get(name);
  }

  values(): IterableIterator<MemberRecord> {
    return this.records.values();
  }

  add(r: MemberRecord): void {
    if (this.records.has(r.name)) throw new Error(`member ${r.name} already present`);
    this.records.set(r.name, r);
    this.slots.push(r);
    this.ring = null;
    if (isLive(r.status)) this.live++;
    this.checkLiveCount();
    if (r.name !== this.selfName && isLive(r.status)) {
      // Random position in the rest of this round, so a newcomer is probed within one round.
      this.probeOrder.push(r.name);
      const last = this.probeOrder.length - 1;
      const j = this.probeIndex + this.rng.int(last - this.probeIndex + 1);
      const tmp = this.probeOrder[j] as string;
      this.probeOrder[j] = r.name;
      this.probeOrder[last] = tmp;
    }
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
    const r = this.records.get(name);
    if (r === undefined) return;
    if (isLive(r.status)) this.live--;
    this.records.delete(name);
    this.removed.add(r);
    this.ring = null;
    this.checkLiveCount();
    if (this.slots.length > 2 * this.records.size + 16) {
      // Slots of names that are back stay (each stands for the new record), as before a prune.
      this.slots = this.slots.filter((s) => this.current(s) !== undefined);
      const removed = new Set<MemberRecord>();
      for (const s of this.slots) if (this.removed.has(s)) removed.add(s);
      this.removed = removed;
    }
  }

  /** The record a slot stands for now: its own, the one that re-added its name, or none. */
  private current(slot: MemberRecord): MemberRecord | undefined {
    return this.removed.size === 0 || !this.removed.has(slot) ? slot : this.records.get(slot.name);
  }

  /** The live count is kept by hand on every change; a slip would skew every timeout and fanout. */
  private checkLiveCount(): void {
    if (this.live < 0 || this.live > this.records.size) {
      throw new Error(`member table: live count ${this.live} outside [0, ${this.records.size}]`);
    }
  }

  /** Next member to probe, or null when there is nobody else alive or suspect. */
  nextProbeTarget(): MemberRecord | null {
    for (let rounds = 0; rounds < 2; ) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.probeOrder = [];
        for (const r of this.records.values()) {
          if (r.name !== this.selfName && isLive(r.status)) this.probeOrder.push(r.name);
        }
        this.rng.shuffle(this.probeOrder);
        this.probeIndex = 0;
        rounds++;
        if (this.probeOrder.length === 0) return null;
      }
      const name = this.probeOrder[this.probeIndex++] as string;
      const r = this.records.get(name);
      if (r !== undefined && isLive(r.status)) return r;
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
      const r = this.records.get(name);
      if (r !== undefined && accept(r)) out.push(r);
    });
    return out;
  }

  private ringIndex(): RingIndex {
    if (this.ring !== null) return this.ring;
    const entries: { p: number; name: string }[] = [];
    for (const name of this.records.keys()) entries.push({ p: ringPosition(name), name });
    // Ties broken by name, so that every node orders the same members the same way.
    entries.sort((a, b) => a.p - b.p || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.ring = { pos: Uint32Array.from(entries, (e) => e.p), names: entries.map((e) => e.name) };
    return this.ring;
  }

  /** Up to k distinct members other than self and `exclude`, chosen uniformly, that pass `accept`. */
  sample(k: number, accept: (r: MemberRecord) => boolean, exclude?: string): MemberRecord[] {
    const picked = this.rng.sample(this.slots, k, (slot) => {
      const r = this.current(slot);
      return r !== undefined && r.name !== this.selfName && r.name !== exclude && accept(r);
    });
    // A name re-added after a reap holds two slots until the next prune.
    return [...new Set(picked.map((s) => this.current(s) as MemberRecord))];
  }

  /**
   * The draws MemberTable.sampleByStatus makes: its members with the status in table order (the
   * columns keep insertion order, as this Map does), then a partial shuffle of k draws.
   */
  sampleByStatus(k: number, status: MemberRecord['status'], exclude?: string): MemberRecord[] {
    const found = [...this.records.values()].filter((r) => r.status === status && r.name !== this.selfName && r.name !== exclude);
    const out: MemberRecord[] = [];
    for (let i = 0; i < found.length && out.length < k; i++) {
      const j = i + this.rng.int(found.length - i);
      out.push(found[j] as MemberRecord);
      found[j] = found[i] as MemberRecord;
    }
    return out;
  }
}
