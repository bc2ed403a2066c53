/**
 * HTTP/1.1 over the agent's Unix socket: one request, one bounded answer, every failure mapped to a
 * ClientError. Nothing here knows the routes; client.ts does.
 */
import http from 'node:http';
import { ClientError, noAgentError } from './error.js';

export interface Transport {
  readonly socketPath: string;
  readonly timeoutMs: number;
  /** Largest answer body accepted; a larger one is a bad_response, not an unbounded buffer. */
  readonly maxResponseBytes: number;
}

export interface RawRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  /** Overrides the transport timeout, e.g. for a `?wait=` barrier that may legitimately take long. */
  readonly timeoutMs?: number;
}

export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Socket errors that mean "nobody is listening there", as opposed to a failure mid-conversation. */
const NO_AGENT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

/**
 * The agent closed the connection before answering: it refuses connections beyond its limits this
 * way (when it cannot even answer 503), and closes them when it shuts down.
 */
const CLOSED_UNANSWERED_CODES = new Set(['EPIPE', 'ECONNRESET']);

export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Maps a socket-level error of a request that had not got an answer yet. */
export function connectError(socketPath: string, e: unknown): ClientError {
  if (e instanceof ClientError) return e;
  const code = errnoCode(e);
  if (code !== undefined && NO_AGENT_CODES.has(code)) return noAgentError(socketPath, e);
  if (code !== undefined && CLOSED_UNANSWERED_CODES.has(code)) {
    return new ClientError('io', `the agent on ${socketPath} closed the connection without answering: it is busy ` +
      '(too many connections on its socket) or shutting down; try again', { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ClientError('io', `permission denied on ${socketPath}`, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ClientError('io', `talking to the agent on ${socketPath} failed: ${msg}`, { cause: e });
}

export function timeoutError(socketPath: string, ms: number): ClientError {
  return new ClientError('timeout', `the agent on ${socketPath} did not answer within ${ms} ms`);
}

/** Starts a request and hands back the live request object; used by both one-shot and streaming calls. */
export function openRequest(t: Transport, req: RawRequest): { request: http.ClientRequest; payload: Buffer | null } {
  const payload = req.body === undefined ? null : Buffer.from(JSON.stringify(req.body), 'utf8');
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload !== null) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  const request = http.request({
    socketPath: t.socketPath,
    path: req.path,
    method: req.method,
    headers,
    // A fresh connection per call: the CLI makes one or two calls, and keep-alive would hold the process open.
    agent: false,
  });
  return { request, payload };
}

export function send(t: Transport, req: RawRequest): Promise<RawResponse> {
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  return new Promise<RawResponse>((resolve, reject) => {
    const { request, payload } = openRequest(t, req);
    let answered = false;
    let settled = false;
    const finish = (err: ClientError | null, res?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== null) {
        request.destroy();
        reject(err);
      } else if (res !== undefined) {
        resolve(res);
      }
    };
    const timer = setTimeout(() => finish(timeoutError(t.socketPath, timeoutMs)), timeoutMs);

    request.on('error', (e) => {
      if (!answered) return finish(connectError(t.socketPath, e));
      const msg = e instanceof Error ? e.message : String(e);
      finish(new ClientError('io', `the connection to ${t.socketPath} broke mid-answer: ${msg}`, { cause: e }));
    });
    request.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > t.maxResponseBytes) {
          finish(new ClientError('bad_response', `answer larger than ${t.maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (e) => finish(connectError(t.socketPath, e)));
      res.on('aborted', () => finish(new ClientError('io', `the agent on ${t.socketPath} closed the connection mid-answer`)));
      res.on('end', () => {
        finish(null, {
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.end(payload ?? undefined);
  });
}
