import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { apiError, parseJsonBody, readBody, unknownParams, writeReply } from './http-util.js';
import { METHODS, type Method, type Reply, type Route, Router, type StreamSink } from './router.js';
import { claimSocketPath, listenOnSocket, removeSocketFile, type SocketIdentity } from './socket-file.js';

/**
 * HTTP/1.1 on the local Unix socket. Owns the transport concerns — limits, timeouts, body
 * parsing, error shapes, metrics — so that route handlers only see validated requests.
 */

/** The answer to a request on a connection beyond apiConnectionsMax. */
export const BUSY_MESSAGE = 'the agent is busy: too many connections on its socket; try again';

export interface ApiServerOptions {
  readonly socketPath: string;
  readonly routes: readonly Route[];
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class ApiServer {
  private readonly sockets = new Set<Socket>();
  /** Connections beyond apiConnectionsMax: their request is answered 503 and they are closed. */
  private readonly busy = new Set<Socket>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly opts: ApiServerOptions,
    private identity: SocketIdentity | null = null,
  ) {}

  /** Claims the socket path (refusing if another agent answers there) and listens. */
  static async start(opts: ApiServerOptions): Promise<ApiServer> {
    const router = new Router(opts.routes);
    const server = createServer({
      requestTimeout: DAEMON_LIMITS.apiRequestTimeoutMs,
      headersTimeout: DAEMON_LIMITS.apiHeadersTimeoutMs,
      keepAliveTimeout: DAEMON_LIMITS.apiKeepAliveTimeoutMs,
      maxHeaderSize: DAEMON_LIMITS.apiHeaderBytesMax,
      connectionsCheckingInterval: DAEMON_LIMITS.apiTimeoutCheckMs,
    });
    // Beyond this Node closes a connection unread; the client can then only say that it was closed.
    server.maxConnections = DAEMON_LIMITS.apiConnectionsMax + DAEMON_LIMITS.apiBusyAnswersMax;
    const api = new ApiServer(server, opts);
    server.on('connection', (s: Socket) => {
      if (api.sockets.size - api.busy.size >= DAEMON_LIMITS.apiConnectionsMax) {
        api.busy.add(s);
        // A busy connection that does not send its request at once must not hold the extra room.
        const cut = setTimeout(() => s.destroy(), DAEMON_LIMITS.apiBusyAnswerMs);
        s.on('close', () => {
          clearTimeout(cut);
          api.busy.delete(s);
        });
      }
      api.sockets.add(s);
      s.on('close', () => api.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void api.handle(router, req, res);
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const [status, message] = err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', `request headers larger than ${DAEMON_LIMITS.apiHeaderBytesMax} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', 'request not complete in time']
          : ['400 Bad Request', 'malformed HTTP request'];
      // The same {"error"} body as every other error answer, so a client reads every one alike.
      const body = JSON.stringify({ error: message }) + '\n';
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      } else {
        socket.destroy();
      }
      opts.log.debug('api client error', { err });
    });
    await claimSocketPath(opts.socketPath);
    api.identity = await listenOnSocket(server, opts.socketPath);
    return api;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /** Stops accepting, cuts open connections (watch streams included), removes our socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await done;
    if (this.identity !== null) await removeSocketFile(this.opts.socketPath, this.identity);
  }

  private async handle(router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let label = 'unmatched';
    const finish = (reply: Reply): void => this.reply(req, res, label, reply);
    if (this.busy.has(req.socket)) {
      res.setHeader('Connection', 'close');
      return this.reply(req, res, 'busy', apiError(503, BUSY_MESSAGE));
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return finish(apiError(400, 'malformed request target'));
    }
    const method = (METHODS as readonly string[]).includes(req.method ?? '') ? (req.method as Method) : null;
    const match = router.match(method ?? '', url.pathname);
    if (match.kind === 'bad-path') return finish(apiError(400, match.reason));
    if (match.kind === 'not-found') return finish(apiError(404, `no such endpoint: ${req.method ?? ''} ${url.pathname}`));
    if (match.kind === 'method-not-allowed' || method === null) {
      const allow = match.kind === 'method-not-allowed' ? match.allow : [];
      res.setHeader('Allow', allow.join(', '));
      return finish(apiError(405, `method ${req.method ?? ''} not allowed on ${url.pathname}; allowed: ${allow.join(', ')}`));
    }
    const { route, params } = match;
    label = `${route.method} ${route.pattern}`;

    const read = await readBody(req, DAEMON_LIMITS.apiBodyBytesMax);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      // The rest of the body is not read; the connection cannot be reused.
      res.setHeader('Connection', 'close');
      return finish(apiError(413, `request body larger than ${DAEMON_LIMITS.apiBodyBytesMax} bytes`));
    }
    const badQuery = unknownParams(url.searchParams, route.query ?? []);
    if (badQuery !== null) return finish(badQuery);
    let body: unknown;
    if (route.body === 'json' || (route.body === 'optional-json' && read.bytes.length > 0)) {
      const parsed = parseJsonBody(read.bytes);
      if (!parsed.ok) return finish(apiError(400, parsed.error));
      body = parsed.value;
    }

    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let reply: Reply;
    try {
      reply = await route.handle({ method, path: url.pathname, params, query: url.searchParams, body, signal: abort.signal });
    } catch (err) {
      this.opts.log.error('api handler failed', { route: label, err });
      reply = apiError(500, 'internal error');
    }
    finish(reply);
  }

  private reply(req: IncomingMessage, res: ServerResponse, label: string, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    if (reply.kind === 'ndjson') {
      this.opts.metrics.apiRequest(label, 200);
      void this.stream(res, reply.run);
      return;
    }
    this.opts.metrics.apiRequest(label, reply.status);
    if (res.getHeader('Connection') === 'close') {
      res.on('finish', () => req.socket.destroySoon());
    }
    if (reply.kind === 'json' && reply.afterSent !== undefined) {
      const after = reply.afterSent;
      res.on('finish', () => setImmediate(after));
    }
    writeReply(res, reply);
  }

  private async stream(res: ServerResponse, run: (sink: StreamSink) => Promise<void>): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    const write = (line: string): boolean => {
      if (res.destroyed || res.writableEnded) return false;
      // A backstop: stream handlers pace themselves on `buffered`, so only a handler that does not reaches this.
      if (res.writableLength > DAEMON_LIMITS.apiStreamBufferBytesMax) {
        this.opts.log.warn('stream client too slow; closing its stream', { buffered: res.writableLength });
        res.destroy();
        return false;
      }
      res.write(line + '\n');
      return true;
    };
    const sink: StreamSink = {
      signal: abort.signal,
      send: (value: unknown): boolean => write(JSON.stringify(value)),
      sendJson: write,
      get buffered(): number {
        return res.writableLength;
      },
      drained: () => new Promise<void>((resolve) => {
        if (res.destroyed || res.writableLength === 0) return resolve();
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    };
    try {
      await run(sink);
      if (!res.destroyed) {
        res.end();
        // A client that stopped reading would otherwise hold the connection and its buffer forever.
        const timer = setTimeout(() => res.destroy(), DAEMON_LIMITS.apiStreamEndGraceMs);
        res.once('close', () => clearTimeout(timer));
      }
    } catch (err) {
      this.opts.log.error('api stream failed', { err });
      res.destroy();
    }
  }
}
