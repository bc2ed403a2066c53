/**
 * Answers from the agent arrive as unknown JSON and become typed values only here, after their shape
 * has been checked. Unknown extra fields are kept where the type allows (the contract only adds fields),
 * and a missing or mistyped contract field is a bad_response naming the field.
 */
import { HEALTHS, MEMBER_STATUSES, type JoinResult, type Member, type ServiceEntry } from './contract/json.js';
import { ClientError } from './error.js';
import { isRoutable } from './contract/effective-weight.js';
import { LISTED_OWNER } from './contract/service-weights.js';

export interface Info {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Members known, self included. */
  readonly members: number;
  /** Members alive, self included. */
  readonly alive: number;
  /** Any further fields the agent reports (profile, cluster, version, ...), shown as they come. */
  readonly [field: string]: unknown;
}

export function badResponse(what: string): ClientError {
  return new ClientError('bad_response', `unexpected answer from the agent: ${what}`);
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badResponse(`${what} is not valid JSON`);
  }
}

export type Obj = Readonly<Record<string, unknown>>;

export function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badResponse(`${what} is not an object`);
  return v as Obj;
}

export function asArray(v: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(v)) throw badResponse(`${what} is not an array`);
  return v;
}

export function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw badResponse(`${what}.${key} is not a string`);
  return v;
}

export function int(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw badResponse(`${what}.${key} is not a non-negative integer`);
  return v;
}

export function num(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badResponse(`${what}.${key} is not a number`);
  return v;
}

export function bool(o: Obj, key: string, what: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw badResponse(`${what}.${key} is not a boolean`);
  return v;
}

export function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], what: string): T {
  const v = o[key];
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw badResponse(`${what}.${key} is not one of ${allowed.join(', ')}`);
  return found;
}

export function decodeMember(v: unknown, what: string): Member {
  const o = asObject(v, what);
  return {
    name: str(o, 'name', what),
    address: str(o, 'address', what),
    port: int(o, 'port', what),
    status: oneOf(o, 'status', MEMBER_STATUSES, what),
    incarnation: int(o, 'incarnation', what),
  };
}

export function decodeMembers(v: unknown): Member[] {
  return asArray(v, 'members').map((m, i) => decodeMember(m, `members[${i}]`));
}

export function decodeInfo(v: unknown): Info {
  const o = asObject(v, 'info');
  return {
    ...o,
    name: str(o, 'name', 'info'),
    address: str(o, 'address', 'info'),
    port: int(o, 'port', 'info'),
    members: int(o, 'members', 'info'),
    alive: int(o, 'alive', 'info'),
  };
}

export function decodeService(v: unknown, what: string): ServiceEntry {
  const o = asObject(v, what);
  const tags = asArray(o['tags'], `${what}.tags`).map((t, i) => {
    if (typeof t !== 'string') throw badResponse(`${what}.tags[${i}] is not a string`);
    return t;
  });
  const metaObj = asObject(o['meta'], `${what}.meta`);
  const meta: Record<string, string> = {};
  for (const [k, val] of Object.entries(metaObj)) {
    if (typeof val !== 'string') throw badResponse(`${what}.meta.${k} is not a string`);
    meta[k] = val;
  }
  const entry = {
    node: str(o, 'node', what),
    id: str(o, 'id', what),
    name: str(o, 'name', what),
    address: str(o, 'address', what),
    port: int(o, 'port', what),
    tags,
    meta,
    version: str(o, 'version', what),
    weight: num(o, 'weight', what),
    health: oneOf(o, 'health', HEALTHS, what),
    draining: bool(o, 'draining', what),
  };
  // An agent that predates `effective_weight` knows no splits: the instance's own weight when routable.
  const effective = o['effective_weight'] === undefined
    ? (isRoutable({ ...entry, ownerStatus: LISTED_OWNER }) ? entry.weight : 0)
    : num(o, 'effective_weight', what);
  return { ...entry, effective_weight: effective };
}

export function decodeServices(v: unknown): ServiceEntry[] {
  return asArray(v, 'services').map((s, i) => decodeService(s, `services[${i}]`));
}

export function decodeJoin(v: unknown): JoinResult {
  const o = asObject(v, 'join answer');
  // `failed` was added after `joined`; an agent that omits it reported no failures.
  const failed = o['failed'] === undefined ? [] : asArray(o['failed'], 'join answer.failed').map((f, i) => {
    const what = `join answer.failed[${i}]`;
    const fo = asObject(f, what);
    return { seed: str(fo, 'seed', what), reason: str(fo, 'reason', what) };
  });
  return { joined: int(o, 'joined', 'join answer'), failed };
}

/** The agent's error body: {"error": "..."} plus whatever else it explains the failure with. */
export function errorMessage(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const e = (v as Obj)['error'];
  return typeof e === 'string' && e !== '' ? e : null;
}
