import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogError } from '../../protocol/catalog.js';
import type { BarrierEvent, ServiceView } from '../../protocol/effects.js';
import type { Health } from '../../protocol/messages.js';
import type { SwimNode } from '../../protocol/node.js';
import { sameCheck } from '../../client/contract/check.js';
import { CheckError, CheckRunner, type Probes } from './checks/runner.js';
import type { TtlReport } from './checks/ttl-check.js';
import type { CheckStatus } from '../../client/contract/check.js';
import type { Driver } from '../driver.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { BarrierWaits } from './barrier-waits.js';
import { CatalogMetrics, renderCatalogMetrics } from './catalog-metrics.js';
import { type ParsedRegistration, registrationJson, sameRegistration, specOf } from '../../client/contract/registration.js';
import { type SavedCatalog, ServicesFile } from './services-file.js';

/**
 * This node's own service instances on the daemon side: where each came from (API or config file),
 * its health check, its drain state, and its copy on disk. Every change goes to the core through
 * driver.invoke; the core gossips it. API changes are saved before they are acknowledged.
 */

export type Source = 'api' | 'config';

/** Failures that are not about the request's content (those are CatalogError / FieldError). */
export class ServiceOpError extends Error {
  constructor(readonly code: 'conflict' | 'not_saved', message: string) {
    super(message);
  }
}

