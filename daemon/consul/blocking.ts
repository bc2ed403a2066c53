import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { AgentEvent } from '../events.js';

/**
 * Consul's blocking queries: one counter for the agent (Consul's Raft index), and the index at
 * which each watched thing last changed — every service name on its own, the list of services
 * (catalog/services) and the health of everything (health/state). A change to `db` moves only
 * `db`'s index, so watchers of `web` sleep on (the lesson of consul#1244 and #3890).
 *
 * A waiter holds a key and the client's index. It is answered at once when the key's index is
 * already past it, or below it (the client's index comes from an earlier lifetime or another agent:
 * Consul's "reset", the client starts over from what it is given), and otherwise when the key
 * changes, the wait runs out, the client leaves or the agent stops.
 */

/** What a blocking query watches. */
export type WatchKey =
  | { readonly kind: 'service'; readonly name: string }
  | { readonly kind: 'services' }
  | { readonly kind: 'health-state' }
  | { readonly kind: 'agent' };

export function keyText(k: WatchKey): string {
  return k.kind === 'service' ? `service:${k.name}` : k.kind;
}

/** Why a wait ended. */
export type WakeReason = 'changed' | 'timeout' | 'gone' | 'shutdown';

export interface Waiter {
  readonly key: string;
  readonly wake: (reason: WakeReason) => void;
}

export interface IndexBookOptions {
  /** The first index of this lifetime (daemon/consul/index-store.ts). */
  readonly start: number;
  /** Called with every new index (to renew the persisted reservation). */
  readonly onIndex?: (index: number) => void;
  /** Waiters held at once; past it `wait` refuses. */
  readonly waitersMax: number;
}

/**
 * Keys whose index is remembered. Past it the oldest unwatched ones are forgotten: their index falls
 * back to the lifetime's start, which a client holding a later one takes as a reset (answered at
 * once, then it blocks again) — a spurious wake-up, never a missed change.
 */
const REMEMBERED_KEYS_MAX = 16_384;

export class IndexBook {
  private counter: number;
  private readonly modified = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private held = 0;
  private closed = false;

  constructor(private readonly opts: IndexBookOptions) {
    this.counter = opts.start;
  }

  /** The index of a key: where it last changed, or the lifetime's start (always > 0). */
  indexOf(key: WatchKey): number {
    if (key.kind === 'agent') return this.counter;
    return this.modified.get(keyText(key)) ?? this.opts.start;
  }

  get current(): number {
    return this.counter;
  }

  get waiting(): number {
    return this.held;
  }

  get waitersMax(): number {
    return this.opts.waitersMax;
  }

  /**
   * Moves the indexes an event touches. `servicesOf` lists the view's instances (for a member
   * event: which services the member's death or return changes). Runs inside the driver: it only
   * resolves waiters, which answer on a later tick.
   */
  apply(event: AgentEvent, servicesOf: () => readonly ServiceView[]): void {
    if (event.type === 'service') {
      const s = event.service;
      const before = event.previous;
      const listChanged = event.change !== 'updated' || before === null || !sameTags(before, s);
      this.bump([`service:${s.name}`, 'health-state', ...(listChanged ? ['services'] : [])]);
      return;
    }
    // A split moves the effective weights (the Weights answered) of the service's instances.
    if (event.type === 'split') {
      this.bump([`service:${event.service}`]);
      return;
    }
    if (!touchesHealth(event.member, event.previous, event.reaped === true)) return;
    const names = new Set<string>();
    for (const v of servicesOf()) if (v.node === event.member.name) names.add(`service:${v.name}`);
    // Every member has a serfHealth check in health/state; a reaped owner's instances leave the
    // view, so the list of services may shrink.
    this.bump([...names, 'health-state', ...(event.reaped === true && names.size > 0 ? ['services'] : [])]);
  }

  /**
   * Registers a waiter; null when `waitersMax` are held. The caller must call the returned
   * release once it is answered (after a wake, or on its own timeout).
   */
  hold(key: WatchKey, wake: (reason: WakeReason) => void): (() => void) | null {
    if (this.closed) {
      wake('shutdown');
      return () => undefined;
    }
    if (this.held >= this.opts.waitersMax) return null;
    const k = keyText(key);
    const w: Waiter = { key: k, wake };
    let set = this.waiters.get(k);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(k, set);
    }
    set.add(w);
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      const s = this.waiters.get(k);
      s?.delete(w);
      if (s !== undefined && s.size === 0) this.waiters.delete(k);
    };
  }

  /** Wakes every waiter with 'shutdown'; later holds are woken at once. */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.wake('shutdown');
  }

  private bump(keys: readonly string[]): void {
    this.counter++;
    this.opts.onIndex?.(this.counter);
    for (const k of keys) {
      // Re-inserted so that the map's order is the order of last change (oldest forgotten first).
      this.modified.delete(k);
      this.modified.set(k, this.counter);
      const set = this.waiters.get(k);
      if (set !== undefined) for (const w of [...set]) w.wake('changed');
    }
    if (this.modified.size > REMEMBERED_KEYS_MAX) {
      for (const k of this.modified.keys()) {
        if (this.modified.size <= REMEMBERED_KEYS_MAX / 2) break;
        if (k.startsWith('service:') && !this.waiters.has(k)) this.modified.delete(k);
      }
    }
  }
}

function sameTags(a: ServiceView, b: ServiceView): boolean {
  return a.tags.length === b.tags.length && a.tags.every((t, i) => t === b.tags[i]);
}

/** Whether a member change shows in the Consul view: its serfHealth check, or its instances leaving. */
function touchesHealth(m: MemberView, previous: string | null, reaped: boolean): boolean {
  if (reaped) return true;
  const down = (s: string | null): boolean => s === 'dead' || s === 'left';
  return down(m.status) !== down(previous);
}
