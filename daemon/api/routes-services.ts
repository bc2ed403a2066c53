import { CHECK_STATUSES, type CheckStatus } from '../../client/contract/check.js';
import { DurationError, formatDuration, parseDurationIn } from '../../client/contract/duration.js';
import { FieldError } from '../../client/contract/field-error.js';
import { parseRegistration } from '../../client/contract/registration.js';
import { CatalogError } from '../../protocol/catalog.js';
import type { BarrierEvent, BarrierExclusion, ServiceView } from '../../protocol/effects.js';
import type { ServiceJson } from '../../client/contract/json.js';
import { isSameOrNewer } from '../../protocol/serial.js';
import { DAEMON_LIMITS } from '../limits.js';
import { WaitCancelled } from '../services/barrier-waits.js';
import { CheckError } from '../services/checks/runner.js';
import { ServiceOpError, type ServicesApi } from '../services/local-services.js';
import { apiError, isObject, json, unknownFields } from './http-util.js';
import type { Reply, RequestContext, Route } from './router.js';
import { type RoutingState, serviceJsonIn, servicesJson } from './shapes.js';

/**
 * The service catalog endpoints: list, register, deregister, drain, TTL check reports. Every
 * mutation takes `?wait=DURATION` and then answers only when every live member holds the change
 * (200, with `wait`), or when the time is up (504, naming the members that had not confirmed —
 * the change itself was made and stays made). Either way `wait.excluded` names the members that
 * were alive at some point of the wait and died or left without confirming.
 */

/** Every mutation takes only `?wait=DURATION`. */
const WAIT = ['wait'] as const;

/** `routing`: where effective weights are read from (default: the instances `services` lists). */
export function serviceRoutes(services: ServicesApi, routing: RoutingState = { services: () => services.list() }): Route[] {
  const serviceJson = (v: ServiceView): ServiceJson => serviceJsonIn(routing, v);
  const routes: Route[] = [
    { method: 'GET', pattern: '/v1/services', body: 'none', query: ['name', 'passing', 'tag'], handle: (ctx) => list(services, routing, ctx.query) },
    {
      method: 'PUT', pattern: '/v1/services', body: 'json', query: WAIT,
      handle: (ctx) => mutate(services, routing, ctx, async () => {
        const view = await services.register(parseRegistration(ctx.body));
        // A checked instance starts critical: waiting for it means waiting until it can take traffic.
        return { id: view.id, body: serviceJson(view), untilPassing: view.health !== 'passing' };
      }),
    },
    {
      method: 'DELETE', pattern: '/v1/services/:id', body: 'none', query: WAIT,
      handle: (ctx) => mutate(services, routing, ctx, async () => {
        const r = await services.deregister(param(ctx));
        return { id: r.id, body: { id: r.id, deregistered: true, rev: r.rev } };
      }),
    },
  ];
  for (const [verb, draining] of [['drain', true], ['undrain', false]] as const) {
    routes.push({
      method: 'POST', pattern: `/v1/services/:id/${verb}`, body: 'none', query: WAIT,
      handle: (ctx) => mutate(services, routing, ctx, async () => {
        const view = await services.setDraining(param(ctx), draining);
        return { id: view.id, body: serviceJson(view) };
      }),
    });
  }
  for (const status of CHECK_STATUSES) {
    routes.push({
      method: 'POST', pattern: `/v1/checks/:id/${status}`, body: 'optional-json', query: WAIT,
      handle: (ctx) => mutate(services, routing, ctx, async () => {
        const view = await services.reportCheck(param(ctx), status, note(ctx.body));
        return { id: view.id, body: { ...serviceJson(view), check: status } };
      }),
    });
  }
  return routes;
}

function list(services: ServicesApi, routing: RoutingState, q: URLSearchParams): Reply {
  const names = q.getAll('name');
  if (names.length > 1) return apiError(400, 'name: give at most one');
  const passingText = q.get('passing');
  let passing = false;
  if (passingText !== null) {
    if (['', '1', 'true'].includes(passingText)) passing = true;
    else if (!['0', 'false'].includes(passingText)) return apiError(400, `passing: expected 1, true, 0 or false, got ${JSON.stringify(passingText.slice(0, 20))}`);
  }
  const tags = q.getAll('tag');
  const out = services.list()
    .filter((v) => (names.length === 0 || v.name === names[0]) && (!passing || v.health === 'passing') && tags.every((t) => v.tags.includes(t)))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.node, b.node) || cmp(a.id, b.id));
  return json(200, servicesJson(routing, out));
}

interface Done {
  /** The instance whose current version (or tombstone) a wait is for. */
  readonly id: string;
  readonly body: Record<string, unknown>;
  /** Before the propagation wait, wait for the instance's check to pass (a new checked registration). */
  readonly untilPassing?: boolean;
}

async function mutate(services: ServicesApi, routing: RoutingState, ctx: RequestContext, op: () => Promise<Done>): Promise<Reply> {
  // Checked before the change is made: a bad wait must not leave a change behind a 400.
  const wait = parseWait(ctx.query);
  if (typeof wait !== 'number' && wait !== null) return wait;
  let done: Done;
  try {
    done = await op();
  } catch (e) {
    return failure(e);
  }
  if (wait === null) return json(200, done.body);
  return waited(services, routing, done, wait, ctx.signal);
}