/** What the API routes use; tests may fake it. */
export interface ServicesApi {
  /** Every visible instance, this node's included. */
  list(): readonly ServiceView[];
  /** Registers or updates (same id) an instance; resolves once it is saved. */
  register(r: ParsedRegistration): Promise<ServiceView>;
  /** Resolves with the tombstone's version once the removal is saved. */
  deregister(id: string): Promise<{ readonly id: string; readonly rev: number }>;
  setDraining(id: string, draining: boolean): Promise<ServiceView>;
  /** A TTL check report for instance `id`. */
  reportCheck(id: string, status: CheckStatus, note: string): Promise<ServiceView>;
  /** Waits until every live member holds the current version of `id` (or its tombstone). */
  waitFor(id: string, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent>;
  /** Resolves true once this node's instance `id` is passing, false when time runs out or the wait is aborted. */
  waitUntilPassing(id: string, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
}

/** Outcome of applying the config file's `services`. */
export interface ConfigApply {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  /** `conflict`: the id belongs to an API registration; otherwise the core refused the entry. */
  readonly errors: { readonly id: string; readonly message: string; readonly conflict: boolean }[];
}

type CatalogNode = Pick<SwimNode, 'name' | 'registerService' | 'deregisterService' | 'updateService' | 'startBarrier' | 'services' | 'catalogRevision'>;

export interface LocalServicesDeps {
  readonly node: CatalogNode;
  readonly driver: Driver;
  /** Address of instances registered without one. */
  readonly advertiseHost: string;
  readonly dataDir: string;
  readonly saved: SavedCatalog;
  readonly log: Logger;
  readonly probes?: Probes;
}

interface Local {
  readonly registration: ParsedRegistration;
  readonly source: Source;
  draining: boolean;
}

export class LocalServices implements ServicesApi {
  readonly metrics = new CatalogMetrics();
  private readonly local = new Map<string, Local>();
  private readonly runner: CheckRunner;
  private readonly waits: BarrierWaits;
  private readonly passingWaiters = new Set<{ readonly id: string; readonly done: (ok: boolean) => void }>();
  private readonly file: ServicesFile;

  constructor(private readonly d: LocalServicesDeps) {
    this.runner = new CheckRunner({
      onHealth: (id, health) => this.applyHealth(id, health),
      metrics: this.metrics, log: d.log, ...(d.probes === undefined ? {} : { probes: d.probes }),
    });
    this.waits = new BarrierWaits(d.driver, d.node, this.metrics);
    this.file = new ServicesFile(d.dataDir, d.log, () => this.snapshot(), d.saved.revision);
  }

  /** Saves a new revision ceiling, then registers the saved instances and the config file's. */
  async start(configServices: readonly ParsedRegistration[]): Promise<ConfigApply> {
    // Before any version above the saved ceiling is used: a crash must not let versions repeat.
    await this.file.save();
    let unapplied = false;
    for (const s of this.d.saved.services) {
      try {
        this.registerLocal(s.registration, 'api', s.draining, s.ttl);
      } catch (e) {
        if (!(e instanceof CatalogError || e instanceof CheckError)) throw e;
        unapplied = true;
        this.d.log.error('a saved registration cannot be registered again; it is dropped (its copy is kept aside)', {
          id: s.registration.id, reason: e.message, registration: registrationJson(s.registration),
        });
      }
    }
    if (unapplied) {
      // The next save rewrites the file without it: keep the previous file for the operator.
      const path = join(this.d.dataDir, 'services.json');
      await copyFile(path, `${path}.unapplied-${Date.now()}`).catch(() => undefined);
      await this.file.save();
    }
    return this.applyConfig(configServices);
  }

  /** Brings config-file instances in line with `wanted`; API registrations are never touched. */
  applyConfig(wanted: readonly ParsedRegistration[]): ConfigApply {
    const out: ConfigApply = { added: [], changed: [], removed: [], errors: [] };
    const ids = new Set(wanted.map((r) => r.id));
    // Removals first, so that an instance moved to another id frees its place before taking one.
    for (const [id, l] of [...this.local]) {
      if (l.source !== 'config' || ids.has(id)) continue;
      try {
        this.removeLocal(id);
        out.removed.push(id);
      } catch (e) {
        out.errors.push({ id, message: (e as Error).message, conflict: false });
      }
    }
    for (const r of wanted) {
      const prev = this.local.get(r.id);
      if (prev?.source === 'api') {
        out.errors.push({ id: r.id, message: 'this id is registered through the API; deregister it there or give the config entry another id', conflict: true });
        continue;
      }
      if (prev !== undefined && sameRegistration(prev.registration, r)) continue;
      try {
        this.registerLocal(r, 'config', prev?.draining ?? false);
        (prev === undefined ? out.added : out.changed).push(r.id);
      } catch (e) {
        if (!(e instanceof CatalogError || e instanceof CheckError)) throw e;
        out.errors.push({ id: r.id, message: e.message, conflict: false });
      }
    }
    for (const [what, list] of [['added', out.added], ['changed', out.changed], ['removed', out.removed]] as const) {
      for (const id of list) this.d.log.info(`config service ${what}`, { id });
    }
    return out;
  }

  list(): readonly ServiceView[] {
    return this.d.node.services();
  }

  async register(r: ParsedRegistration): Promise<ServiceView> {
    const prev = this.local.get(r.id);
    if (prev?.source === 'config') throw this.configOwned(r.id);
    const view = this.registerLocal(r, 'api', prev?.draining ?? false);
    try {
      await this.file.save();
    } catch (e) {
      this.undo(r.id, prev);
      throw new ServiceOpError('not_saved', `not registered: cannot save it to ${this.d.dataDir}: ${(e as Error).message}`);
    }
    return this.ownView(r.id) ?? view;
  }

  async deregister(id: string): Promise<{ id: string; rev: number }> {
    const prev = this.mustHave(id);
    if (prev.source === 'config') throw this.configOwned(id);
    const rev = this.removeLocal(id);
    try {
      await this.file.save();
    } catch (e) {
      this.undo(id, prev);
      throw new ServiceOpError('not_saved', `not deregistered: cannot save the change to ${this.d.dataDir}: ${(e as Error).message}`);
    }
    return { id, rev };
  }

  async setDraining(id: string, draining: boolean): Promise<ServiceView> {
    const l = this.mustHave(id);
    const before = l.draining;
    this.update(id, { draining });
    l.draining = draining;
    // The drain state of config-file instances is not saved: the file says nothing about it.
    if (l.source === 'api' && before !== draining) {
      try {
        await this.file.save();
      } catch (e) {
        if (this.local.get(id) === l) {
          this.update(id, { draining: before });
          l.draining = before;
        }
        throw new ServiceOpError('not_saved', `not changed: cannot save it to ${this.d.dataDir}: ${(e as Error).message}`);
      }
    }
    return this.ownViewOrThrow(id);
  }

  async reportCheck(id: string, status: CheckStatus, note: string): Promise<ServiceView> {
    this.mustHave(id);
    this.runner.ttl(id, status, note);
    // Saved before the answer (the health is in effect either way): a restart announces it again.
    if (this.local.get(id)?.source === 'api') {
      await this.file.save().catch((err: unknown) => this.d.log.error('cannot save a TTL report', { id, err }));
    }
    return this.ownViewOrThrow(id);
  }

  waitFor(id: string, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent> {
    return this.waits.wait(id, timeoutMs, signal);
  }

  waitUntilPassing(id: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.ownView(id)?.health === 'passing') return Promise.resolve(true);
    if (signal.aborted || this.passingWaiters.size >= DAEMON_LIMITS.passingWaitsMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.passingWaiters.delete(waiter);
        resolve(ok);
      };
      const waiter = { id, done };
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal.addEventListener('abort', onAbort);
      this.passingWaiters.add(waiter);
    });
  }

