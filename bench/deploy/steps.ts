/**
 * The deploy procedures the drill compares, written as a deploy tool would run them against the
 * agent on the host it deploys to (only that host's socket is used for the deploy itself):
 *
 * - swimd: start the new instance; register it with `wait` (every member holds the registration);
 *   wait for its check to pass; register it again, unchanged, with `wait` (every member now holds the
 *   passing entry — a no-op registration keeps the health of an unchanged check and is the barrier
 *   on the current version); drain the old one with `wait`; wait for the proxy's requests to it to
 *   finish; stop it; deregister it with `wait`.
 * - naive: stop the old instance, then start and register the new one, waiting for nothing.
 */
import { performance } from 'node:perf_hooks';
import type { Registration } from '../../client/index.js';
import type { HostAgent } from './agents.js';
import { AppInstance } from './app.js';
import { backendKey } from './backends.js';
import type { DrillProxy } from './drill-proxy.js';

/** Named moments of a run, used by the analysis and drawn on the chart. */
export type MarkKind =
  | 'v2_start' | 'register' | 'registered' | 'passing' | 'confirmed'
  | 'drain' | 'drained' | 'idle' | 'stop' | 'stopped' | 'deregistered' | 'split_end'
  | 'split' | 'split_set' | 'rollback' | 'rolled_back';

export interface Mark {
  readonly kind: MarkKind;
  /** performance.now() */
  readonly at: number;
  readonly note?: string;
}

export interface StepOptions {
  readonly appHost: string;
  readonly serviceMs: number;
  /** HTTP check interval, as the agent reads it ("1s"). */
  readonly checkInterval: string;
  /** Longest propagation wait per mutation, in ms. */
  readonly waitMs: number;
  /** Longest wait for a check to pass or for in-flight requests to end. */
  readonly stepTimeoutMs: number;
}

export interface DrillContext {
  readonly proxy: DrillProxy;
  readonly opts: StepOptions;
  readonly marks: Mark[];
  readonly say: (line: string) => void;
  /** Every instance started, so the run can stop them all however it ends. */
  readonly started: Instance[];
}

/** An instance of the app and where it is registered. */
export interface Instance {
  readonly id: string;
  readonly app: AppInstance;
  readonly host: HostAgent;
  readonly registration: Registration;
}

export const SERVICE = 'app';

export function mark(ctx: DrillContext, kind: MarkKind, note?: string): number {
  const at = performance.now();
  ctx.marks.push(note === undefined ? { kind, at } : { kind, at, note });
  return at;
}

const ms = (from: number): string => `${(performance.now() - from).toFixed(1)} ms`;

export async function startInstance(ctx: DrillContext, host: HostAgent, version: string, weight: number): Promise<Instance> {
  const app = await AppInstance.start({ version, host: ctx.opts.appHost, serviceMs: ctx.opts.serviceMs });
  const id = `${SERVICE}-${version}`;
  const registration: Registration = {
    id, name: SERVICE, address: app.host, port: app.port, version, weight,
    check: { http: app.healthUrl, interval: ctx.opts.checkInterval },
  };
  const instance = { id, app, host, registration };
  ctx.started.push(instance);
  return instance;
}

/** The key under which the proxy knows this instance. */
export function keyOf(i: Instance): string {
  return backendKey({ node: i.host.name, id: i.id });
}

/**
 * Registers without waiting for anything beyond the agent's answer (the naive way, and how v1 is
 * put in place before the load starts, when nothing depends on timing).
 */
export async function registerPlain(i: Instance): Promise<void> {
  await i.host.client.register(i.registration);
}

/** Resolves once the host's own agent reports the instance passing; watches, so no poll interval is added. */
async function passingLocally(i: Instance, timeoutMs: number): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    for await (const e of i.host.client.watch({ signal: abort.signal })) {
      const views = e.type === 'snapshot' ? e.services : e.type === 'service' ? [e.service] : [];
      if (views.some((s) => s.node === i.host.name && s.id === i.id && s.health === 'passing')) return;
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  throw new Error(`${i.id} did not pass its check within ${timeoutMs} ms`);
}

