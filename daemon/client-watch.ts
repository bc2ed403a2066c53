/**
 * The watch stream: NDJSON from GET /v1/watch, one event a line. When the connection drops (agent
 * restart, socket hiccup) the stream reconnects by itself with the last index seen, so a consumer sees
 * no gap: the agent either resumes from that index or sends a fresh snapshot marked as a reset.
 * Retries are bounded and back off; a run of failures without a single event in between gives up.
 */
import type http from 'node:http';
import { ClientError } from './client-error.js';
import { connectError, openRequest, timeoutError, type Transport } from './client-http.js';
import { asObject, errorMessage, int, parseJson, str } from './client-decode.js';

export interface WatchEvent {
  /** "snapshot", "reset", or the kind of change; the agent may add kinds, so it is not narrowed here. */
  readonly type: string;
  /** Position in the agent's change log; resume point after a reconnect. */
  readonly index: number;
  readonly [field: string]: unknown;
}

export interface WatchOptions {
  /** Resume after this index instead of starting with a snapshot. */
  readonly index?: number;
  /** Ends the stream (the iterator just finishes) when aborted. */
  readonly signal?: AbortSignal;
  /** Consecutive failed connections tolerated before the error is thrown. Default 5. */
  readonly maxRetries?: number;
  /** First backoff delay; doubles per consecutive failure up to maxBackoffMs. Default 100 ms. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Longest accepted line; a longer one is a bad_response rather than an unbounded buffer. */
  readonly maxLineBytes?: number;
}

const DEFAULTS = { maxRetries: 5, initialBackoffMs: 100, maxBackoffMs: 5_000, maxLineBytes: 4 * 1024 * 1024 };

export function decodeWatchEvent(line: string): WatchEvent {
  const o = asObject(parseJson(line, 'watch event'), 'watch event');
  return { ...o, type: str(o, 'type', 'watch event'), index: int(o, 'index', 'watch event') };
}

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

/** Opens one watch connection and waits for the status line; non-200 answers become errors. */
function connect(t: Transport, path: string): Promise<{ request: http.ClientRequest; response: http.IncomingMessage }> {
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

export async function* watchEvents(t: Transport, opts: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  const maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
  const maxLine = opts.maxLineBytes ?? DEFAULTS.maxLineBytes;
  const signal = opts.signal;
  let lastIndex = opts.index;
  let failures = 0;
  let backoff = opts.initialBackoffMs ?? DEFAULTS.initialBackoffMs;

  while (!isAborted(signal)) {
    const path = lastIndex === undefined ? '/v1/watch' : `/v1/watch?index=${lastIndex}`;
    let conn: { request: http.ClientRequest; response: http.IncomingMessage } | undefined;
    const onAbort = (): void => { conn?.request.destroy(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    let failure: ClientError | undefined;
    try {
      conn = await connect(t, path);
      if (isAborted(signal)) return;
      let pending = '';
      for await (const chunk of conn.response as AsyncIterable<Buffer>) {
        pending += chunk.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line === '') continue;
          const event = decodeWatchEvent(line);
          lastIndex = event.index;
          failures = 0;
          backoff = opts.initialBackoffMs ?? DEFAULTS.initialBackoffMs;
          yield event;
        }
        if (Buffer.byteLength(pending, 'utf8') > maxLine) {
          throw new ClientError('bad_response', `watch line longer than ${maxLine} bytes`);
        }
      }
      // The agent closed the stream (shutdown or restart): reconnect and resume.
      failure = new ClientError('io', `the agent on ${t.socketPath} closed the watch stream`);
    } catch (e) {
      if (isAborted(signal)) return;
      failure = e instanceof ClientError ? e : connectError(t.socketPath, e);
      if (!retryable(failure)) throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      conn?.request.destroy();
    }
    failures++;
    if (failures > maxRetries) throw failure;
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? DEFAULTS.maxBackoffMs);
  }
}
