import { apiError } from '../api/http-util.js';
import type { Reply, Route } from '../api/router.js';
import type { Logger } from '../log.js';
import type { EventLog } from './event-log.js';
import { runWatchStream } from './stream.js';

/**
 * GET /v1/watch[?index=N]: NDJSON, one line per change (protocol in README, "Watch stream").
 *
 * Without an index: a snapshot line, then events. With an index N this agent still holds the events
 * after: those events, then live ones — no snapshot, since the client already has the state up to
 * N. With any other N (older than the log, ahead of it, from an earlier lifetime of the agent): a
 * snapshot marked `"reset": true`, then events. Never a silent gap.
 */

export function watchRoutes(log: EventLog, logger?: Logger): Route[] {
  return [{ method: 'GET', pattern: '/v1/watch', body: 'none', query: ['index'], handle: (ctx) => watch(log, ctx.query, logger) }];
}

const INDEX = /^\d{1,16}$/;

function watch(log: EventLog, query: URLSearchParams, logger: Logger | undefined): Reply {
  const raw = query.get('index');
  let after: number | undefined;
  if (raw !== null) {
    const n = Number(raw);
    if (!INDEX.test(raw) || !Number.isSafeInteger(n)) {
      return apiError(400, `index: expected the index of the last line received (a non-negative integer), got ${JSON.stringify(raw)}`);
    }
    after = n;
  }
  if (log.streams >= log.streamsMax) {
    return apiError(503, `too many watch streams (at most ${log.streamsMax}); try again later`);
  }
  return {
    kind: 'ndjson',
    run: (sink) => runWatchStream(log, sink, logger === undefined ? { after } : { after, log: logger }),
  };
}