  /** After every input to the core: its revision may have risen (health changes, echoes). */
  afterInput(): void {
    this.file.noteRevision(this.d.node.catalogRevision());
  }

  metricsText(): string {
    return renderCatalogMetrics({ metrics: this.metrics, services: this.d.node.services(), self: this.d.node.name, checks: this.runner.counts() });
  }

  /** Stops every check and wait, and lets the last write finish. */
  async stop(): Promise<void> {
    this.runner.stop();
    this.waits.stop();
    await this.file.close();
  }

  // ---- Internals ----------------------------------------------------------------------------

  /**
   * Registers in the core and (re)starts the check. An instance keeps its health when its check
   * is unchanged; a new check starts critical, so only a passing run admits the instance.
   */
  private registerLocal(r: ParsedRegistration, source: Source, draining: boolean, restored: TtlReport | null = null): ServiceView {
    const prev = this.local.get(r.id);
    const keepCheck = prev !== undefined && sameCheck(prev.registration.check, r.check);
    // A TTL report saved before a restart holds until the TTL it was given runs out.
    const left = restored !== null && r.check?.kind === 'ttl' ? restored.expiresAt - Date.now() : 0;
    const revived = left > 0 && restored !== null ? restored.health : undefined;
    const health: Health = r.check === null ? 'passing' : (keepCheck ? this.ownView(r.id)?.health : revived) ?? 'critical';
    const firstTtlMs = revived !== undefined && r.check?.kind === 'ttl' ? Math.min(left, r.check.ttlMs) : undefined;
    const view = this.d.driver.invoke('register', (now) => this.d.node.registerService(now, specOf(r, this.d.advertiseHost, health, draining)));
    this.local.set(r.id, { registration: r, source, draining });
    if (!keepCheck) {
      this.runner.remove(r.id);
      if (r.check !== null) this.runner.add(r.id, r.check, health, firstTtlMs);
    }
    return view;
  }

  private removeLocal(id: string): number {
    const rev = this.d.driver.invoke('deregister', (now) => this.d.node.deregisterService(now, id));
    this.runner.remove(id);
    this.local.delete(id);
    return rev;
  }

  /** Puts `id` back as it was before a change that could not be saved. */
  private undo(id: string, prev: Local | undefined): void {
    try {
      if (prev !== undefined) this.registerLocal(prev.registration, prev.source, prev.draining);
      else if (this.local.has(id)) this.removeLocal(id);
    } catch (err) {
      this.d.log.error('cannot undo an unsaved change', { id, err });
    }
  }

  private update(id: string, patch: { health?: Health; draining?: boolean }): number {
    return this.d.driver.invoke('update', (now) => this.d.node.updateService(now, id, patch));
  }

  private applyHealth(id: string, health: Health): void {
    if (!this.local.has(id)) return;
    try {
      this.update(id, { health });
    } catch (e) {
      // Deregistered while its check was running.
      if (!(e instanceof CatalogError && e.code === 'not_found')) throw e;
    }
    if (health === 'passing') for (const w of [...this.passingWaiters]) if (w.id === id) w.done(true);
  }

  private mustHave(id: string): Local {
    const l = this.local.get(id);
    if (l === undefined) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(id)} is registered on this node`);
    return l;
  }

  private configOwned(id: string): ServiceOpError {
    return new ServiceOpError('conflict', `service instance ${JSON.stringify(id)} is defined in the config file; change it there and reload (SIGHUP)`);
  }

  private ownView(id: string): ServiceView | undefined {
    const self = this.d.node.name;
    return this.d.node.services().find((v) => v.node === self && v.id === id);
  }

  private ownViewOrThrow(id: string): ServiceView {
    const v = this.ownView(id);
    if (v === undefined) throw new CatalogError('not_found', 'id', `no service instance ${JSON.stringify(id)} is registered on this node`);
    return v;
  }

  private snapshot(): SavedCatalog {
    const services = [...this.local.values()]
      .filter((l) => l.source === 'api')
      .map((l) => ({ registration: l.registration, draining: l.draining, ttl: this.runner.ttlReport(l.registration.id) }));
    return { revision: this.d.node.catalogRevision(), services };
  }
}
