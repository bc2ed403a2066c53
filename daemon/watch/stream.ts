import { performance } from 'node:perf_hooks';
import type { StreamSink } from '../api/router.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { EventLog } from './event-log.js';
import type { ErrorLine, HeartbeatLine } from './lines.js';

/**
 * One watch stream. It holds no queue of its own: it is a position in the shared event log, and
 * copies from the log into its response while the client keeps up. When the client stops reading,
 * the stream stops writing (at DAEMON_LIMITS.watchStreamBufferBytes) and the log keeps the events;
 * if the log drops an event the stream has not written yet, the client is told to reconnect and
 * the stream ends. Nothing here ever makes the agent wait.
 */

export interface StreamOptions {
  /** Resume after this index; undefined for a fresh snapshot. */
  readonly after: number | undefined;
  readonly heartbeatMs?: number;
  readonly bufferBytes?: number;
  readonly log?: Logger;
}

export const TOO_SLOW = 'consumer too slow';

/** Wakes a waiting loop; a wake-up that comes while nobody waits is kept for the next wait. */
class Wakeup {
  private wake: (() => void) | null = null;
  private pending = false;

  notify(): void {
    const wake = this.wake;
    if (wake === null) {
      this.pending = true;
      return;
    }
    this.wake = null;
    wake();
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function line(value: HeartbeatLine | ErrorLine): string {
  return JSON.stringify(value);
}

export async function runWatchStream(log: EventLog, sink: StreamSink, opts: StreamOptions): Promise<void> {
  const heartbeatMs = opts.heartbeatMs ?? DAEMON_LIMITS.watchHeartbeatMs;
  const bufferBytes = opts.bufferBytes ?? DAEMON_LIMITS.watchStreamBufferBytes;
  const wakeup = new Wakeup();
  const unsubscribe = log.subscribe(() => wakeup.notify());
  if (unsubscribe === null) {
    // Only when streams opened at the same instant raced past the route's 503; the client retries.
    sink.sendJson(line({ type: 'error', index: opts.after ?? log.index, error: `too many watch streams (at most ${log.streamsMax}); try again later` }));
    return;
  }
  const onAbort = (): void => wakeup.notify();
  sink.signal.addEventListener('abort', onAbort);
  try {
    // Subscribing and choosing the start happen in one turn, so no event can fall in between.
    let cursor: number;
    if (opts.after !== undefined && log.canResumeAfter(opts.after)) {
      cursor = opts.after;
    } else {
      if (!sink.sendJson(log.snapshot(opts.after !== undefined))) return;
      cursor = log.index;
    }
    let lastWrite = performance.now();
    let draining = false;
    while (!sink.signal.aborted) {
      while (cursor < log.index && sink.buffered < bufferBytes) {
        const next = log.lineAt(cursor + 1);
        if (next === null) break;
        if (!sink.sendJson(next)) return;
        cursor++;
        lastWrite = performance.now();
      }
      if (cursor < log.index) {
        if (!log.canResumeAfter(cursor)) {
          // The log has dropped what this client has yet to read: it can only start over.
          opts.log?.warn('watch client too slow; ending its stream', { index: cursor, behind: log.index - cursor });
          sink.sendJson(line({ type: 'error', index: cursor, error: `${TOO_SLOW}; reconnect with ?index=${cursor}` }));
          return;
        }
        if (!draining) {
          draining = true;
          void sink.drained().then(() => {
            draining = false;
            wakeup.notify();
          });
        }
        // New events wake us too: once the log drops this client's next event, it is told then, not
        // whenever it next reads.
        await wakeup.wait(heartbeatMs);
        continue;
      }
      const idleFor = performance.now() - lastWrite;
      if (idleFor >= heartbeatMs) {
        if (!sink.sendJson(line({ type: 'heartbeat', index: cursor }))) return;
        lastWrite = performance.now();
        continue;
      }
      await wakeup.wait(heartbeatMs - idleFor);
    }
  } finally {
    unsubscribe();
    sink.signal.removeEventListener('abort', onAbort);
  }
}
