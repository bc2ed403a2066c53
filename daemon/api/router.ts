/**
 * Route table of the local API. A route is a method, a path pattern ("/v1/services/:id"), what it
 * expects as a body, and a handler returning a Reply. Route files (routes-*.ts) export arrays of
 * routes; daemon/routes.ts concatenates them with the watch route. The router only matches; server.ts
 * does the HTTP.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE'];

export interface RequestContext {
  readonly method: Method;
  readonly path: string;
  /** Values of the pattern's ":name" segments, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body (untrusted) for routes with body 'json' or a non-empty 'optional-json'; undefined otherwise. */
  readonly body: unknown;
  /** Aborted when the client goes away; long-running handlers and streams stop on it. */
  readonly signal: AbortSignal;
}

/** Where a streaming handler writes; one JSON value per line (NDJSON). */
export interface StreamSink {
  /**
   * Queues one value. Returns false once the stream is closed — the client left, or it fell more
   * than DAEMON_LIMITS.apiStreamBufferBytesMax behind and was cut off. Never blocks.
   */
  send(value: unknown): boolean;
  /** As send, for a value already serialized as one line of JSON (no newline), e.g. shared by many streams. */
  sendJson(text: string): boolean;
  /** Bytes queued on this response that the client has not taken yet. */
  readonly buffered: number;
  /** Resolves once the queue has drained or the stream has closed. */
  drained(): Promise<void>;
  readonly signal: AbortSignal;
}

export type Reply =
  /** `afterSent` runs once the response has been written (e.g. leave: answer first, then exit). */
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly afterSent?: () => void }
  | { readonly kind: 'text'; readonly status: number; readonly contentType: string; readonly body: string }
  /** 200 with Content-Type application/x-ndjson; the response ends when `run` settles. */
  | { readonly kind: 'ndjson'; readonly run: (sink: StreamSink) => Promise<void> };

export interface Route {
  readonly method: Method;
  readonly pattern: string;
  /**
   * 'json': the body must be one JSON value; 'optional-json': likewise, but an empty body is allowed
   * (ctx.body is then undefined); 'none': any body is read (within the cap) and ignored.
   */
  readonly body: 'none' | 'json' | 'optional-json';
  /**
   * The query parameters the route takes. The server refuses any other with a 400 before the
   * handler runs, so that a misspelt filter never silently lists everything. Omitted: none.
   */
  readonly query?: readonly string[];
  readonly handle: (ctx: RequestContext) => Reply | Promise<Reply>;
}

export type Match =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly Method[] }
  | { readonly kind: 'bad-path'; readonly reason: string };

interface Compiled {
  readonly route: Route;
  readonly segments: readonly string[];
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: split(route.pattern) }));
    const seen = new Set<string>();
    for (const c of this.compiled) {
      const key = `${c.route.method} ${c.segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/')}`;
      if (seen.has(key)) throw new Error(`duplicate route ${c.route.method} ${c.route.pattern}`);
      seen.add(key);
    }
  }

  match(method: string, path: string): Match {
    const segments = split(path);
    const allow: Method[] = [];
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, segments);
      if (params === null) continue;
      if (params === undefined) return { kind: 'bad-path', reason: 'malformed percent-encoding in path' };
      if (c.route.method === method) return { kind: 'found', route: c.route, params };
      if (!allow.includes(c.route.method)) allow.push(c.route.method);
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }
}

/** A trailing slash is not significant: "/v1/members/" is "/v1/members". */
function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** null: no match; undefined: matched but a parameter was badly encoded. */
function matchSegments(pattern: readonly string[], path: readonly string[]): Record<string, string> | null | undefined {
  if (pattern.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const s = path[i] as string;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}
