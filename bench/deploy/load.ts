/**
 * Steady traffic through the proxy: requests are started on a fixed schedule (open loop, so a slow
 * or broken backend does not slow the offered load down and hide itself), over keep-alive
 * connections, with at most `concurrency` in flight. A request due while that many are in flight
 * waits for a free slot; one that has waited longer than a second is dropped and counted, so a
 * stall shows up as a shortfall rather than as an unbounded queue.
 *
 * Each request belongs to one of `clients` simulated clients (round robin), each with its own
 * cookie jar, so that sticky routing can be observed per client; with `clientRequests`, a client
 * leaves after that many requests and a new one takes its place. A new client waits for its first
 * answer before it sends more, so that a pinning cookie set on that answer is on all the rest.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  /** The proxy's URL. */
  readonly url: string;
  /** Requests started per second. */
  readonly rate: number;
  readonly concurrency: number;
  readonly clients: number;
  /**
   * Requests a client makes before it leaves and a new client (new id, empty cookie jar) takes its
   * place; 0: clients never leave. Churn is what lets a canary get new users while pinned ones stay.
   */
  readonly clientRequests?: number;
  /** A request whose connection stays silent this long fails (as "timeout"). */
  readonly timeoutMs: number;
}

/** One request. Times are performance.now() milliseconds. */
export interface RequestRecord {
  readonly start: number;
  readonly end: number;
  readonly client: number;
  /** HTTP status; 0 when no answer came (connection error, timeout). */
  readonly status: number;
  /** The `x-app-version` of the answer; null when none. */
  readonly version: string | null;
  /** Why the request failed, when it did: "HTTP 503", "ECONNRESET", "timeout", ... */
  readonly error: string | null;
}

export interface LoadResult {
  readonly records: readonly RequestRecord[];
  /** Due requests dropped because every slot stayed busy for over a second. */
  readonly dropped: number;
  readonly startedAt: number;
  readonly stoppedAt: number;
}

/** Idle connections to the proxy are closed by us before the proxy would close them. */
const IDLE_SOCKET_MS = 30_000;
const MAX_QUEUE_WAIT_MS = 1_000;
const TICK_MS = 2;

export function succeeded(r: RequestRecord): boolean {
  return r.status === 200 && r.version !== null;
}

export class LoadGenerator {
  private readonly agent: http.Agent;
  private readonly records: RequestRecord[] = [];
  private readonly cookies: (string | undefined)[];
  /** Start times of due requests waiting for a slot, oldest first. */
  private readonly queue: number[] = [];
  private inflight = 0;
  private issued = 0;
  private dropped = 0;
  private next = 0;
  /** Client id in each round-robin slot, and requests it has made. */
  private readonly slotClient: number[];
  private readonly slotUses: number[];
  /** Whether the slot's client has had an answer yet, and its requests in flight. */
  private readonly slotAnswered: boolean[];
  private readonly slotInflight: number[];
  private nextClient: number;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private stoppedAt = 0;
  private drained: (() => void) | null = null;

  constructor(private readonly o: LoadOptions) {
    if (!(o.rate > 0) || !(o.concurrency >= 1) || !(o.clients >= 1)) throw new Error('load: rate, concurrency and clients must be positive');
    this.agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' });
    this.cookies = new Array<string | undefined>(o.clients).fill(undefined);
    this.slotClient = Array.from({ length: o.clients }, (_, i) => i);
    this.slotUses = new Array<number>(o.clients).fill(0);
    this.slotAnswered = new Array<boolean>(o.clients).fill(false);
    this.slotInflight = new Array<number>(o.clients).fill(0);
    this.nextClient = o.clients;
  }

  get sent(): number {
    return this.records.length + this.inflight;
  }

  /** Requests finished so far (for progress lines and live checks). */
  finished(): readonly RequestRecord[] {
    return this.records;
  }

