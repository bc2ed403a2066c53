/**
 * A small reverse proxy that learns its backends from the local agent's watch stream, as a sidecar
 * or edge proxy on a swimd host would. Routing rules (see backends.ts): new requests go only to
 * instances that are passing and not draining, by weight; a request already sent to an instance
 * that then drains or disappears is left to finish. There are no retries, on purpose: the drill
 * measures what discovery alone does, and a retry would hide a request sent to a dead instance.
 *
 * Requests are spread by each instance's effective weight (the service's split, if it has one).
 * Optional sticky mode (version pinning): a client carrying the `swimd_version` cookie stays on that
 * version while the version has a share and an instance of it may take requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client } from '../../client/index.js';
import { type Backend, type BackendChange, BackendTable, chooseBackend, eligible } from './backends.js';
import type { DrillProxy } from './drill-proxy.js';

export interface ProxyOptions {
  /** The local agent's socket. */
  readonly socketPath: string;
  /** The service routed to. */
  readonly service: string;
  readonly host: string;
  /** 0: any free port. */
  readonly port?: number;
  readonly sticky?: boolean;
  /** [0, 1); replaced in tests. */
  readonly random?: () => number;
  /** A backend that has not answered within this is given up on (502). */
  readonly upstreamTimeoutMs?: number;
}

/** A split line as the proxy applied it, with the time it did (performance.now()). */
export interface ProxySplitChange {
  readonly at: number;
  readonly weights: Readonly<Record<string, number>> | null;
}

/** One change of the view as the proxy applied it, with the time it did (performance.now()). */
export interface ProxyViewChange extends BackendChange {
  readonly at: number;
}

export interface ProxyStats {
  readonly routed: Readonly<Record<string, number>>;
  /** Answered 503: no instance could take the request. */
  readonly noBackend: number;
  /** Answered 502 or cut off: the chosen instance failed. */
  readonly upstreamErrors: number;
  readonly watchErrors: readonly string[];
}

