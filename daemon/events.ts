import type { MemberEvent } from '../protocol/effects.js';
import { DAEMON_LIMITS } from './limits.js';
import type { Logger } from './log.js';

/**
 * In-process fan-out of member events to watch streams and other listeners. Listeners run
 * synchronously inside the driver, so they must only queue work: calling back into the agent from
 * a listener would re-enter the protocol core.
 */

export type MemberListener = (event: MemberEvent) => void;

export class MemberEvents {
  private readonly listeners = new Set<MemberListener>();

  constructor(private readonly log: Logger) {}

  /** Returns the unsubscribe function, or null when DAEMON_LIMITS.eventSubscribersMax are taken. */
  subscribe(listener: MemberListener): (() => void) | null {
    if (this.listeners.size >= DAEMON_LIMITS.eventSubscribersMax) return null;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  emit(event: MemberEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // One broken subscriber must not starve the others or the driver.
        this.log.error('member event listener threw', { err });
      }
    }
  }
}