  start(): void {
    if (this.timer !== null) return;
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops starting requests, waits for those in flight, and returns every record. */
  async stop(): Promise<LoadResult> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.stoppedAt = performance.now();
    this.dropped += this.queue.length;
    this.queue.length = 0;
    if (this.inflight > 0) await new Promise<void>((resolve) => { this.drained = resolve; });
    this.agent.destroy();
    return { records: this.records, dropped: this.dropped, startedAt: this.startedAt, stoppedAt: this.stoppedAt };
  }

  private tick(): void {
    const now = performance.now();
    const due = Math.floor(((now - this.startedAt) * this.o.rate) / 1000);
    for (; this.issued < due; this.issued++) this.queue.push(this.startedAt + (this.issued * 1000) / this.o.rate);
    while (this.queue.length > 0 && now - (this.queue[0] as number) > MAX_QUEUE_WAIT_MS) {
      this.queue.shift();
      this.dropped++;
    }
    while (this.queue.length > 0 && this.inflight < this.o.concurrency) {
      this.queue.shift();
      this.send();
    }
  }

  /**
   * The next slot in round-robin order whose client is not waiting for its very first answer: a
   * new client sends one request and waits for it (and any cookie it sets) before sending more, as
   * a browser's first page load does. When every client waits, the next slot in order goes anyway.
   */
  private pickSlot(): number {
    for (let k = 0; k < this.o.clients; k++) {
      const slot = (this.next + k) % this.o.clients;
      if (this.slotAnswered[slot] === true || this.slotInflight[slot] === 0) {
        this.next = (slot + 1) % this.o.clients;
        return slot;
      }
    }
    const slot = this.next;
    this.next = (this.next + 1) % this.o.clients;
    return slot;
  }

  private send(): void {
    const slot = this.pickSlot();
    const life = this.o.clientRequests ?? 0;
    if (life > 0 && (this.slotUses[slot] as number) >= life) {
      this.slotClient[slot] = this.nextClient++;
      this.slotUses[slot] = 0;
      this.cookies[slot] = undefined;
      this.slotAnswered[slot] = false;
    }
    this.slotInflight[slot] = (this.slotInflight[slot] as number) + 1;
    this.slotUses[slot] = (this.slotUses[slot] as number) + 1;
    const client = this.slotClient[slot] as number;
    const start = performance.now();
    this.inflight++;
    let settled = false;
    const finish = (status: number, version: string | null, error: string | null): void => {
      if (settled) return;
      settled = true;
      this.inflight--;
      this.slotInflight[slot] = (this.slotInflight[slot] as number) - 1;
      if (this.slotClient[slot] === client) this.slotAnswered[slot] = true;
      this.records.push({ start, end: performance.now(), client, status, version, error });
      if (this.inflight === 0 && this.drained !== null) this.drained();
    };
    const cookie = this.cookies[slot];
    const req = http.request(this.o.url, {
      method: 'GET', agent: this.agent, timeout: this.o.timeoutMs, headers: cookie === undefined ? {} : { cookie },
    }, (res) => {
      const status = res.statusCode ?? 0;
      const v = res.headers['x-app-version'];
      const version = typeof v === 'string' ? v : null;
      const setCookie = res.headers['set-cookie'];
      // Only while the same client holds the slot: a reply to one that left goes to nobody.
      if (setCookie !== undefined && setCookie.length > 0 && this.slotClient[slot] === client) this.cookies[slot] = (setCookie[0] ?? '').split(';')[0];
      res.resume();
      res.on('end', () => finish(status, version, status === 200 ? (version === null ? 'no version header' : null) : `HTTP ${status}`));
      res.on('error', (e) => finish(0, null, errorName(e)));
      res.on('close', () => { if (!res.complete) finish(0, null, 'answer cut off'); });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e) => finish(0, null, errorName(e)));
    req.end();
  }
}

function errorName(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return e instanceof Error ? e.message : String(e);
}
