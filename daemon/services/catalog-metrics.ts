import type { ServiceView } from '../../protocol/effects.js';
import { HEALTH_BY_CODE } from '../../protocol/messages.js';
import { CHECK_KINDS, type CheckKind } from '../../client/contract/check.js';
import { Exposition } from '../metrics.js';

/**
 * Counters of the local catalog work — health checks and propagation waits — and their rendering,
 * appended to GET /v1/metrics. Labels come from closed sets (check kinds, healths, outcomes).
 */
export class CatalogMetrics {
  readonly checksRun = new Map<CheckKind, number>(CHECK_KINDS.map((k) => [k, 0]));
  /** Runs whose raw result was critical (before damping); TTL expiries count here. */
  readonly checksFailed = new Map<CheckKind, number>(CHECK_KINDS.map((k) => [k, 0]));
  barriersDone = 0;
  barriersTimedOut = 0;

  checkRan(kind: CheckKind, failed: boolean): void {
    this.checksRun.set(kind, (this.checksRun.get(kind) ?? 0) + 1);
    if (failed) this.checksFailed.set(kind, (this.checksFailed.get(kind) ?? 0) + 1);
  }

  barrier(done: boolean): void {
    if (done) this.barriersDone++;
    else this.barriersTimedOut++;
  }
}

export interface CatalogSnapshot {
  readonly metrics: CatalogMetrics;
  /** Every visible instance, this node's included. */
  readonly services: readonly ServiceView[];
  readonly self: string;
  /** Checks currently scheduled, by kind. */
  readonly checks: ReadonlyMap<CheckKind, number>;
}

export function renderCatalogMetrics(s: CatalogSnapshot): string {
  const out = new Exposition();
  const all = new Map(HEALTH_BY_CODE.map((h) => [h, 0]));
  const own = new Map(HEALTH_BY_CODE.map((h) => [h, 0]));
  for (const v of s.services) {
    all.set(v.health, (all.get(v.health) ?? 0) + 1);
    if (v.node === s.self) own.set(v.health, (own.get(v.health) ?? 0) + 1);
  }
  out.family('swimd_services', 'gauge', 'Service instances in the catalog as seen by this node, by health.');
  for (const [health, n] of all) out.sample('swimd_services', { health }, n);
  out.family('swimd_local_services', 'gauge', 'Service instances registered on this node, by health.');
  for (const [health, n] of own) out.sample('swimd_local_services', { health }, n);

  out.family('swimd_checks', 'gauge', 'Health checks this node runs, by type.');
  for (const kind of CHECK_KINDS) out.sample('swimd_checks', { type: kind }, s.checks.get(kind) ?? 0);
  out.family('swimd_checks_run_total', 'counter', 'Health check runs (TTL: reports and expiries), by type.');
  for (const [kind, n] of s.metrics.checksRun) out.sample('swimd_checks_run_total', { type: kind }, n);
  out.family('swimd_checks_failed_total', 'counter', 'Health check runs with a critical result before damping, by type.');
  for (const [kind, n] of s.metrics.checksFailed) out.sample('swimd_checks_failed_total', { type: kind }, n);

  out.family('swimd_barriers_total', 'counter', 'Propagation waits (?wait) by outcome.');
  out.sample('swimd_barriers_total', { result: 'done' }, s.metrics.barriersDone);
  out.sample('swimd_barriers_total', { result: 'timeout' }, s.metrics.barriersTimedOut);
  return out.text();
}
