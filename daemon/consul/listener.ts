import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Address } from '../../protocol/address.js';
import type { SplitPercentages } from '../../client/contract/effective-weight.js';
import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { AgentEvents } from '../events.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { Exposition } from '../metrics.js';
import { IndexBook, type WakeReason } from './blocking.js';
import { IndexReservation } from './index-store.js';
import { checkParams, type ConsulView, FilterError, matchEndpoint, type Prepared, QueryError } from './routes.js';

/**
 * The Consul-compatible read API on TCP (`http_addr`). Read-only: every other method gets 405 with
 * `Allow: GET`; writes stay on the agent's Unix socket. Answers carry Consul's headers
 * (X-Consul-Index > 0 always, X-Consul-KnownLeader: true, X-Consul-LastContact: 0); errors are
 * text/plain like Consul's. Blocking queries are held here (blocking.ts) up to
 * consulBlockingQueriesMax at once — past it 429 — and end when the client goes or the agent stops.
 */

export interface ConsulSource {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly version: string;
  self(): MemberView;
  members(): readonly MemberView[];
  services(): readonly ServiceView[];
  /** A service's traffic split; absent until the agent holds splits. */
  split?(service: string): SplitPercentages | undefined;
}

export interface ConsulServerOptions {
  readonly addr: Address;
  readonly source: ConsulSource;
  readonly events: AgentEvents;
  readonly dataDir: string;
  readonly log: Logger;
  /** Overrides for tests; DAEMON_LIMITS otherwise. */
  readonly blockingQueriesMax?: number;
  readonly clock?: () => number;
}

export const TOO_MANY_MESSAGE = 'too many blocking queries on this agent';

export class ConsulServer {
  private readonly sockets = new Set<Socket>();
  private closed = false;
  private readonly renderCache = new Map<string, string>();
  /** Answers by endpoint pattern (or "unmatched") and status: labels from closed sets only. */
  private readonly answers = new Map<string, number>();
  /** Blocking queries answered 429 (for tests and the log). */
  refused = 0;

  private constructor(
    private readonly server: Server,
    private readonly book: IndexBook,
    private readonly reservation: IndexReservation,
    private readonly unsubscribe: () => void,
    private readonly opts: ConsulServerOptions,
  ) {}

