/**
 * A binary min-heap of items ordered by (time, seq). Callers give every item a seq that is unique and
 * rises with insertion, so two items due at the same instant come out in the order they went in:
 * the order is total, which keeps a seeded run identical from one execution to the next. Both the
 * node's deadlines (timers.ts) and the simulator's event queue are built on it.
 */
export interface Scheduled {
  time: number;
  seq: number;
}

export class TimeHeap<T extends Scheduled> {
  private heap: T[] = [];

  get length(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as T;
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  /** Removes and returns the earliest item, or undefined when empty. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as T;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        let child = heap[l] as T;
        if (r < n) {
          const rc = heap[r] as T;
          if (before(rc, child)) {
            c = r;
            child = rc;
          }
        }
        if (!before(child, last)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }

  /** Replaces the contents with `items` (in any order). */
  reset(items: T[]): void {
    // A sorted array is a valid heap.
    items.sort((a, b) => (a.time - b.time) || (a.seq - b.seq));
    this.heap = items;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