export const STICKY_COOKIE = 'swimd_version';
/** Idle sockets to a backend are closed by the proxy after this; the app keeps them longer. */
const IDLE_SOCKET_MS = 30_000;
/** The load generator's idle timeout is shorter than this, for the same reason. */
const SERVER_KEEP_ALIVE_MS = 65_000;
const MAX_SOCKETS_PER_BACKEND = 256;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function forwardable(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export class DeployProxy implements DrillProxy {
  readonly kind = 'builtin';
  /** The version cookie only chooses among instances that take new requests. */
  readonly pinsThroughDrain = false;
  private readonly table: BackendTable;
  private readonly inflight = new Map<string, number>();
  private readonly agents = new Map<string, http.Agent>();
  private readonly routed = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly changes: ProxyViewChange[] = [];
  private readonly splitLines: ProxySplitChange[] = [];
  private readonly watchErrors: string[] = [];
  private noBackend = 0;
  private upstreamErrors = 0;
  private watching: Promise<void> = Promise.resolve();

  private constructor(private readonly o: ProxyOptions, private readonly server: http.Server, readonly port: number) {
    this.table = new BackendTable(o.service);
  }

  /** Listens, and resolves once the first snapshot from the agent has been applied. */
  static async start(o: ProxyOptions): Promise<DeployProxy> {
    const server = http.createServer();
    server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
    server.headersTimeout = SERVER_KEEP_ALIVE_MS + 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host, () => { server.off('error', reject); resolve(); });
    });
    const proxy = new DeployProxy(o, server, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => proxy.handle(req, res));
    try {
      await proxy.follow();
    } catch (e) {
      await proxy.close();
      throw e;
    }
    return proxy;
  }

  get url(): string {
    return `http://${this.o.host}:${this.port}/`;
  }

  backend(key: string): Backend | undefined {
    return this.table.get(key);
  }

  /** Instances the proxy would send a new request to right now. */
  eligibleBackends(): Backend[] {
    return this.table.eligible();
  }

  inFlight(key: string): number {
    return this.inflight.get(key) ?? 0;
  }

  viewChanges(): readonly ProxyViewChange[] {
    return this.changes;
  }

  /** The service's split lines, as applied. */
  splitChanges(): readonly ProxySplitChange[] {
    return this.splitLines;
  }

  stats(): ProxyStats {
    return {
      routed: Object.fromEntries(this.routed), noBackend: this.noBackend, upstreamErrors: this.upstreamErrors, watchErrors: [...this.watchErrors],
    };
  }

  /**
   * Resolves once `cond` holds, re-tested after every view change and every finished request;
   * rejects after `timeoutMs`.
   */
  until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`proxy: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.watching.catch(() => undefined);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  /** Starts consuming the watch stream; resolves after the first snapshot. */
  private follow(): Promise<void> {
    const client = new Client({ socketPath: this.o.socketPath });
    return new Promise((resolve, reject) => {
      let ready = false;
      this.watching = (async () => {
        try {
          for await (const e of client.watch({ signal: this.abort.signal, maxRetries: 50, maxBackoffMs: 500 })) {
            const at = performance.now();
            if (e.type === 'split' && e.service === this.o.service) this.splitLines.push({ at, weights: e.split?.weights ?? null });
            for (const c of this.table.apply(e)) {
              this.changes.push({ ...c, at });
              this.retireIfIdle(c.key);
            }
            if (e.type === 'snapshot' && !ready) { ready = true; resolve(); }
            this.notify();
          }
        } catch (e) {
          // The proxy keeps routing on its last view, as a real one would; the drill reports this.
          this.watchErrors.push(e instanceof Error ? e.message : String(e));
          if (!ready) reject(e instanceof Error ? e : new Error(String(e)));
        }
      })();
    });
  }

  waitRoutable(key: string, timeoutMs: number): Promise<void> {
    return this.until(`${key} routable`, () => this.eligibleBackends().some((b) => b.key === key), timeoutMs);
  }

  waitIdle(key: string, timeoutMs: number): Promise<void> {
    return this.until(`no requests in flight to ${key}`, () => {
      const b = this.backend(key);
      return (b === undefined || b.draining) && this.inFlight(key) === 0;
    }, timeoutMs);
  }

  firstRoutableAt(key: string): number | null {
    return this.changes.find((c) => c.key === key && eligible(c.backend))?.at ?? null;
  }

  firstDrainingAt(key: string): number | null {
    return this.changes.find((c) => c.key === key && c.backend.draining)?.at ?? null;
  }

  problems(): string[] {
    return this.watchErrors.map((e) => `watch stream: ${e}`);
  }

  /** A split line reweights without a backend change; either one changes the routing. */
  firstRoutingChangeAfter(at: number): number | null {
    const times = [this.changes.find((c) => c.at >= at)?.at, this.splitLines.find((c) => c.at >= at)?.at].filter((t) => t !== undefined);
    return times.length === 0 ? null : Math.min(...times);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private agentFor(b: Backend): http.Agent {
    let a = this.agents.get(b.key);
    if (a === undefined) {
      a = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_BACKEND, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' });
      this.agents.set(b.key, a);
    }
    return a;
  }

  /**
   * Closes the pooled connections to an instance that will get no new requests once its last
   * request is done, so that none is left open for the instance's shutdown to break.
   */
  private retireIfIdle(key: string): void {
    if (this.inFlight(key) > 0) return;
    const b = this.table.get(key);
    if (b !== undefined && eligible(b)) return;
    this.agents.get(key)?.destroy();
    this.agents.delete(key);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pinned = this.o.sticky === true ? cookieValue(req.headers.cookie, STICKY_COOKIE) : undefined;
    const b = chooseBackend(this.table, pinned, this.o.random ?? Math.random);
    if (b === undefined) {
      this.noBackend++;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`no instance of ${this.o.service} can take requests\n`);
      return;
    }
    this.routed.set(b.key, (this.routed.get(b.key) ?? 0) + 1);
    this.inflight.set(b.key, this.inFlight(b.key) + 1);
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      this.inflight.set(b.key, this.inFlight(b.key) - 1);
      this.retireIfIdle(b.key);
      this.notify();
    };
    const fail = (): void => {
      if (finished) return;
      this.upstreamErrors++;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`instance ${b.key} failed\n`);
      else res.destroy();
      done();
    };
    const up = http.request({
      host: b.address, port: b.port, method: req.method, path: req.url, agent: this.agentFor(b),
      headers: { ...forwardable(req.headers), host: `${b.address}:${b.port}` },
      timeout: this.o.upstreamTimeoutMs ?? 10_000,
    }, (ur) => {
      const headers = { ...forwardable(ur.headers), 'x-backend': b.key };
      if (this.o.sticky === true && pinned !== b.version) headers['set-cookie'] = `${STICKY_COOKIE}=${encodeURIComponent(b.version)}; Path=/`;
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
      ur.on('end', done);
      ur.on('error', fail);
      // Cut off mid-answer: the client must see a broken response, not a short one.
      ur.on('close', () => { if (!ur.complete) fail(); });
    });
    up.on('timeout', () => up.destroy(new Error('upstream timeout')));
    up.on('error', fail);
    // A client that gives up ends our request to the backend too.
    res.on('close', () => { if (!finished) { up.destroy(); done(); } });
    req.pipe(up);
  }
}
