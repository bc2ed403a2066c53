/**
 * The application being deployed: a tiny HTTP server that answers every request with its version
 * (in the `x-app-version` header and the body) after a fixed service time, plus a /health route for
 * the agent's HTTP check. The service time is what makes in-flight requests exist at all, so that
 * "wait for in-flight requests" is a step with something to wait for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AppOptions {
  readonly version: string;
  readonly host: string;
  /** 0: any free port. */
  readonly port?: number;
  /** Time spent on each request before answering. */
  readonly serviceMs: number;
}

/** Longer than the proxy's idle-socket timeout, so the proxy (the client) is always the side that closes an idle connection. */
const KEEP_ALIVE_MS = 65_000;

export class AppInstance {
  private inflight = 0;
  private served = 0;
  private closing = false;

  private constructor(readonly version: string, readonly host: string, readonly port: number, private readonly server: http.Server) {}

  static async start(o: AppOptions): Promise<AppInstance> {
    const server = http.createServer();
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host, () => { server.off('error', reject); resolve(); });
    });
    const app = new AppInstance(o.version, o.host, (server.address() as AddressInfo).port, server);
    server.on('request', (req, res) => app.handle(req, res, o.serviceMs));
    return app;
  }

  get inFlight(): number {
    return this.inflight;
  }

  get requestsServed(): number {
    return this.served;
  }

  get healthUrl(): string {
    return `http://${this.host}:${this.port}/health`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, serviceMs: number): void {
    // The body is not used, but must be consumed for the connection to be reusable.
    req.resume();
    if (this.closing) {
      // Stopping: what arrives now on a kept-alive connection finds the process gone.
      req.socket.destroy();
      return;
    }
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    this.inflight++;
    const answer = (): void => {
      this.inflight--;
      this.served++;
      const body = `${this.version}\n`;
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-app-version': this.version };
      // Answered while stopping: tell the client not to reuse this connection.
      if (this.closing) headers['connection'] = 'close';
      res.writeHead(200, headers);
      res.end(body);
    };
    if (serviceMs > 0) setTimeout(answer, serviceMs);
    else answer();
  }

  /**
   * Stops as a well-behaved process does on SIGTERM: stop accepting connections, let the requests
   * already being served finish (up to `graceMs`), then close every connection. Requests that a
   * client sends after this began are refused (new connections) or cut off (kept-alive ones):
   * the stop alone does not protect anyone still routing here, which is the point of the drill.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      this.server.closeIdleConnections();
    }
    this.server.closeAllConnections();
    await closed;
  }
}
