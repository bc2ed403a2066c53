import type { Health } from '../../../protocol/messages.js';
import type { CatalogMetrics } from '../catalog-metrics.js';
import { DAEMON_LIMITS } from '../../limits.js';
import type { Logger } from '../../log.js';
import type { CheckKind, CheckSpec } from '../../../client/contract/check.js';
import type { CheckResult } from './check-result.js';
import { Damper } from './damping.js';
import { httpCheck } from './http-check.js';
import { Slots } from './slots.js';
import { tcpCheck } from './tcp-check.js';
import type { CheckStatus } from '../../../client/contract/check.js';
import { TtlCheck, type TtlReport } from './ttl-check.js';

/**
 * Runs the health checks of this node's service instances, one per instance id. HTTP and TCP
 * checks run at their interval, at most DAEMON_LIMITS.checksConcurrentMax at a time, through a
 * damper; TTL checks wait for reports. Every change of the damped health goes to `onHealth`, which
 * hands it to the core. A check removed (deregistered, replaced) or stopped is cancelled, and a run
 * still in flight for it is discarded when it returns.
 */

export interface Probes {
  http(url: string, timeoutMs: number, signal: AbortSignal): Promise<CheckResult>;
  tcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<CheckResult>;
}

export interface CheckRunnerDeps {
  readonly onHealth: (id: string, health: Health, output: string) => void;
  readonly metrics: CatalogMetrics;
  readonly log: Logger;
  /** Replaced in tests. */
  readonly probes?: Probes;
}

interface Probed {
  readonly kind: 'http' | 'tcp';
  readonly spec: Extract<CheckSpec, { kind: 'http' | 'tcp' }>;
  readonly damper: Damper;
  readonly abort: AbortController;
  timer: NodeJS.Timeout | null;
}

interface Ttl {
  readonly kind: 'ttl';
  readonly check: TtlCheck;
}

type Entry = Probed | Ttl;

export class CheckError extends Error {
  constructor(readonly code: 'not_found' | 'not_ttl' | 'limit', message: string) {
    super(message);
  }
}

const DEFAULT_PROBES: Probes = { http: httpCheck, tcp: tcpCheck };
/** Runs drift by up to this fraction of the interval, so checks started together spread out. */
const JITTER = 0.1;

export class CheckRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly slots = new Slots(DAEMON_LIMITS.checksConcurrentMax);
  private readonly probes: Probes;
  private stopped = false;

  constructor(private readonly d: CheckRunnerDeps) {
    this.probes = d.probes ?? DEFAULT_PROBES;
  }

  get size(): number {
    return this.entries.size;
  }

  kindOf(id: string): CheckKind | undefined {
    return this.entries.get(id)?.kind;
  }

  /** Checks by kind, for metrics. */
  counts(): Map<CheckKind, number> {
    const out = new Map<CheckKind, number>();
    for (const e of this.entries.values()) out.set(e.kind, (out.get(e.kind) ?? 0) + 1);
    return out;
  }

  /**
   * Starts the check of instance `id` (replacing any), from `initial` health: a new instance starts
   * critical, and only a run that passes admits it. A probed check runs at once.
   */
  add(id: string, spec: CheckSpec, initial: Health, firstTtlMs?: number): void {
    if (this.stopped) return;
    this.remove(id);
    if (this.entries.size >= DAEMON_LIMITS.checksMax) throw new CheckError('limit', `this node already runs ${DAEMON_LIMITS.checksMax} checks`);
    if (spec.kind === 'ttl') {
      const entry: Ttl = {
        kind: 'ttl',
        check: new TtlCheck(spec.ttlMs, initial, (health, output, expired) => {
          if (this.entries.get(id) !== entry) return;
          // Reports are counted in ttl(); an expiry is counted here.
          if (expired) this.d.metrics.checkRan('ttl', true);
          this.report(id, health, output);
        }, firstTtlMs),
      };
      this.entries.set(id, entry);
      return;
    }
    const entry: Probed = { kind: spec.kind, spec, damper: new Damper(spec, initial), abort: new AbortController(), timer: null };
    this.entries.set(id, entry);
    this.schedule(id, entry, 0);
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    if (e.kind === 'ttl') {
      e.check.stop();
    } else {
      if (e.timer !== null) clearTimeout(e.timer);
      e.abort.abort();
    }
  }

  /** A TTL report for instance `id`; returns the health now in effect. */
  ttl(id: string, status: CheckStatus, note: string): Health {
    const e = this.entries.get(id);
    if (e === undefined) throw new CheckError('not_found', `instance ${JSON.stringify(id)} has no health check`);
    if (e.kind !== 'ttl') throw new CheckError('not_ttl', `the check of ${JSON.stringify(id)} is an ${e.kind} check, which the agent runs itself; only TTL checks take reports`);
    this.d.metrics.checkRan('ttl', status === 'fail');
    return e.check.report(status, note);
  }

  /** The running TTL report of instance `id`, if it has a TTL check that has one. */
  ttlReport(id: string): TtlReport | null {
    const e = this.entries.get(id);
    return e?.kind === 'ttl' ? e.check.lastReport() : null;
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.entries.keys()]) this.remove(id);
  }

  private schedule(id: string, e: Probed, delayMs: number): void {
    e.timer = setTimeout(() => {
      e.timer = null;
      void this.run(id, e);
    }, delayMs);
  }

  private async run(id: string, e: Probed): Promise<void> {
    await this.slots.acquire();
    const started = performance.now();
    let result: CheckResult;
    try {
      if (this.entries.get(id) !== e) return;
      const { spec } = e;
      result = spec.kind === 'http'
        ? await this.probes.http(spec.url, spec.timeoutMs, e.abort.signal)
        : await this.probes.tcp(spec.host, spec.port, spec.timeoutMs, e.abort.signal);
    } catch (err) {
      // A probe reports failures as results; a throw is a bug, but it must not stop the schedule.
      this.d.log.error('health check threw', { id, err });
      result = { health: 'critical', output: 'internal error running the check' };
    } finally {
      this.slots.release();
    }
    if (this.entries.get(id) !== e) return;
    this.d.metrics.checkRan(e.kind, result.health === 'critical');
    const before = e.damper.health;
    const after = e.damper.observe(result.health);
    if (after !== before) this.report(id, after, result.output);
    else if (result.health !== after) this.d.log.debug('health check result damped', { id, result: result.health, health: after, output: result.output });
    const interval = e.spec.intervalMs * (1 - JITTER / 2 + JITTER * Math.random());
    this.schedule(id, e, Math.max(0, started + interval - performance.now()));
  }

  private report(id: string, health: Health, output: string): void {
    this.d.log.info('health check changed', { id, health, output });
    try {
      this.d.onHealth(id, health, output);
    } catch (err) {
      this.d.log.error('cannot apply a health change', { id, health, err });
    }
  }
}
