import type { MemberEvent, ServiceEvent, SplitEvent } from '../protocol/effects.js';
import { DAEMON_LIMITS } from './limits.js';
import type { Logger } from './log.js';

/**
 * In-process fan-out of member and service events to watch streams and other listeners. Listeners run
 * synchronously inside the driver, so they must only queue work: calling back into the agent from
 * a listener would re-enter the protocol core.
 */

/** A change in this agent's view: of a member, of a service instance, or of a service's split. */
export type AgentEvent = MemberEvent | ServiceEvent | SplitEvent;

export type AgentEventListener = (event: AgentEvent) => void;

export class AgentEvents {
  private readonly listeners = new Set<AgentEventListener>();

  constructor(private readonly log: Logger) {}

  /** Returns the unsubscribe function, or null when DAEMON_LIMITS.eventSubscribersMax are taken. */
  subscribe(listener: AgentEventListener): (() => void) | null {
    if (this.listeners.size >= DAEMON_LIMITS.eventSubscribersMax) return null;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  emit(event: AgentEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // One broken subscriber must not starve the others or the driver.
        this.log.error('event listener threw', { err });
      }
    }
  }
}