/** swimd: registration confirmed everywhere, then health passing confirmed everywhere. */
export async function bringUp(ctx: DrillContext, i: Instance): Promise<void> {
  const wait = ctx.opts.waitMs;
  const t0 = mark(ctx, 'register', i.id);
  await i.host.client.register(i.registration, { wait });
  mark(ctx, 'registered');
  ctx.say(`  ${i.id} registered, every member confirmed (${ms(t0)})`);
  await passingLocally(i, ctx.opts.stepTimeoutMs);
  mark(ctx, 'passing');
  ctx.say(`  ${i.id} passing on ${i.host.name} (${ms(t0)})`);
  await i.host.client.register(i.registration, { wait });
  mark(ctx, 'confirmed');
  ctx.say(`  ${i.id} passing, every member confirmed (${ms(t0)})`);
}

/**
 * swimd: drain with wait, wait until the proxy has no request left at the instance, stop it,
 * deregister with wait. The proxy's in-flight count is the measured end of the old instance's
 * work; the wait also requires that the proxy has seen the drain, so that an in-flight count of 0
 * cannot be a momentary lull before the proxy learns of it.
 */
export async function retire(ctx: DrillContext, i: Instance): Promise<void> {
  const key = keyOf(i);
  const t0 = mark(ctx, 'drain', i.id);
  await i.host.client.drain(i.id, { wait: ctx.opts.waitMs });
  mark(ctx, 'drained');
  ctx.say(`  ${i.id} draining, every member confirmed (${ms(t0)})`);
  if (ctx.proxy.pinsThroughDrain) return retirePinned(ctx, i);
  await ctx.proxy.waitIdle(key, ctx.opts.stepTimeoutMs);
  mark(ctx, 'idle');
  ctx.say(`  ${i.id} has no requests in flight at the proxy (${ms(t0)})`);
  await stopInstance(ctx, i);
  const t1 = performance.now();
  await i.host.client.deregister(i.id, { wait: ctx.opts.waitMs });
  mark(ctx, 'deregistered');
  ctx.say(`  ${i.id} deregistered, every member confirmed (${ms(t1)})`);
}

/**
 * After the drain, where the proxy keeps pinned clients on a draining instance (HAProxy's cookies):
 * they move only once the instance leaves the catalog, so it is deregistered first, then the
 * proxy's last requests to it are waited for, then it stops.
 */
async function retirePinned(ctx: DrillContext, i: Instance): Promise<void> {
  const t1 = performance.now();
  await i.host.client.deregister(i.id, { wait: ctx.opts.waitMs });
  mark(ctx, 'deregistered');
  ctx.say(`  ${i.id} deregistered, every member confirmed (${ms(t1)})`);
  await ctx.proxy.waitIdle(keyOf(i), ctx.opts.stepTimeoutMs);
  mark(ctx, 'idle');
  ctx.say(`  ${i.id} has no requests in flight at the proxy (${ms(t1)})`);
  await stopInstance(ctx, i);
}

export async function stopInstance(ctx: DrillContext, i: Instance): Promise<void> {
  mark(ctx, 'stop', i.id);
  await i.app.stop();
  mark(ctx, 'stopped');
}

/** The whole swimd deploy: bring the new instance up, then retire the old one. */
export async function swimdDeploy(ctx: DrillContext, old: Instance, host: HostAgent, version: string, weight: number): Promise<Instance> {
  mark(ctx, 'v2_start');
  const next = await startInstance(ctx, host, version, weight);
  await bringUp(ctx, next);
  await retire(ctx, old);
  return next;
}

/** The naive deploy: stop the old instance, then start and register the new one. */
export async function naiveDeploy(ctx: DrillContext, old: Instance, host: HostAgent, version: string, weight: number): Promise<Instance> {
  await stopInstance(ctx, old);
  ctx.say(`  ${old.id} stopped`);
  mark(ctx, 'v2_start');
  const next = await startInstance(ctx, host, version, weight);
  mark(ctx, 'register', next.id);
  await registerPlain(next);
  ctx.say(`  ${next.id} started and registered`);
  return next;
}
