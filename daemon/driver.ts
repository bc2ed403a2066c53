import type { Address } from '../protocol/address.js';
import type { BarrierEvent, Effect, NameConflict } from '../protocol/effects.js';
import type { CoreNode, CoreResult } from '../protocol/core.js';
import type { AgentEvent, AgentEvents } from './events.js';
import { DAEMON_LIMITS } from './limits.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { describe, errCode } from './net/net-util.js';
import { pushPullFailureReason } from './net/push-pull-failure.js';

/**
 * Runs the sans-IO core on real time and sockets. Every input goes through input(): the core is
 * called with the current time, its effects are carried out in order, and the single protocol timer
 * is re-armed at node.nextDeadline(). Timers are armed at absolute deadlines computed by the core,
 * so a late firing delays one tick but never shifts the schedule after it.
 */

/** Milliseconds on a monotonic clock: wall-clock steps must not fire or starve protocol timers. */
export type Clock = () => number;
export const monotonicClock: Clock = () => performance.now();

export interface DatagramSender {
  send(to: Address, bytes: Uint8Array): void;
}

export type PushPullFn = (to: Address, request: Uint8Array) => Promise<Uint8Array>;

export interface PushPullOutcome {
  readonly to: Address;
  readonly ok: boolean;
  readonly join: boolean;
  /** Why it failed, worded for an operator (null when it succeeded). */
  readonly failure: string | null;
}

export interface DriverDeps {
  readonly node: CoreNode;
  readonly udp: DatagramSender;
  readonly pushPull: PushPullFn;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly events: AgentEvents;
  /** A name conflict was found (already logged and counted); the agent stops on one at join. */
  readonly onConflict?: (c: NameConflict) => void;
  /** Called after every input; the agent persists a risen incarnation from here. */
  readonly afterInput?: () => void;
}

/** setTimeout's largest delay; longer waits re-arm on firing. */
const TIMER_MAX_MS = 2 ** 31 - 1;

export class Driver {
  private timer: NodeJS.Timeout | null = null;
  private armedFor: number | null = null;
  private outbound = 0;
  private stopped = false;
  private readonly outcomeListeners = new Set<(o: PushPullOutcome) => void>();
  private readonly barrierListeners = new Set<(e: BarrierEvent) => void>();

  constructor(private readonly d: DriverDeps) {}

  /** Arms the first timer. */
  start(): void {
    this.rearm();
  }

  /** No more inputs reach the core; replies still in flight are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = null;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  now(): number {
    return this.d.clock();
  }

  handlePacket(from: Address, bytes: Uint8Array): void {
    this.input('packet', (now) => this.d.node.handlePacket(now, from, bytes));
  }

  /** Serves an incoming push-pull; returns the reply to write back. */
  handlePushPull(from: Address, bytes: Uint8Array): Uint8Array | null {
    let reply: Uint8Array | null = null;
    this.input('push-pull', (now) => {
      const r = this.d.node.handlePushPull(now, from, bytes);
      reply = r.value;
      return r.effects;
    });
    return reply;
  }

  join(seeds: readonly Address[]): void {
    this.input('join', (now) => this.d.node.join(now, seeds));
  }

  leave(): void {
    this.input('leave', (now) => this.d.node.leave(now));
  }

  /**
   * Runs a local operation on the core (register, drain, start a barrier …) and carries out its
   * effects. Errors the operation throws (e.g. CatalogError) reach the caller; nothing is applied.
   */
  invoke<T>(what: string, call: (now: number) => CoreResult<T>): T {
    if (this.stopped) throw new Error('the agent is shutting down');
    const { value, effects } = call(this.d.clock());
    this.apply(effects);
    this.d.afterInput?.();
    this.rearm();
    void what;
    return value;
  }

  /** Notified when a propagation barrier finishes. */
  onBarrier(listener: (e: BarrierEvent) => void): () => void {
    this.barrierListeners.add(listener);
    return () => {
      this.barrierListeners.delete(listener);
    };
  }

