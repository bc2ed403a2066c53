/**
 * The HAProxy companion: keeps HAProxy's backends equal to the catalog. It follows the local agent's
 * watch stream (client library) and drives HAProxy's Runtime API:
 *
 * - a full reconcile (read every mapped backend's slots with `show servers state`, then set each
 *   one) at start, whenever the agent sends a snapshot (first line, or a reset after the agent
 *   restarted or the stream could not resume), when HAProxy answers again after a lost connection,
 *   and when HAProxy's process changed (a reload or restart puts every slot back to its
 *   placeholder: runtime state is not kept);
 * - otherwise each watch event is applied as it arrives, from the companion's own record of the
 *   slots, with only the commands that change something.
 *
 * Work is serialized: while one batch is in flight, further events only mark their services, and
 * the next batch is computed from the latest view, so a burst costs one batch, not one per line.
 * A refused command makes the record uncertain: the next step is a full reconcile.
 */
import { performance } from 'node:perf_hooks';
import { Client, type WatchEvent } from '../../client/index.js';
import { desiredServers, type DesiredServer } from './desired.js';
import { planBackend } from './reconcile.js';
import { RuntimeApi, RuntimeApiError } from './runtime-api.js';
import { type AdminState, parseServersState, parseShowInfo, sameProcess, type ProcessIdentity, type Slot } from './slots.js';
import {
  type BackendStatus, type CompanionCounters, type CompanionStatus, newCounters, renderMetrics, writeAtomically,
} from './status.js';
import { CatalogView } from './view.js';

export interface ServiceMapping {
  readonly service: string;
  readonly backend: string;
}

export type CompanionLogLevel = 'error' | 'warn' | 'info' | 'debug';
export type CompanionLog = (level: CompanionLogLevel, message: string) => void;

export interface CompanionOptions {
  readonly agentSocket: string;
  readonly haproxySocket: string;
  readonly maps: readonly ServiceMapping[];
  /** How often HAProxy is asked whether it is still the same process (`show info`). Default 1 s. */
  readonly checkIntervalMs?: number;
  /** Runtime API time limit per batch. Default 2 s. */
  readonly haproxyTimeoutMs?: number;
  readonly statusFile?: string;
  readonly metricsFile?: string;
  readonly log?: CompanionLog;
  /** Called after every batch HAProxy accepted, with the time it answered (performance.now()). */
  readonly onApplied?: (applied: AppliedBatch) => void;
}

export interface AppliedBatch {
  readonly at: number;
  readonly full: boolean;
  readonly commands: readonly string[];
  /** Instances whose slot changed in this batch, with the slot's state after it. */
  readonly changes: readonly InstanceChange[];
}

export interface InstanceChange {
  readonly backend: string;
  /** `node/id`. */
  readonly key: string;
  readonly slot: string;
  readonly state: AdminState;
  readonly weight: number;
}

interface BackendRecord {
  readonly backend: string;
  readonly service: string;
  /** HAProxy's slots as the companion last read or left them; null until read. */
  slots: Slot[] | null;
  assignment: Map<string, string>;
  unplaced: readonly DesiredServer[];
  unaddressable: readonly DesiredServer[];
  error: string | null;
}

const DEFAULT_CHECK_INTERVAL_MS = 1_000;

