/**
 * Polls every agent's GET /v1/members on its local socket and feeds the answers to the timeline.
 * Polling rather than /v1/watch: it sees exactly what a client of the API would, needs nothing but
 * the members endpoint, and a paused or restarted agent simply shows up as a gap.
 *
 * One loop per agent, never more than one request in flight per agent, so a paused agent (whose
 * requests hang until the client's timeout) slows only its own loop.
 */
import { isClientError } from '../../client/index.js';
import type { HostAgent } from './agents.js';
import type { Timeline } from './timeline.js';

export const POLL_INTERVAL_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Observer {
  private readonly loops = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly timeline: Timeline, private readonly intervalMs = POLL_INTERVAL_MS) {}

  /** Starts polling `agent` (no-op if already polled). The loop outlives restarts of the agent. */
  watch(agent: HostAgent): void {
    if (this.stopped || this.loops.has(agent.name)) return;
    this.loops.set(agent.name, this.loop(agent));
  }

  private async loop(agent: HostAgent): Promise<void> {
    while (!this.stopped) {
      const started = this.timeline.now();
      if (!agent.running) {
        this.timeline.setReachable(agent.name, false, 'process not running');
      } else {
        try {
          const members = await agent.client.members();
          if (this.stopped) break;
          this.timeline.update(agent.name, members);
        } catch (e) {
          const reason = isClientError(e) ? e.code : e instanceof Error ? e.message : String(e);
          this.timeline.setReachable(agent.name, false, agent.isPaused ? `paused, ${reason}` : reason);
        }
      }
      await sleep(Math.max(1, this.intervalMs - (this.timeline.now() - started)));
    }
  }

  /** Stops every loop and waits for in-flight requests (bounded by the client timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops.values());
  }
}
