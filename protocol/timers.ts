import { TimeHeap } from './time-heap.js';

/**
 * Every timer a node sets. A timer is identified by its kind and, for per-member and per-request
 * timers, the member or request it is about: setting a timer that is already pending moves it.
 */
export type Timer =
  | { readonly kind: 'probe' }
  | { readonly kind: 'probe-timeout' }
  | { readonly kind: 'probe-retry' }
  | { readonly kind: 'gossip' }
  | { readonly kind: 'forward' }
  | { readonly kind: 'push-pull' }
  | { readonly kind: 'join-retry' }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'reap' }
  /** A suspected member is declared dead unless refuted first. */
  | { readonly kind: 'suspicion'; readonly member: string }
  /** A last direct probe of a suspect shortly before its suspicion times out. */
  | { readonly kind: 'last-chance'; readonly member: string }
  /** A ping relayed for another member (ping-req): its nack or its end. */
  | { readonly kind: 'relay'; readonly seq: number }
  /** A check of another address claiming our name: its timeout, its retry, its periodic re-check. */
  | { readonly kind: 'claim-timeout'; readonly seq: number }
  | { readonly kind: 'claim-retry'; readonly seq: number }
  | { readonly kind: 'claim-recheck'; readonly address: string }
  /** The next round of a propagation barrier's confirmation requests. */
  | { readonly kind: 'barrier-retry'; readonly barrierId: number }
  /** Requests for missing catalog entries (want) that went unanswered are sent again. */
  | { readonly kind: 'want-retry' };

/** The timers without a subject, one object each. */
export const TIMERS = {
  probe: { kind: 'probe' },
  probeTimeout: { kind: 'probe-timeout' },
  probeRetry: { kind: 'probe-retry' },
  gossip: { kind: 'gossip' },
  forward: { kind: 'forward' },
  pushPull: { kind: 'push-pull' },
  joinRetry: { kind: 'join-retry' },
  reconnect: { kind: 'reconnect' },
  reap: { kind: 'reap' },
} as const satisfies Record<string, Timer>;

/** The identity of a timer: two timers with the same key are the same timer. */
export function timerKey(t: Timer): string {
  switch (t.kind) {
    case 'probe':
    case 'probe-timeout':
    case 'probe-retry':
    case 'gossip':
    case 'forward':
    case 'push-pull':
    case 'join-retry':
    case 'reconnect':
    case 'reap':
      return t.kind;
    case 'suspicion': return `s:${t.member}`;
    case 'last-chance': return `lc:${t.member}`;
    case 'relay': return `r:${t.seq}`;
    case 'claim-timeout': return `nc:${t.seq}`;
    case 'claim-retry': return `ncr:${t.seq}`;
    case 'claim-recheck': return `ncc:${t.address}`;
    case 'barrier-retry': return `b:${t.barrierId}`;
    case 'want-retry': return t.kind;
    default: return unknownTimer(t);
  }
}

/** For exhaustive switches over Timer: a new kind without a case fails to compile. */
export function unknownTimer(t: never): never {
  throw new Error(`unknown timer ${JSON.stringify(t)}`);
}

/** What the parts of a node use to set and look up their timers. */
export interface TimerSet {
  set(timer: Timer, at: number): void;
  clear(timer: Timer): void;
  has(timer: Timer): boolean;
  /** When `timer` fires, if it is pending. */
  at(timer: Timer): number | undefined;
}

interface Entry {
  time: number;
  /** Insertion generation: orders timers due at the same instant, and marks superseded heap entries. */
  seq: number;
  readonly key: string;
  readonly timer: Timer;
}

/**
 * The pending timers of one node. The core asks for the earliest deadline after every input; a
 * min-heap with lazy deletion keeps that O(log n) even when thousands of suspicion timers are
 * pending. Timers due at the same instant fire in the order they were set.
 */
export class Deadlines implements TimerSet {
  /** The live heap entry of each pending timer, by key; heap entries not found here are superseded. */
  private readonly current = new Map<string, Entry>();
  private readonly heap = new TimeHeap<Entry>();
  private gen = 0;

  set(timer: Timer, at: number): void {
    const e: Entry = { time: at, seq: ++this.gen, key: timerKey(timer), timer };
    this.current.set(e.key, e);
    this.heap.push(e);
    // Lazy deletion can leave many stale entries behind; compact when they dominate.
    if (this.heap.length > 64 && this.heap.length > 4 * this.current.size) this.heap.reset([...this.current.values()]);
  }

  clear(timer: Timer): void {
    this.current.delete(timerKey(timer));
  }

  has(timer: Timer): boolean {
    return this.current.has(timerKey(timer));
  }

  at(timer: Timer): number | undefined {
    return this.current.get(timerKey(timer))?.time;
  }

  next(): number | null {
    this.dropStale();
    const top = this.heap.peek();
    return top === undefined ? null : top.time;
  }

  /** Removes and returns every timer due at or before `now`, earliest first. */
  due(now: number): { timer: Timer; key: string; at: number }[] {
    const out: { timer: Timer; key: string; at: number }[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap.peek();
      if (top === undefined || top.time > now) break;
      this.heap.pop();
      this.current.delete(top.key);
      out.push({ timer: top.timer, key: top.key, at: top.time });
    }
    return out;
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || this.current.get(top.key) === top) return;
      this.heap.pop();
    }
  }
}