  static async start(opts: ConsulServerOptions): Promise<ConsulServer> {
    const reservation = await IndexReservation.open(opts.dataDir, (opts.clock ?? Date.now)(), DAEMON_LIMITS.consulIndexHeadroom, opts.log);
    const book = new IndexBook({
      start: reservation.start,
      waitersMax: opts.blockingQueriesMax ?? DAEMON_LIMITS.consulBlockingQueriesMax,
      onIndex: (i) => reservation.note(i),
    });
    const unsubscribe = opts.events.subscribe((e) => book.apply(e, () => opts.source.services()));
    if (unsubscribe === null) throw new Error('no event subscription left for the Consul API');
    const server = createServer({
      requestTimeout: DAEMON_LIMITS.consulRequestTimeoutMs,
      headersTimeout: DAEMON_LIMITS.consulHeadersTimeoutMs,
      keepAliveTimeout: DAEMON_LIMITS.consulKeepAliveTimeoutMs,
      maxHeaderSize: DAEMON_LIMITS.consulHeaderBytesMax,
      connectionsCheckingInterval: DAEMON_LIMITS.apiTimeoutCheckMs,
    });
    server.maxConnections = DAEMON_LIMITS.consulConnectionsMax;
    const self = new ConsulServer(server, book, reservation, unsubscribe, opts);
    server.on('connection', (s: Socket) => {
      self.sockets.add(s);
      s.on('close', () => self.sockets.delete(s));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => self.handle(req, res));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const [status, message] = err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', `request headers larger than ${DAEMON_LIMITS.consulHeaderBytesMax} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', 'request not complete in time'] : ['400 Bad Request', 'malformed HTTP request'];
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
      } else {
        socket.destroy();
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // A deep accept queue: Prometheus and friends open a burst of long polls at start.
        server.listen({ host: opts.addr.host, port: opts.addr.port, backlog: 2048 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      unsubscribe();
      await reservation.close();
      throw new Error(`cannot listen for the Consul API on ${opts.addr.host}:${opts.addr.port}: ${(e as Error).message}`);
    }
    return self;
  }

  /** The bound address (the port chosen when 0 was asked). */
  get address(): Address {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return this.opts.addr;
    return { host: a.address, port: a.port };
  }

  get blockingQueries(): number {
    return this.book.waiting;
  }

  /** The API's counters in the Prometheus text format, appended to GET /v1/metrics. */
  metricsText(): string {
    const out = new Exposition();
    out.family('swimd_consul_requests_total', 'counter', 'Answers of the Consul-compatible API, by endpoint pattern and HTTP status.');
    for (const [key, n] of this.answers) {
      const [endpoint, code] = key.split('\u0000') as [string, string];
      out.sample('swimd_consul_requests_total', { endpoint, code }, n);
    }
    out.single('swimd_consul_blocking_queries', 'gauge', 'Blocking queries held now.', this.book.waiting);
    out.single('swimd_consul_blocking_queries_max', 'gauge', 'Blocking queries held at most (past it: 429).', this.book.waitersMax);
    out.single('swimd_consul_blocking_refused_total', 'counter', 'Blocking queries refused with 429 at the cap.', this.refused);
    out.single('swimd_consul_index', 'gauge', 'The newest Consul index handed out.', this.book.current);
    return out.text();
  }

  /** Answers every held query with the current view, then closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.book.close();
    // The answers just queued get a moment to be written before the sockets are cut.
    await new Promise((r) => setImmediate(r));
    for (const s of this.sockets) s.destroySoon();
    const cut = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 1000);
    await done;
    clearTimeout(cut);
    await this.reservation.close();
  }

  private view(): ConsulView {
    const src = this.opts.source;
    return {
      datacenter: src.datacenter, nodeName: src.nodeName, version: src.version,
      self: () => src.self(), members: () => src.members(), services: () => src.services(), split: (n) => src.split?.(n),
      indexOf: (k) => this.book.indexOf(k),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // A GET needs no body: one is read and dropped, within a bound.
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
      if (bodyBytes > DAEMON_LIMITS.consulBodyBytesMax) req.socket.destroy();
    });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return this.error(res, 400, 'malformed request target');
    }
    const match = matchEndpoint(url.pathname);
    const label = match === null || match === 'bad-encoding' ? 'unmatched' : `/${match.endpoint.pattern.join('/')}`;
    res.once('finish', () => {
      const key = `${label}\u0000${res.statusCode}`;
      this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    });
    if (match === 'bad-encoding') return this.error(res, 400, 'malformed percent-encoding in path');
    if (match === null && req.method !== 'GET' && req.method !== 'HEAD' && isConsulWrite(url.pathname)) {
      res.setHeader('Allow', '');
      res.setHeader('Connection', 'close');
      return this.error(res, 405, `${url.pathname.slice(0, 200)} changes the catalog: the Consul API of swimd is read-only; register through the agent's socket (swimd register)`);
    }
    if (match === null) return this.error(res, 404, `no such endpoint: ${url.pathname.slice(0, 200)} (this agent serves Consul's read API only)`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Connection', 'close');
      return this.error(res, 405, `method ${req.method ?? ''} not allowed: the Consul API of swimd is read-only; register through the agent's socket (swimd register)`);
    }
    let prepared: Prepared;
    try {
      checkParams(url.searchParams, match.endpoint.params);
      prepared = match.endpoint.prepare(this.view(), match.params, url.searchParams);
    } catch (e) {
      if (e instanceof QueryError || e instanceof FilterError) return this.error(res, 400, e.message);
      throw e;
    }
    const { index, waitMs } = prepared.query.blocking;
    const current = this.book.indexOf(prepared.key);
    // Consul answers at once when the client has no index, when the data moved past it, and when
    // the client's index is ahead of ours (a reset: the client takes what it is given).
    if (!prepared.blocking || index === 0 || current !== index || this.closed) return this.answer(res, prepared);
    this.block(res, prepared, waitMs);
  }

  private block(res: ServerResponse, prepared: Prepared, waitMs: number): void {
    let timer: NodeJS.Timeout | undefined;
    let release: (() => void) | null = null;
    const finish = (reason: WakeReason): void => {
      clearTimeout(timer);
      release?.();
      release = null;
      if (reason === 'gone') return;
      if (reason === 'shutdown') res.setHeader('Connection', 'close');
      this.answer(res, prepared);
    };
    let done = false;
    const once = (reason: WakeReason): void => {
      if (done) return;
      done = true;
      // Woken inside the driver's event delivery: answer on a later tick.
      if (reason === 'changed') setImmediate(() => finish(reason));
      else finish(reason);
    };
    release = this.book.hold(prepared.key, once);
    if (release === null) {
      this.refused++;
      res.setHeader('Retry-After', '1');
      return this.error(res, 429, `${TOO_MANY_MESSAGE} (${this.book.waitersMax} held); retry shortly or use fewer watches`);
    }
    // Consul adds up to wait/16 of random jitter so that many watchers do not return together.
    const jitter = Math.floor(Math.random() * (waitMs / 16));
    timer = setTimeout(() => once('timeout'), waitMs + jitter);
    // 'close' on the response also fires when the connection drops before the answer; nothing is
    // added to the socket itself, which a keep-alive client reuses for poll after poll.
    res.on('close', () => once('gone'));
  }

  private headers(res: ServerResponse, index: number): void {
    res.setHeader('X-Consul-Index', String(index));
    res.setHeader('X-Consul-KnownLeader', 'true');
    res.setHeader('X-Consul-LastContact', '0');
    res.setHeader('X-Consul-Effective-Consistency', 'leader');
  }

  private answer(res: ServerResponse, prepared: Prepared): void {
    if (res.destroyed || res.headersSent) return;
    let body: string;
    try {
      body = this.rendered(res.req.url ?? '', prepared);
    } catch (err) {
      this.opts.log.error('consul api render failed', { err });
      return this.error(res, 500, 'internal error');
    }
    this.headers(res, this.book.indexOf(prepared.key));
    if (prepared.query.consistency === 'stale') res.setHeader('X-Consul-Effective-Consistency', 'stale');
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  /**
   * The answer's JSON. Watchers woken by one change answer within the same tick, and most ask
   * the same thing (Prometheus's poll of a service from every server): identical requests share
   * one rendering, forgotten at the end of the tick, so the view never goes stale.
   */
  private rendered(url: string, prepared: Prepared): string {
    const key = `${url}\u0000${this.book.indexOf(prepared.key)}`;
    const hit = this.renderCache.get(key);
    if (hit !== undefined) return hit;
    const body = JSON.stringify(prepared.render());
    if (this.renderCache.size === 0) setImmediate(() => this.renderCache.clear());
    this.renderCache.set(key, body);
    return body;
  }

  private error(res: ServerResponse, status: number, message: string): void {
    if (res.destroyed || res.headersSent) return;
    this.headers(res, this.book.current);
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(message));
    res.end(message);
  }
}

/** Consul's write endpoints: answered 405 (writes go through the Unix socket), not 404. */
const WRITE_PATHS = [
  /^\/v1\/agent\/service\/(register|deregister|maintenance)(\/|$)/, /^\/v1\/agent\/check\//, /^\/v1\/agent\/(maintenance|join|leave|force-leave|reload)(\/|$)/,
  /^\/v1\/catalog\/(register|deregister)\/?$/, /^\/v1\/kv(\/|$)/, /^\/v1\/session\//, /^\/v1\/txn\/?$/, /^\/v1\/event\/fire\//,
];

function isConsulWrite(path: string): boolean {
  return WRITE_PATHS.some((re) => re.test(path));
}