export class HaproxyCompanion {
  private readonly api: RuntimeApi;
  private readonly client: Client;
  private readonly view = new CatalogView();
  private readonly backends: BackendRecord[];
  private readonly abort = new AbortController();
  private readonly counters: CompanionCounters = newCounters();
  private readonly log: CompanionLog;
  private identity: ProcessIdentity | null = null;
  private reachable = false;
  private lastError: string | null = null;
  private synced = false;
  private lastLineAt: string | null = null;
  private lastIndex: number | null = null;
  private needFull = true;
  /** Set by a batch HAProxy refused part of. */
  private refused = false;
  private readonly dirty = new Set<string>();
  private running: Promise<void> | null = null;
  private watching: Promise<void> = Promise.resolve();
  private checker: NodeJS.Timeout | null = null;
  private watchFailure: Error | null = null;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly o: CompanionOptions) {
    const seen = new Set<string>();
    for (const m of o.maps) {
      if (seen.has(m.backend)) throw new Error(`backend ${m.backend} is mapped twice: a backend follows one service`);
      seen.add(m.backend);
    }
    this.backends = o.maps.map((m) => ({ backend: m.backend, service: m.service, slots: null, assignment: new Map(), unplaced: [], unaddressable: [], error: null }));
    this.api = new RuntimeApi({ socketPath: o.haproxySocket, timeoutMs: o.haproxyTimeoutMs ?? 2_000 });
    this.client = new Client({ socketPath: o.agentSocket });
    this.log = o.log ?? (() => undefined);
  }

  /** Starts following the agent and checking HAProxy; resolves at once (see `done`). */
  start(): void {
    this.watching = this.follow();
    const every = this.o.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.checker = setInterval(() => { void this.checkHaproxy(); }, every);
  }

  /** Resolves when the watch stream has ended for good: rejects with why, unless closed. */
  async done(): Promise<void> {
    await this.watching;
    if (this.watchFailure !== null) throw this.watchFailure;
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (this.checker !== null) clearInterval(this.checker);
    this.checker = null;
    await this.watching.catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  /** Resolves once the view is synced and HAProxy matches it (no work pending). For tests and the drill. */
  settled(timeoutMs: number): Promise<void> {
    const idle = (): boolean => this.synced && this.reachable && !this.needFull && this.dirty.size === 0 && this.running === null;
    if (idle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!idle()) return;
        clearTimeout(timer);
        this.idleWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(check);
        reject(new Error(`companion: not settled within ${timeoutMs} ms (${this.lastError ?? 'no error'})`));
      }, timeoutMs);
      this.idleWaiters.add(check);
    });
  }

  status(): CompanionStatus {
    return {
      pid: process.pid,
      updated_at: new Date().toISOString(),
      agent_socket: this.o.agentSocket,
      haproxy_socket: this.o.haproxySocket,
      haproxy: { reachable: this.reachable, pid: this.identity?.pid ?? null, last_error: this.lastError },
      agent: { last_line_at: this.lastLineAt, index: this.lastIndex, synced: this.synced },
      backends: this.backends.map((b) => this.backendStatus(b)),
      counters: { ...this.counters },
    };
  }

  private backendStatus(b: BackendRecord): BackendStatus {
    const holder = new Map([...b.assignment].map(([k, s]) => [s, k]));
    const slots = b.slots ?? [];
    return {
      backend: b.backend, service: b.service, slots: slots.length, used: holder.size, error: b.error,
      unplaced: b.unplaced.map((u) => ({ instance: u.key, address: u.address, port: u.port, state: u.state })),
      unaddressable: b.unaddressable.map((u) => ({ instance: u.key, address: u.address, port: u.port, state: u.state })),
      servers: slots.map((s) => ({ slot: s.name, instance: holder.get(s.name) ?? null, address: s.address, port: s.port, state: s.admin, weight: s.weight })),
    };
  }

  private async follow(): Promise<void> {
    try {
      for await (const e of this.client.watch({ signal: this.abort.signal, maxRetries: Number.MAX_SAFE_INTEGER, maxBackoffMs: 1_000 })) {
        this.onEvent(e);
      }
    } catch (e) {
      this.watchFailure = e instanceof Error ? e : new Error(String(e));
      this.log('error', `the agent's watch stream ended: ${this.watchFailure.message}`);
    }
  }

  private onEvent(e: WatchEvent): void {
    this.counters.events++;
    this.lastLineAt = new Date().toISOString();
    this.lastIndex = e.index;
    if (e.type === 'heartbeat') return;
    const affected = this.view.apply(e);
    if (e.type === 'snapshot') {
      if (this.synced) this.log('info', `the agent sent a fresh snapshot${e.reset ? ' (reset)' : ''}: full reconcile`);
      this.synced = true;
      this.needFull = true;
    } else if (affected.kind === 'all') {
      this.needFull = true;
    } else {
      for (const n of affected.names) this.dirty.add(n);
    }
    this.kick();
  }

  private kick(): void {
    if (this.running !== null || !this.synced) return;
    this.running = this.pump().catch((e: unknown) => {
      // Not a lost connection (those are handled in pump): an answer this code could not read.
      this.log('error', `reconcile failed: ${e instanceof Error ? e.message : String(e)}; retrying in full`);
      this.lastError = e instanceof Error ? e.message : String(e);
      this.needFull = true;
    }).finally(() => {
      this.running = null;
      this.writeStatus();
      for (const w of [...this.idleWaiters]) w();
    });
  }

  private async pump(): Promise<void> {
    while (!this.abort.signal.aborted && (this.needFull || this.dirty.size > 0)) {
      try {
        if (this.needFull) await this.fullReconcile();
        else await this.applyDirty();
        // A refused command is retried with the next periodic check, not in a tight loop.
        if (this.refused) {
          this.refused = false;
          return;
        }
      } catch (e) {
        if (!(e instanceof RuntimeApiError)) throw e;
        this.lost(e);
        return;
      }
    }
  }

  /** HAProxy did not answer: keep the work marked; the periodic check brings it back with a full reconcile. */
  private lost(e: RuntimeApiError): void {
    if (this.reachable) this.log('error', `lost HAProxy's Runtime API: ${e.message}; will reconcile in full when it answers`);
    if (this.reachable || this.lastError === null) this.counters.haproxy_unreachable++;
    this.reachable = false;
    this.lastError = e.message;
    this.needFull = true;
  }

  private async fullReconcile(): Promise<void> {
    this.needFull = false;
    this.dirty.clear();
    this.counters.full_reconciles++;
    const [info, ...states] = await this.api.run(['show info', ...this.backends.map((b) => `show servers state ${b.backend}`)]);
    if (info !== undefined && info.ok) this.noteIdentity(parseShowInfo(info.text));
    this.markReachable();
    this.backends.forEach((b, i) => {
      const r = states[i];
      if (r === undefined || !r.ok) {
        const why = r === undefined ? 'no answer' : r.text.trim();
        if (b.error !== why) this.log('error', `backend ${b.backend}: ${why} (is it in haproxy.cfg with a server-template?)`);
        b.error = why;
        b.slots = null;
        return;
      }
      b.error = null;
      b.slots = parseServersState(r.text, b.backend);
    });
    await this.apply(this.backends, true);
  }

  private async applyDirty(): Promise<void> {
    const services = new Set(this.dirty);
    this.dirty.clear();
    await this.apply(this.backends.filter((b) => services.has(b.service)), false);
  }

  private async apply(backends: readonly BackendRecord[], full: boolean): Promise<void> {
    const plans = backends.filter((b) => b.slots !== null).map((b) => {
      const plan = planBackend(b.backend, desiredServers(b.service, this.view, this.view.split(b.service)), b.slots ?? [], b.assignment);
      return { b, plan };
    });
    const commands = plans.flatMap((p) => p.plan.commands);
    const changes: InstanceChange[] = [];
    for (const { b, plan } of plans) {
      const before = new Map((b.slots ?? []).map((x) => [x.name, x]));
      for (const [key, name] of plan.assignment) {
        const now = plan.slots.find((x) => x.name === name);
        const was = before.get(name);
        if (now === undefined) continue;
        const same = was !== undefined && b.assignment.get(key) === name && was.admin === now.admin && was.weight === now.weight && was.port === now.port && was.address === now.address;
        if (!same) changes.push({ backend: b.backend, key, slot: name, state: now.admin, weight: now.weight });
      }
    }
    for (const { b, plan } of plans) {
      b.assignment = plan.assignment;
      b.slots = [...plan.slots];
      this.noteUnplaced(b, plan.unplaced);
      const named = new Set(b.unaddressable.map((u) => u.key));
      for (const u of plan.unaddressable.filter((x) => !named.has(x.key))) {
        this.log('warn', `backend ${b.backend}: ${u.key} is registered with the host name ${u.address}; HAProxy's Runtime API sets IP addresses only, so it is not in HAProxy`);
      }
      b.unaddressable = plan.unaddressable;
    }
    if (commands.length === 0) return;
    this.counters.commands += commands.length;
    // An incremental batch also asks which process answers: applied to a HAProxy that reloaded
    // since the slots were read, it would leave the other slots at their placeholders.
    const [info, ...results] = await this.api.run([...(full ? [] : ['show info']), ...commands]);
    if (full) results.unshift(...(info === undefined ? [] : [info]));
    else if (info !== undefined && info.ok && this.noteIdentity(parseShowInfo(info.text))) this.needFull = true;
    this.markReachable();
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      this.counters.command_failures += failed.length;
      for (const f of failed.slice(0, 5)) this.log('error', `HAProxy refused "${f.command}": ${f.text}`);
      // The record no longer matches HAProxy: read it back.
      this.needFull = true;
      this.refused = true;
    }
    this.o.onApplied?.({ at: performance.now(), full, commands, changes });
    this.log('debug', `applied ${commands.length} commands${full ? ' (full reconcile)' : ''}: ${commands.join('; ')}`);
  }

  private noteUnplaced(b: BackendRecord, unplaced: readonly DesiredServer[]): void {
    const before = new Set(b.unplaced.map((u) => u.key));
    const fresh = unplaced.filter((u) => !before.has(u.key));
    if (fresh.length > 0) {
      this.log('warn', `backend ${b.backend}: too few slots (${b.slots?.length ?? 0}); not in HAProxy: ${fresh.map((u) => `${u.key} (${u.address}:${u.port}, ${u.state})`).join(', ')}; add slots to its server-template`);
    }
    if (unplaced.length === 0 && b.unplaced.length > 0) this.log('info', `backend ${b.backend}: every instance has a slot again`);
    b.unplaced = unplaced;
  }

  private markReachable(): void {
    if (!this.reachable) this.log('info', `HAProxy's Runtime API on ${this.o.haproxySocket} answers`);
    this.reachable = true;
    this.lastError = null;
  }

  private noteIdentity(id: ProcessIdentity): boolean {
    const changed = this.identity !== null && !sameProcess(this.identity, id);
    if (changed) {
      this.counters.reloads_detected++;
      this.log('info', `HAProxy was reloaded or restarted (pid ${this.identity?.pid} → ${id.pid}): full reconcile`);
    }
    this.identity = id;
    return changed;
  }

  /** Periodic: is HAProxy there, and is it the process the record describes? */
  private async checkHaproxy(): Promise<void> {
    if (this.running !== null || this.abort.signal.aborted) return;
    try {
      const id = parseShowInfo(await this.api.one('show info'));
      if (this.noteIdentity(id) || !this.reachable) this.needFull = true;
      this.markReachable();
    } catch (e) {
      if (!(e instanceof RuntimeApiError)) throw e;
      this.lost(e);
      this.writeStatus();
      return;
    }
    if (this.needFull) this.kick();
    else this.writeStatus();
  }

  private writeStatus(): void {
    const s = this.status();
    try {
      if (this.o.statusFile !== undefined) writeAtomically(this.o.statusFile, `${JSON.stringify(s, null, 2)}\n`);
      if (this.o.metricsFile !== undefined) writeAtomically(this.o.metricsFile, renderMetrics(s));
    } catch (e) {
      this.log('warn', `cannot write the status: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
