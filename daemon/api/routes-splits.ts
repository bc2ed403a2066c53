/**
 * Traffic splits: GET /v1/splits, GET /v1/splits/SERVICE (the split and how it lands on the
 * service's instances), PUT /v1/splits/SERVICE {"weights": {"v1": 90, "v2": 10}} and DELETE
 * /v1/splits/SERVICE. Mutations take `?wait=DURATION` and then answer once every live member holds
 * the write (200, with `wait`) or when time is up (504 naming the members that had not; the write
 * stands). A bad request changes nothing.
 */
import { isRoutable, type RoutingInput, type SplitPercentages, unservedVersions } from '../../client/contract/effective-weight.js';
import type { SplitDetailJson, SplitVersionJson } from '../../client/contract/json.js';
import { instanceKey, LISTED_OWNER } from '../../client/contract/service-weights.js';
import { CatalogError } from '../../protocol/catalog.js';
import type { BarrierEvent } from '../../protocol/effects.js';
import { SplitError } from '../../protocol/splits.js';
import { WaitCancelled } from '../services/barrier-waits.js';
import type { SplitsApi } from '../services/local-splits.js';
import { apiError, isObject, json, unknownFields } from './http-util.js';
import type { Reply, RequestContext, Route } from './router.js';
import { barrierAnswer, parseWait } from './routes-services.js';
import { type RoutingState, splitJson, weightsFor } from './shapes.js';

const WAIT = ['wait'] as const;

export function splitRoutes(splits: SplitsApi, routing: RoutingState): Route[] {
  return [
    { method: 'GET', pattern: '/v1/splits', body: 'none', query: [], handle: () => json(200, splits.list().map(splitJson)) },
    { method: 'GET', pattern: '/v1/splits/:service', body: 'none', query: [], handle: (ctx) => detail(splits, routing, service(ctx)) },
    {
      method: 'PUT', pattern: '/v1/splits/:service', body: 'json', query: WAIT,
      handle: (ctx) => mutate(splits, ctx, () => {
        const weights = weightsOf(ctx.body);
        if (!splits.knows(service(ctx))) throw new SplitError('not_found', 'service', `no instance of service ${JSON.stringify(service(ctx))} is registered`);
        return weights;
      }),
    },
    { method: 'DELETE', pattern: '/v1/splits/:service', body: 'none', query: WAIT, handle: (ctx) => mutate(splits, ctx, () => null) },
  ];
}

function service(ctx: RequestContext): string {
  return ctx.params['service'] ?? '';
}

function weightsOf(body: unknown): Readonly<Record<string, unknown>> {
  if (!isObject(body)) throw new SplitError('invalid', 'body', 'expected an object such as {"weights": {"v1": 90, "v2": 10}}');
  const extra = unknownFields(body, ['weights']);
  if (extra.length > 0) throw new SplitError('invalid', extra[0] as string, 'unknown field; known fields: weights');
  const w = body['weights'];
  if (!isObject(w)) throw new SplitError('invalid', 'weights', 'expected an object of version → whole percentage, such as {"v1": 90, "v2": 10}');
  return w;
}

/** `check`: validates the request and returns the weights to write (null: clear); throws SplitError. */
async function mutate(splits: SplitsApi, ctx: RequestContext, check: () => Readonly<Record<string, unknown>> | null): Promise<Reply> {
  const wait = parseWait(ctx.query);
  if (typeof wait !== 'number' && wait !== null) return wait;
  const name = service(ctx);
  let body: Record<string, unknown>;
  try {
    const weights = check();
    const after = await splits.write(name, weights);
    // `id` names what the write (and a wait) was about, as in every other mutation's answer.
    body = { id: name, split: after === null ? null : splitJson(after) };
  } catch (e) {
    if (e instanceof SplitError) return json({ invalid: 400, not_found: 404, limit: 409 }[e.code], { error: e.message, field: e.field });
    throw e;
  }
  if (wait === null) return json(200, body);
  let ev: BarrierEvent;
  try {
    ev = await splits.waitFor(name, wait, ctx.signal);
  } catch (e) {
    const status = e instanceof CatalogError ? (e.code === 'limit' ? 429 : 404) : e instanceof WaitCancelled ? 503 : 0;
    if (status === 0) throw e;
    return json(status, { ...body, error: `the split was written, but cannot wait for it: ${(e as Error).message}` });
  }
  return barrierAnswer(body, ev, wait, wait);
}

function detail(splits: SplitsApi, routing: RoutingState, name: string): Reply {
  const view = splits.list().find((s) => s.service === name);
  const instances = routing.services().filter((v) => v.name === name);
  if (view === undefined && instances.length === 0) return apiError(404, `no split and no instance of service ${JSON.stringify(name)}`);
  const split: SplitPercentages | undefined = view?.weights;
  const weights = weightsFor(routing, instances);
  const inputs: RoutingInput[] = instances.map((v) => ({
    key: instanceKey(v), version: v.version, weight: v.weight, health: v.health, draining: v.draining,
    ownerStatus: routing.member === undefined ? LISTED_OWNER : routing.member(v.node)?.status,
  }));
  const names = new Set([...Object.keys(split ?? {}), ...instances.map((v) => v.version)]);
  const versions: SplitVersionJson[] = [...names].sort().map((version) => {
    const mine = instances.map((v, i) => ({ v, input: inputs[i]! })).filter((x) => x.v.version === version);
    const list = mine.map(({ v, input }) => ({
      node: v.node, id: v.id, weight: v.weight, effective_weight: weights.get(instanceKey(v)) ?? 0, routable: isRoutable(input),
    }));
    return {
      version,
      percent: split === undefined ? null : (split[version] ?? 0),
      routable: list.filter((x) => x.routable).length,
      effective_weight: list.reduce((s, x) => s + x.effective_weight, 0),
      instances: list,
    };
  });
  const out: SplitDetailJson = {
    service: name, split: view === undefined ? null : splitJson(view), versions,
    unserved: split === undefined ? [] : unservedVersions(inputs, split),
  };
  return json(200, out);
}
