/**
 * A binary min-heap of scheduled items ordered by (time, insertion seq). The seq tie-break makes two
 * items due at the same virtual instant run in the order they were scheduled, which is what keeps a
 * simulation run identical from one execution to the next.
 */

/** Fields the queue owns on every item it holds; `schedule` overwrites both. */
export interface Scheduled {
  time: number;
  seq: number;
}

export class EventQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest item, or null when empty. */
  peekTime(): number | null {
    const top = this.heap[0];
    return top === undefined ? null : top.time;
  }

  schedule(time: number, item: T): void {
    item.time = time;
    item.seq = this.nextSeq++;
    const heap = this.heap;
    heap.push(item);
    // Sift up.
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
      // Sift the former last item down from the root.
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

  clear(): void {
    this.heap.length = 0;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
