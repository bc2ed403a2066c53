/**
 * Name → slot lookups for a member table. A daemon's table keeps a Map of its own. Simulated nodes
 * all know the same few thousand names: they share one registry that numbers each name once, and
 * each table keeps only an array of slots by number, four bytes a member instead of a Map entry's
 * forty or so.
 */
export interface SlotIndex {
  readonly size: number;
  get(name: string): number | undefined;
  has(name: string): boolean;
  set(name: string, slot: number): void;
  delete(name: string): void;
  /** A new, empty index of the same kind (a prune rebuilds the index). */
  empty(): SlotIndex;
}

export class MapSlotIndex implements SlotIndex {
  private readonly map = new Map<string, number>();

  get size(): number {
    return this.map.size;
  }

  get(name: string): number | undefined {
    return this.map.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  set(name: string, slot: number): void {
    this.map.set(name, slot);
  }

  delete(name: string): void {
    this.map.delete(name);
  }

  empty(): SlotIndex {
    return new MapSlotIndex();
  }
}

/** Numbers names once for every table that shares it; numbers are never given back. */
export class MemberNames {
  private readonly ids = new Map<string, number>();

  get count(): number {
    return this.ids.size;
  }

  find(name: string): number | undefined {
    return this.ids.get(name);
  }

  idOf(name: string): number {
    const id = this.ids.get(name);
    if (id !== undefined) return id;
    this.ids.set(name, this.ids.size);
    return this.ids.size - 1;
  }

  index(): SlotIndex {
    return new SharedSlotIndex(this);
  }
}

/** Slots by the shared registry's numbers: slot + 1, 0 for a name not in the table. */
class SharedSlotIndex implements SlotIndex {
  private slots: Int32Array;
  private count = 0;

  constructor(private readonly names: MemberNames) {
    this.slots = new Int32Array(Math.max(16, names.count));
  }

  get size(): number {
    return this.count;
  }

  get(name: string): number | undefined {
    const id = this.names.find(name);
    if (id === undefined || id >= this.slots.length) return undefined;
    const s = this.slots[id] as number;
    return s === 0 ? undefined : s - 1;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, slot: number): void {
    const id = this.names.idOf(name);
    if (id >= this.slots.length) {
      const grown = new Int32Array(Math.max(id + 1, this.names.count, this.slots.length * 2));
      grown.set(this.slots);
      this.slots = grown;
    }
    if (this.slots[id] === 0) this.count++;
    this.slots[id] = slot + 1;
  }

  delete(name: string): void {
    const id = this.names.find(name);
    if (id === undefined || id >= this.slots.length || this.slots[id] === 0) return;
    this.slots[id] = 0;
    this.count--;
  }

  empty(): SlotIndex {
    return new SharedSlotIndex(this.names);
  }
}
