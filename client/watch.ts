/**
 * The watch stream: NDJSON from GET /v1/watch, one event a line. When the connection drops (agent
 * restart, socket hiccup, the agent cutting off a reader that fell behind) the stream reconnects by
 * itself with the last index seen, so a consumer sees no gap: the agent either resumes right after
 * that index or sends a fresh snapshot marked `reset: true`, which the consumer rebuilds from.
 * Retries are bounded and back off; a run of failures without a single line in between gives up.
 */
import type http from 'node:http';
import { ClientError } from './error.js';
import { connectError, openRequest, timeoutError, type Transport } from './http.js';
import { errorMessage } from './decode.js';
import { decodeWatchLine, type WatchEvent } from './watch-decode.js';

export {
  decodeWatchLine,
  type WatchEnd, type WatchEvent, type WatchHeartbeat, type WatchMemberEvent, type WatchServiceEvent, type WatchSnapshot, type WatchSplitEvent,
} from './watch-decode.js';

export interface WatchOptions {
  /** Resume after this index (the `index` of the last line handled) instead of starting with a snapshot. */
  readonly index?: number;
  /** Ends the stream (the iterator just finishes) when aborted. */
  readonly signal?: AbortSignal;
  /** Consecutive failed connections tolerated before the error is thrown. Default 5. */
  readonly maxRetries?: number;
  /** Also give up once connections have been failing for this long. Default: no time bound. */
  readonly retryForMs?: number;
  /** First backoff delay; doubles per consecutive failure up to maxBackoffMs. Default 100 ms. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * A connection that delivers nothing for this long is taken for dead and replaced. The agent
   * writes a heartbeat every 10 s on an idle stream. Default 35 s.
   */
  readonly idleTimeoutMs?: number;
  /** Longest accepted line (a snapshot of a large cluster is one line). Default 64 MiB. */
  readonly maxLineBytes?: number;
}

const DEFAULTS = { maxRetries: 5, initialBackoffMs: 100, maxBackoffMs: 5_000, idleTimeoutMs: 35_000, maxLineBytes: 64 * 1024 * 1024 };

/** Failures worth a reconnect: the agent may be restarting. A 4xx or a garbled answer will not heal. */
function retryable(e: ClientError): boolean {
  if (e.code === 'http') return e.status !== undefined && e.status >= 500;
  return e.code === 'no_agent' || e.code === 'io' || e.code === 'timeout';
}

/** A function, not an inline test: TS would narrow `aborted` across awaits where it can change. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (isAborted(signal)) return resolve();
    const onAbort = (): void => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Connection {
  readonly request: http.ClientRequest;
  readonly response: http.IncomingMessage;
}

/** Opens one watch connection and waits for the status line; non-200 answers become errors. */
function connect(t: Transport, path: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const { request } = openRequest(t, { method: 'GET', path });
    const timer = setTimeout(() => {
      request.destroy();
      reject(timeoutError(t.socketPath, t.timeoutMs));
    }, t.timeoutMs);
    request.on('error', (e) => { clearTimeout(timer); reject(connectError(t.socketPath, e)); });
    request.on('response', (response) => {
      clearTimeout(timer);
      const status = response.statusCode ?? 0;
      if (status === 200) return resolve({ request, response });
      // An error answer is small; read a bounded amount of it for the message.
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (c: Buffer) => { size += c.length; if (size <= 64 * 1024) chunks.push(c); });
      response.on('error', (e) => reject(connectError(t.socketPath, e)));
      response.on('end', () => {
        let body: unknown = null;
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown; } catch { /* keep null */ }
        const msg = errorMessage(body) ?? `HTTP ${status}`;
        reject(new ClientError('http', msg, { status, body }));
      });
    });
    request.end();
  });
}

/**
 * Splits a byte stream into lines. Only new bytes are searched for a newline, so a snapshot line of
 * many megabytes arriving in small chunks costs linear time, and a line is bounded by `maxBytes`.
 */
async function* lines(response: AsyncIterable<Buffer>, maxBytes: number, onChunk: () => void): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    onChunk();
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      parts.push(chunk.subarray(start, nl));
      const line = Buffer.concat(parts).toString('utf8').trim();
      parts = [];
      size = 0;
      start = nl + 1;
      if (line !== '') yield line;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      size += chunk.length - start;
    }
    if (size > maxBytes) throw new ClientError('bad_response', `watch line longer than ${maxBytes} bytes`);
  }
}

/** An event with the line it was decoded from, for callers that pass the stream on verbatim. */
export interface WatchLine {
  readonly text: string;
  readonly event: WatchEvent;
}

export async function* watchEvents(t: Transport, opts: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  for await (const line of watchLines(t, opts)) yield line.event;
}

export async function* watchLines(t: Transport, opts: WatchOptions = {}): AsyncGenerator<WatchLine, void, undefined> {
  const maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
  const maxLine = opts.maxLineBytes ?? DEFAULTS.maxLineBytes;
  const idleMs = opts.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  const firstBackoff = opts.initialBackoffMs ?? DEFAULTS.initialBackoffMs;
  const signal = opts.signal;
  let lastIndex = opts.index;
  let failures = 0;
  let failingSince = 0;
  let backoff = firstBackoff;

  while (!isAborted(signal)) {
    const path = lastIndex === undefined ? '/v1/watch' : `/v1/watch?index=${lastIndex}`;
    let conn: Connection | undefined;
    let idle: NodeJS.Timeout | undefined;
    let idleExpired = false;
    const onAbort = (): void => { conn?.request.destroy(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    let failure: ClientError | undefined;
    try {
      conn = await connect(t, path);
      if (isAborted(signal)) return;
      const live = conn;
      const armIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => { idleExpired = true; live.request.destroy(); }, idleMs);
      };
      armIdle();
      for await (const text of lines(live.response as AsyncIterable<Buffer>, maxLine, armIdle)) {
        const line = decodeWatchLine(text);
        if (line === null) continue;
        if (line.type === 'error') {
          // The agent ends the stream after this line. Its index is the last event written, which is
          // ours already; not taking it means an error line can never make us skip anything.
          failure = new ClientError('io', `the agent ended the watch stream: ${line.error}`);
          continue;
        }
        lastIndex = line.index;
        failures = 0;
        backoff = firstBackoff;
        // The consumer's own pace is not the agent's silence.
        clearTimeout(idle);
        yield { text, event: line };
        armIdle();
      }
      failure ??= new ClientError('io', `the agent on ${t.socketPath} closed the watch stream`);
    } catch (e) {
      if (isAborted(signal)) return;
      failure = idleExpired
        ? new ClientError('timeout', `the watch stream on ${t.socketPath} was silent for ${idleMs} ms`)
        : e instanceof ClientError ? e : connectError(t.socketPath, e);
      if (!retryable(failure)) throw failure;
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
      conn?.request.destroy();
    }
    if (isAborted(signal)) return;
    if (failures === 0) failingSince = Date.now();
    failures++;
    const failingFor = Date.now() - failingSince;
    if (failures > maxRetries || (opts.retryForMs !== undefined && failingFor >= opts.retryForMs)) throw failure;
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? DEFAULTS.maxBackoffMs);
  }
}
