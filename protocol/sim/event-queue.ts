import { type Scheduled, TimeHeap } from '../time-heap.js';

export type { Scheduled } from '../time-heap.js';

/**
 * The simulator's queue of scheduled items, ordered by (time, insertion seq): two items due at the
 * same virtual instant run in the order they were scheduled.
 */
export class EventQueue<T extends Scheduled> {
  private readonly heap = new TimeHeap<T>();
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest item, or null when empty. */
  peekTime(): number | null {
    const top = this.heap.peek();
    return top === undefined ? null : top.time;
  }

  /** Sets the item's time and seq (the queue owns both fields) and queues it. */
  schedule(time: number, item: T): void {
    item.time = time;
    item.seq = this.nextSeq++;
    this.heap.push(item);
  }

  /** Removes and returns the earliest item, or undefined when empty. */
  pop(): T | undefined {
    return this.heap.pop();
  }

  clear(): void {
    this.heap.clear();
  }
}
