/**
 * Typed client of the agent's local socket (`import { Client } from 'swimd/client'`).
 * Every answer is decoded from unknown JSON and checked against the interface contract in
 * DESIGN.md before it is returned; every failure is a ClientError with a `code` to branch on.
 */
import { ClientError } from './error.js';
import { send, type RawRequest, type Transport } from './http.js';
import { decodeMutation, notConfirmed, waitMs, waitQuery, type MutationResult, type WaitOption } from './catalog.js';
import type { CheckStatus } from './contract/check.js';
import type { JoinResult, KeyringKey, Member, MemberStatus, ServiceEntry, SplitDetailJson, SplitJson } from './contract/json.js';
import type { Registration } from './contract/registration.js';
import { decodeInfo, decodeJoin, decodeMembers, decodeServices, errorMessage, parseJson, type Info } from './decode.js';
import { decodeKeyring } from './keyring.js';
import { decodeSplitDetail, decodeSplitResult, decodeSplits, type SplitResult } from './splits.js';
import { watchEvents, watchLines, type WatchEvent, type WatchLine, type WatchOptions } from './watch.js';

export { ClientError, isClientError, type ClientErrorCode } from './error.js';
export type { Info } from './decode.js';
export {
  HEALTHS, MEMBER_STATUSES,
  type Health, type JoinFailure, type JoinResult, type KeyringKey, type Member, type MemberEventKind, type MemberStatus,
  type ServiceEntry, type ServiceEventKind, type SplitDetailJson, type SplitEventKind, type SplitJson, type SplitVersionJson,
} from './contract/json.js';
export type { SplitResult } from './splits.js';
export { CHECK_STATUSES, type CheckDefinition, type CheckStatus } from './contract/check.js';
export type { Registration } from './contract/registration.js';
export {
  EXCLUSION_STATUSES, NotConfirmedError,
  type ExcludedMember, type ExclusionStatus, type MutationResult, type Wait, type WaitOption, type WaitOutcome,
} from './catalog.js';
export { instanceKey, serviceEffectiveWeights, type RoutedEntry } from './contract/service-weights.js';
export type {
  WatchEvent, WatchHeartbeat, WatchLine, WatchMemberEvent, WatchOptions, WatchServiceEvent, WatchSnapshot, WatchSplitEvent,
} from './watch.js';

export interface ClientOptions {
  readonly socketPath: string;
  /** Per-request timeout. Default 10 s; a `wait` on a mutation extends it by the wait. */
  readonly timeoutMs?: number;
  /** Largest answer accepted. Default 64 MiB (a full catalogue of a large cluster fits). */
  readonly maxResponseBytes?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface ServicesQuery {
  readonly name?: string;
  readonly passing?: boolean;
  readonly tag?: string;
}

export class Client {
  private readonly transport: Transport;

  constructor(opts: ClientOptions) {
    this.transport = {
      socketPath: opts.socketPath,
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    };
  }

  get socketPath(): string {
    return this.transport.socketPath;
  }

  /** All members the agent knows, itself included; `status` filters by member status. */
  async members(opts: { status?: MemberStatus } = {}): Promise<Member[]> {
    const path = opts.status === undefined ? '/v1/members' : `/v1/members?status=${opts.status}`;
    const all = decodeMembers(await this.json({ method: 'GET', path }));
    // Filtered here as well: an agent that ignored the parameter must not widen the answer.
    return opts.status === undefined ? all : all.filter((m) => m.status === opts.status);
  }

  async info(): Promise<Info> {
    return decodeInfo(await this.json({ method: 'GET', path: '/v1/info' }));
  }

  /** Asks the agent to join the cluster through these seeds; resolves once they answered or gave up. */
  async join(addresses: readonly string[]): Promise<JoinResult> {
    return decodeJoin(await this.json({
      method: 'POST',
      path: '/v1/join',
      body: { addresses },
      // The agent waits for the seeds itself (DAEMON_LIMITS.apiJoinWaitMs); do not cut it short.
      timeoutMs: this.transport.timeoutMs + 5_000,
    }));
  }

  /** Asks the agent to leave the cluster gracefully; it then shuts down. */
  async leave(): Promise<void> {
    await this.call({ method: 'POST', path: '/v1/leave' });
  }

  /** Prometheus text exposition, returned verbatim. */
  async metrics(): Promise<string> {
    return (await this.call({ method: 'GET', path: '/v1/metrics' })).text;
  }

  /** The agent's gossip keys, primary first. Fails with HTTP 409 when encryption is off. */
  async keyring(): Promise<KeyringKey[]> {
    return decodeKeyring(await this.json({ method: 'GET', path: '/v1/keyring' }));
  }

  /**
   * Changes the local agent's keyring: install a key (it decrypts), use it (it encrypts), remove a
   * key that is not the primary. Resolves to the keyring after the change.
   */
  async keyringChange(op: 'install' | 'use' | 'remove', key: string): Promise<KeyringKey[]> {
    return decodeKeyring(await this.json({ method: 'POST', path: `/v1/keyring/${op}`, body: { key } }));
  }

  async services(q: ServicesQuery = {}): Promise<ServiceEntry[]> {
    const params = new URLSearchParams();
    if (q.name !== undefined) params.set('name', q.name);
    if (q.passing === true) params.set('passing', '1');
    if (q.tag !== undefined) params.set('tag', q.tag);
    const qs = params.toString();
    return decodeServices(await this.json({ method: 'GET', path: `/v1/services${qs === '' ? '' : `?${qs}`}` }));
  }

