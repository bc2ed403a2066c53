import type { MemberView, ServiceView, SplitView } from '../../protocol/effects.js';
import type { AgentEvent, AgentEvents } from '../events.js';
import { DAEMON_LIMITS } from '../limits.js';
import { memberJson, type RoutingState, servicesJson, splitJson } from '../api/shapes.js';
import { eventLine, type SnapshotLine } from './lines.js';

/**
 * The agent's change log behind GET /v1/watch: every member and service event gets the next index
 * and is kept, serialized once, in a ring bounded by count and bytes, so that a watcher that
 * reconnects with `?index=N` gets exactly the events after N.
 *
 * Indexes of one agent lifetime start at a base taken from the wall clock at start (milliseconds
 * × 1000), so an index remembered from an earlier lifetime is below the base of the next one and can
 * never be mistaken for a position in it: resuming from it gets a reset snapshot. (That would only
 * fail if a lifetime produced more than 1000 events per millisecond it ran, or the wall clock
 * stepped back across a restart by more than the events since.) 1000 × ms stays a safe integer
 * until the year 2255.
 */

export interface WatchState extends RoutingState {
  members(): readonly MemberView[];
  services(): readonly ServiceView[];
  /** Every live split; absent: none. */
  splits?(): readonly SplitView[];
}

export interface EventLogLimits {
  readonly events: number;
  readonly bytes: number;
  readonly streams: number;
}

const DEFAULT_LIMITS: EventLogLimits = {
  events: DAEMON_LIMITS.watchLogEventsMax,
  bytes: DAEMON_LIMITS.watchLogBytesMax,
  streams: DAEMON_LIMITS.watchStreamsMax,
};

/** The first index of a lifetime that started at `wallClockMs`. */
export function indexBase(wallClockMs: number): number {
  return Math.floor(wallClockMs) * 1000;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byName = <T extends { name: string }>(a: T, b: T): number => cmp(a.name, b.name);

export class EventLog {
  private readonly lines: (string | undefined)[];
  private readonly sizes: number[];
  /** Ring slot of the oldest kept event. */
  private head = 0;
  private count = 0;
  private bytes = 0;
  private last: number;
  private readonly listeners = new Set<() => void>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly state: WatchState,
    readonly base: number,
    private readonly limits: EventLogLimits = DEFAULT_LIMITS,
  ) {
    this.last = base;
    this.lines = new Array<string | undefined>(limits.events);
    this.sizes = new Array<number>(limits.events).fill(0);
  }

  /** Starts recording the agent's events. Throws if no event subscription is free (at start-up, a bug). */
  attach(events: AgentEvents): void {
    const unsubscribe = events.subscribe((e) => this.append(e));
    if (unsubscribe === null) throw new Error('no event subscription left for the watch log');
    this.unsubscribe = unsubscribe;
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Index of the newest event (the base when there has been none). */
  get index(): number {
    return this.last;
  }

  /** Events held, and their serialized size (for tests and metrics). */
  get size(): { readonly events: number; readonly bytes: number } {
    return { events: this.count, bytes: this.bytes };
  }

  get streams(): number {
    return this.listeners.size;
  }

  get streamsMax(): number {
    return this.limits.streams;
  }

  /** True when the events after `index` are all still held (none of them yet: also true). */
  canResumeAfter(index: number): boolean {
    return index >= this.last - this.count && index <= this.last;
  }

  /** The serialized event with this index, or null when it has left the ring or does not exist yet. */
  lineAt(index: number): string | null {
    const offset = index - (this.last - this.count + 1);
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.count) return null;
    return this.lines[(this.head + offset) % this.limits.events] ?? null;
  }

  /** The current view, serialized, as of `index` (the events up to it are included). */
  snapshot(reset: boolean): string {
    const line: SnapshotLine = {
      type: 'snapshot',
      index: this.last,
      reset,
      members: [...this.state.members()].sort(byName).map(memberJson),
      // In the order of GET /v1/services.
      services: servicesJson(this.state, [...this.state.services()]
        .sort((a, b) => byName(a, b) || cmp(a.node, b.node) || cmp(a.id, b.id))),
      splits: [...(this.state.splits?.() ?? [])].sort((a, b) => cmp(a.service, b.service)).map(splitJson),
    };
    return JSON.stringify(line);
  }

  /**
   * `onAppend` runs synchronously inside the driver after every new event: it may only schedule
   * work. Returns the unsubscribe function, or null when the stream limit is reached.
   */
  subscribe(onAppend: () => void): (() => void) | null {
    if (this.listeners.size >= this.limits.streams) return null;
    const listener = (): void => onAppend();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  append(event: AgentEvent): void {
    const index = this.last + 1;
    const line = JSON.stringify(eventLine(index, event, this.state));
    const size = Buffer.byteLength(line, 'utf8');
    while (this.count > 0 && (this.count >= this.limits.events || this.bytes + size > this.limits.bytes)) {
      this.bytes -= this.sizes[this.head] ?? 0;
      this.lines[this.head] = undefined;
      this.head = (this.head + 1) % this.limits.events;
      this.count--;
    }
    const slot = (this.head + this.count) % this.limits.events;
    this.lines[slot] = line;
    this.sizes[slot] = size;
    this.bytes += size;
    this.count++;
    this.last = index;
    for (const listener of this.listeners) listener();
  }
}