  /** Notified of every push-pull this node initiated, when it completes or fails. */
  onPushPullOutcome(listener: (o: PushPullOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => {
      this.outcomeListeners.delete(listener);
    };
  }

  private input(what: string, call: (now: number) => Effect[]): void {
    if (this.stopped) return;
    let effects: Effect[];
    try {
      effects = call(this.d.clock());
    } catch (err) {
      // A core bug on one input must not take the agent down; the input is lost and counted.
      this.d.metrics.reject('internal_error');
      this.d.log.error('protocol core threw', { input: what, err });
      effects = [];
    }
    this.apply(effects);
    this.d.afterInput?.();
    this.rearm();
  }

  private apply(effects: readonly Effect[]): void {
    const events: AgentEvent[] = [];
    const barriers: BarrierEvent[] = [];
    const conflicts: NameConflict[] = [];
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.d.udp.send(e.to, e.bytes);
          break;
        case 'push-pull':
          this.startPushPull(e.to, e.bytes, e.join);
          break;
        case 'event':
        case 'service':
        case 'split':
          events.push(e.event);
          break;
        case 'barrier':
          barriers.push(e.event);
          break;
        case 'conflict':
          this.d.metrics.nameConflict(e.conflict.about);
          logConflict(this.d.log, e.conflict);
          conflicts.push(e.conflict);
          break;
        case 'rejected':
          this.d.metrics.reject(e.reason);
          // A failed timer handler is a bug in the core, not hostile input: worth an error line.
          if (e.reason === 'internal_error') this.d.log.error('protocol core failed on a timer', { detail: e.detail });
          else this.d.log.debug('input rejected', { reason: e.reason, detail: e.detail });
          break;
      }
    }
    // Emitted after all sends so that a watcher never learns of a change before the cluster does.
    for (const ev of events) {
      if (ev.type === 'member') {
        const m = ev.member;
        this.d.log.info(ev.reaped === true ? 'member reaped' : `member ${m.status}`, {
          member: m.name, address: describe(m), incarnation: m.incarnation, previous: ev.previous,
        });
      } else if (ev.type === 'service') {
        const s = ev.service;
        this.d.log.info(`service ${ev.change}`, { node: s.node, id: s.id, health: s.health, draining: s.draining, rev: s.rev });
      } else {
        this.d.log.info(ev.split === null ? 'split cleared' : 'split set', { service: ev.service, weights: ev.split?.weights, writer: ev.writer });
      }
      this.d.events.emit(ev);
    }
    for (const b of barriers) for (const l of [...this.barrierListeners]) l(b);
    for (const c of conflicts) this.d.onConflict?.(c);
  }

  private startPushPull(to: Address, bytes: Uint8Array, join: boolean): void {
    if (this.outbound >= DAEMON_LIMITS.streamsOutboundMax) {
      this.d.metrics.stream('out', 'refused');
      // Reported on a later turn: the core is in the middle of the call that asked for it.
      setImmediate(() => this.finishPushPull(to, join, null, 'this agent has too many state exchanges in progress'));
      return;
    }
    this.outbound++;
    this.d.pushPull(to, bytes).then(
      (reply) => {
        this.outbound--;
        this.d.metrics.stream('out', 'ok');
        this.finishPushPull(to, join, reply, null);
      },
      (err: unknown) => {
        this.outbound--;
        this.d.metrics.stream('out', 'failed');
        this.d.log.debug('push-pull failed', { to: describe(to), err: errCode(err) === 'unknown' ? err : errCode(err) });
        this.finishPushPull(to, join, null, pushPullFailureReason(err));
      },
    );
  }

  private finishPushPull(to: Address, join: boolean, reply: Uint8Array | null, failure: string | null): void {
    if (this.stopped) return;
    if (reply === null) this.input('push-pull failed', (now) => this.d.node.handlePushPullFailed(now, to));
    else this.input('push-pull reply', (now) => this.d.node.handlePushPullReply(now, to, reply));
    for (const l of [...this.outcomeListeners]) l({ to, ok: reply !== null, join, failure });
  }

  /** Keeps exactly one timer, at the core's next deadline; untouched when the deadline is unchanged. */
  private rearm(): void {
    if (this.stopped) return;
    const deadline = this.d.node.nextDeadline();
    if (deadline === this.armedFor && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = deadline;
    if (deadline === null) return;
    const delay = Math.min(TIMER_MAX_MS, Math.max(0, Math.ceil(deadline - this.d.clock())));
    this.timer = setTimeout(() => this.fire(deadline), delay);
  }

  private fire(deadline: number): void {
    this.timer = null;
    this.armedFor = null;
    if (this.stopped) return;
    const now = this.d.clock();
    if (now < deadline) {
      // Fired early (timer granularity or a clamped long wait): wait out the rest.
      this.rearm();
      return;
    }
    this.d.metrics.tick(now - deadline, DAEMON_LIMITS.lateTickThresholdMs);
    this.input('tick', (t) => this.d.node.tick(t));
  }
}

function logConflict(log: Logger, c: NameConflict): void {
  const fields = { name: c.name, held: describe(c.held), other: describe(c.other) };
  if (c.about === 'member') {
    log.warn('refused a second address for a live member: two agents use this name', fields);
  } else if (c.stepAside) {
    log.error(`another live agent at ${describe(c.other)} already uses this node's name and started first; stepping aside`, fields);
  } else {
    log.error(`another live agent at ${describe(c.other)} uses this node's name; keeping this node's state`, fields);
  }
}