  /**
   * Registers (or, with an id already in use, updates) a service instance of this agent. With
   * `wait`, resolves once every alive member holds it, or throws a NotConfirmedError (the
   * registration stands) naming those that did not confirm in time.
   */
  async register(entry: Registration, opts: WaitOption = {}): Promise<MutationResult> {
    return this.mutate('PUT', '/v1/services', opts, true, entry);
  }

  /** Removes an instance of this agent; with `wait`, as register. */
  async deregister(id: string, opts: WaitOption = {}): Promise<MutationResult> {
    return this.mutate('DELETE', `/v1/services/${encodeURIComponent(id)}`, opts, false);
  }

  /** Marks an instance as draining: it stays listed, and proxies send it no new traffic. */
  async drain(id: string, opts: WaitOption = {}): Promise<MutationResult> {
    return this.mutate('POST', `/v1/services/${encodeURIComponent(id)}/drain`, opts, true);
  }

  async undrain(id: string, opts: WaitOption = {}): Promise<MutationResult> {
    return this.mutate('POST', `/v1/services/${encodeURIComponent(id)}/undrain`, opts, true);
  }

  /** Reports the outcome of a TTL check, addressed by the id of the service it belongs to. */
  async check(id: string, status: CheckStatus, note?: string): Promise<MutationResult> {
    return this.mutate('POST', `/v1/checks/${encodeURIComponent(id)}/${status}`, {}, true, note === undefined ? undefined : { note });
  }

  /** Every service's traffic split. */
  async splits(): Promise<SplitJson[]> {
    return decodeSplits(await this.json({ method: 'GET', path: '/v1/splits' }));
  }

  /** A service's split (null: none), its versions' routable instances and effective weights, and unserved versions. */
  async splitDetail(service: string): Promise<SplitDetailJson> {
    return decodeSplitDetail(await this.json({ method: 'GET', path: `/v1/splits/${encodeURIComponent(service)}` }));
  }

  /**
   * Sets a service's split (version → whole percent, summing to 100), from any agent. With `wait`,
   * resolves once every alive member holds it, or throws a NotConfirmedError (the split stands).
   */
  async setSplit(service: string, weights: Readonly<Record<string, number>>, opts: WaitOption = {}): Promise<MutationResult & SplitResult> {
    return this.splitMutate('PUT', service, opts, { weights });
  }

  /** Removes a service's split (its instances go back to their own weights); with `wait`, as setSplit. */
  async clearSplit(service: string, opts: WaitOption = {}): Promise<MutationResult & SplitResult> {
    return this.splitMutate('DELETE', service, opts);
  }

  private async splitMutate(method: 'PUT' | 'DELETE', service: string, opts: WaitOption, body?: unknown): Promise<MutationResult & SplitResult> {
    const path = `/v1/splits/${encodeURIComponent(service)}`;
    let answer: unknown;
    try {
      answer = await this.json({
        method, path: `${path}${waitQuery(opts.wait)}`, timeoutMs: this.transport.timeoutMs + waitMs(opts.wait), ...(body === undefined ? {} : { body }),
      });
    } catch (e) {
      throw e instanceof ClientError ? notConfirmed(e) : e;
    }
    const what = `${method} ${path} answer`;
    return { ...decodeMutation(answer, what, false), ...decodeSplitResult(answer, what) };
  }

  /**
   * Streams changes: a snapshot, then one event per change. Reconnects with the last index seen when
   * the connection drops; ends when `signal` aborts; throws when retries run out.
   */
  watch(opts: WatchOptions = {}): AsyncIterable<WatchEvent> {
    return watchEvents(this.transport, opts);
  }

  /** As watch(), each event with the exact line the agent sent (e.g. to pass the stream on). */
  watchLines(opts: WatchOptions = {}): AsyncIterable<WatchLine> {
    return watchLines(this.transport, opts);
  }

  private async mutate(method: 'PUT' | 'POST' | 'DELETE', path: string, opts: WaitOption, withService: boolean, body?: unknown): Promise<MutationResult> {
    const req: RawRequest = {
      method,
      path: `${path}${waitQuery(opts.wait)}`,
      // The agent holds the answer for up to the wait; the request must outlast it.
      timeoutMs: this.transport.timeoutMs + waitMs(opts.wait),
      ...(body === undefined ? {} : { body }),
    };
    let answer: unknown;
    try {
      answer = await this.json(req);
    } catch (e) {
      throw e instanceof ClientError ? notConfirmed(e) : e;
    }
    return decodeMutation(answer, `${method} ${path} answer`, withService);
  }

  private async json(req: RawRequest): Promise<unknown> {
    const res = await this.call(req);
    return parseJson(res.text, `${req.method} ${req.path.split('?')[0] ?? ''}`);
  }

  /** One request; any 4xx/5xx becomes an 'http' ClientError carrying the agent's message and body. */
  private async call(req: RawRequest): Promise<{ status: number; text: string }> {
    const res = await send(this.transport, req);
    if (res.status >= 200 && res.status < 300) return res;
    let body: unknown = null;
    try { body = JSON.parse(res.text) as unknown; } catch { /* a non-JSON error body: status alone */ }
    const msg = errorMessage(body) ?? `HTTP ${res.status}`;
    throw new ClientError('http', msg, { status: res.status, body });
  }
}