async function waited(services: ServicesApi, routing: RoutingState, done: Done, totalMs: number, signal: AbortSignal): Promise<Reply> {
  let ms = totalMs;
  let body = done.body;
  if (done.untilPassing === true) {
    const started = performance.now();
    if (!(await services.waitUntilPassing(done.id, ms, signal))) {
      return json(504, {
        ...body,
        error: `registered ${done.id}, but its check has not passed within ${formatDuration(totalMs)}: no member routes to it yet`,
        pending: [], excluded: [], confirmed: 0,
        // The same fields as every other wait answer, so that one decoder reads them all.
        wait: { done: false, passing: false, elapsed_ms: Math.round(performance.now() - started), confirmed: 0, timeout_ms: totalMs, pending: [], excluded: [] },
      });
    }
    ms = Math.max(1, totalMs - (performance.now() - started));
    const now = services.list().find((v) => v.node === body['node'] && v.id === done.id && isSameOrNewer(v.rev, Number(body['rev'] ?? 0)) && v.health === 'passing');
    if (now !== undefined) body = serviceJsonIn(routing, now);
  }
  let ev: BarrierEvent;
  try {
    ev = await services.waitFor(done.id, ms, signal);
  } catch (e) {
    // The change is made either way; say so, so that a retry is not taken for a second change.
    const status = e instanceof CatalogError ? (e.code === 'limit' ? 429 : 404) : e instanceof WaitCancelled ? 503 : 0;
    if (status === 0) throw e;
    return json(status, { ...body, error: `the change was made, but cannot wait for it: ${(e as Error).message}` });
  }
  return barrierAnswer(body, ev, totalMs, ms);
}

/**
 * The answer to a mutation that waited: 200 with `wait` when every live member confirmed, else 504
 * naming the members that had not. Members alive at some point of the wait that died or left
 * without confirming are always named, so that such a wait never reads as "confirmed by all".
 */
export function barrierAnswer(body: Record<string, unknown>, ev: BarrierEvent, totalMs: number, ms: number): Reply {
  const excluded = [...ev.excluded].sort((a, b) => cmp(a.name, b.name)).map((x) => ({ name: x.name, status: x.status }));
  const wait = { done: ev.done, elapsed_ms: Math.round(ev.elapsedMs), confirmed: ev.confirmed.length, timeout_ms: totalMs, excluded };
  if (ev.done) return json(200, { ...body, wait });
  const pending = [...ev.pending].sort(cmp);
  const also = excluded.length === 0 ? '' : `; ${excluded.slice(0, 10).map(exclusionText).join('; ')}${excluded.length > 10 ? '; …' : ''}`;
  return json(504, {
    ...body,
    error: `not confirmed by ${pending.length} member${pending.length === 1 ? '' : 's'} within ${formatDuration(ms)}: ${pending.slice(0, 10).join(', ')}${pending.length > 10 ? ', …' : ''}${also}`,
    pending,
    excluded,
    confirmed: ev.confirmed.length,
    wait: { ...wait, pending },
  });
}

function exclusionText(x: { name: string; status: BarrierExclusion }): string {
  return `${x.name}: ${x.status === 'left' ? 'left' : 'declared dead'} during the wait, did not confirm`;
}

/** null: no wait asked; a number: the wait in ms; a Reply: the 400 to send. */
export function parseWait(q: URLSearchParams): number | null | Reply {
  const values = q.getAll('wait');
  if (values.length === 0) return null;
  if (values.length > 1) return apiError(400, 'wait: give at most one');
  const text = values[0] as string;
  if (text === '') return DAEMON_LIMITS.waitDefaultMs;
  try {
    return parseDurationIn(text, 1, DAEMON_LIMITS.waitMaxMs);
  } catch (e) {
    if (e instanceof DurationError) return apiError(400, `wait: ${e.message}`);
    throw e;
  }
}

function note(body: unknown): string {
  if (body === undefined) return '';
  if (!isObject(body)) throw new FieldError('body', 'expected an object such as {"note": "..."} or no body');
  const extra = unknownFields(body, ['note']);
  if (extra.length > 0) throw new FieldError(extra[0] as string, 'unknown field; known fields: note');
  const n = body['note'];
  if (n === undefined) return '';
  if (typeof n !== 'string') throw new FieldError('note', 'expected a string');
  if (Buffer.byteLength(n, 'utf8') > DAEMON_LIMITS.checkNoteBytesMax) throw new FieldError('note', `longer than ${DAEMON_LIMITS.checkNoteBytesMax} bytes`);
  return n;
}

function param(ctx: RequestContext): string {
  return ctx.params['id'] ?? '';
}

function failure(e: unknown): Reply {
  if (e instanceof FieldError) return json(400, { error: e.message, field: e.field });
  if (e instanceof CatalogError) {
    const status = { invalid: 400, too_large: 413, limit: e.field === 'wait' ? 429 : 409, not_found: 404 }[e.code];
    return json(status, { error: e.message, field: e.field });
  }
  if (e instanceof CheckError) {
    const message = e.code === 'not_found' ? `${e.message}, so it takes no check reports` : e.message;
    return json(409, { error: message });
  }
  if (e instanceof ServiceOpError) return apiError(e.code === 'conflict' ? 409 : 500, e.message);
  throw e;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
