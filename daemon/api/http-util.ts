import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './router.js';

/** Small helpers shared by the API server and the route files. */

export function json(status: number, body: unknown): Reply {
  return { kind: 'json', status, body };
}

/** Every error the API returns has this shape: {"error": "..."}. */
export function apiError(status: number, message: string): Reply {
  return { kind: 'json', status, body: { error: message } };
}

export type BodyRead =
  | { readonly kind: 'ok'; readonly bytes: Buffer }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'aborted' };

/**
 * Reads the request body, stopping as soon as it passes `limit` bytes. A declared Content-Length
 * above the limit is refused before reading anything.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyRead): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish({ kind: 'ok', bytes: Buffer.concat(chunks) }));
    req.on('error', () => finish({ kind: 'aborted' }));
    req.on('close', () => finish({ kind: 'aborted' }));
  });
}

export type JsonParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

export function parseJsonBody(bytes: Buffer): JsonParse {
  if (bytes.length === 0) return { ok: false, error: 'request body is empty; expected JSON' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: 'request body is not valid UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: `malformed JSON: ${(e as Error).message}` };
  }
}

/** Writes a non-streaming reply. */
export function writeReply(res: ServerResponse, reply: Exclude<Reply, { kind: 'ndjson' }>): void {
  const [contentType, body] = reply.kind === 'json'
    ? ['application/json; charset=utf-8', JSON.stringify(reply.body) + '\n']
    : [reply.contentType, reply.body];
  res.statusCode = reply.status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

/** Object check for decoded JSON bodies: a plain object, not an array or null. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fields of a body object not in `known`; request bodies reject unknown fields so typos surface. */
export function unknownFields(body: Record<string, unknown>, known: readonly string[]): string[] {
  return Object.keys(body).filter((k) => !known.includes(k));
}

/** The 400 for the first query parameter not in `known`, or null when every one is known. */
export function unknownParams(q: URLSearchParams, known: readonly string[]): Reply | null {
  for (const k of q.keys()) {
    if (!known.includes(k)) {
      const expected = known.length === 0 ? 'this endpoint takes none' : `known: ${known.join(', ')}`;
      return apiError(400, `unknown query parameter ${JSON.stringify(k.slice(0, 40))}; ${expected}`);
    }
  }
  return null;
}
