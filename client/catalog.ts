/**
 * Client-side types and decoding for the catalog mutations (register, deregister, drain, undrain,
 * TTL check reports) and their `?wait=` propagation barrier.
 */
import { ClientError } from './error.js';
import type { ServiceEntry } from './contract/json.js';
import { asArray, asObject, badResponse, bool, decodeService, int, oneOf, str } from './decode.js';
import { DurationError, parseDuration } from './contract/duration.js';

/**
 * How long a mutation may wait for every alive member to confirm it: a number of milliseconds or a
 * duration string the agent understands ("500ms", "5s", "1m").
 */
export type Wait = number | string;

export interface WaitOption {
  readonly wait?: Wait;
}

/** How a member that was alive during a wait stopped holding it up: declared dead, or left. */
export type ExclusionStatus = 'dead' | 'left';
export const EXCLUSION_STATUSES: readonly ExclusionStatus[] = ['dead', 'left'];

/** A member alive at some point of a wait that was declared dead or left without confirming. */
export interface ExcludedMember {
  readonly name: string;
  readonly status: ExclusionStatus;
}

/** How a `wait` ended. */
export interface WaitOutcome {
  /** True when every member still alive confirmed before the time ran out. */
  readonly done: boolean;
  readonly elapsedMs: number;
  /** How many members confirmed. */
  readonly confirmed: number;
  /** Members that had not confirmed (empty when done). */
  readonly pending: readonly string[];
  /**
   * Members alive at some point of the wait that were declared dead or left without confirming
   * (empty from an agent that predates the field). All confirmed only when this is empty too.
   */
  readonly excluded: readonly ExcludedMember[];
  /**
   * false when a new checked registration timed out before its check passed, so no member was asked
   * yet; absent otherwise.
   */
  readonly passing?: false;
}

/** The agent's answer to a mutation. */
export interface MutationResult {
  /** The instance changed. */
  readonly id: string;
  /** The instance after the change, for the mutations that answer with it (not deregister). */
  readonly service?: ServiceEntry;
  /** Present when the mutation was asked to wait. */
  readonly wait?: WaitOutcome;
}

/**
 * A mutation asked to wait was made, but not every alive member confirmed it in time. The change
 * stands; `pending` names the members that had not confirmed.
 */
export class NotConfirmedError extends ClientError {
  constructor(message: string, readonly id: string, readonly outcome: WaitOutcome, status: number, body: unknown) {
    super('not_confirmed', message, { status, body });
  }
}

/** Milliseconds of a wait, for stretching the request timeout; an unparsable one adds nothing (the agent refuses it). */
export function waitMs(w: Wait | undefined): number {
  if (w === undefined) return 0;
  if (typeof w === 'number') return Math.max(0, w);
  try {
    return parseDuration(w);
  } catch (e) {
    if (e instanceof DurationError) return 0;
    throw e;
  }
}

export function waitQuery(w: Wait | undefined): string {
  if (w === undefined) return '';
  const text = typeof w === 'number' ? `${Math.round(w)}ms` : w;
  return `?wait=${encodeURIComponent(text)}`;
}

function names(v: unknown, what: string): string[] {
  return asArray(v, what).map((p, i) => {
    if (typeof p !== 'string') throw badResponse(`${what}[${i}] is not a string`);
    return p;
  });
}

/** `excluded` was added to the answer later: an agent that omits it excluded nobody it could say. */
function excludedMembers(v: unknown, what: string): ExcludedMember[] {
  if (v === undefined) return [];
  return asArray(v, what).map((x, i) => {
    const w = `${what}[${i}]`;
    const o = asObject(x, w);
    return { name: str(o, 'name', w), status: oneOf(o, 'status', EXCLUSION_STATUSES, w) };
  });
}

function decodeWait(v: unknown, what: string): WaitOutcome {
  const o = asObject(v, what);
  const pending = o['pending'] === undefined ? [] : names(o['pending'], `${what}.pending`);
  const excluded = excludedMembers(o['excluded'], `${what}.excluded`);
  // An agent that timed out waiting for a check to pass once answered without elapsed_ms and confirmed:
  // it had waited the whole timeout and asked nobody.
  const passing = o['passing'] === undefined ? undefined : bool(o, 'passing', what);
  const elapsedMs = o['elapsed_ms'] === undefined && passing === false ? int(o, 'timeout_ms', what) : int(o, 'elapsed_ms', what);
  const confirmed = o['confirmed'] === undefined && passing === false ? 0 : int(o, 'confirmed', what);
  return { done: bool(o, 'done', what), elapsedMs, confirmed, pending, excluded, ...(passing === false ? { passing } : {}) };
}

/** `withService`: the answer is the instance itself (register, drain, undrain, check), not just its id. */
export function decodeMutation(v: unknown, what: string, withService: boolean): MutationResult {
  const o = asObject(v, what);
  const id = str(o, 'id', what);
  const service = withService ? decodeService(o, what) : undefined;
  const wait = o['wait'] === undefined ? undefined : decodeWait(o['wait'], `${what}.wait`);
  return { id, ...(service === undefined ? {} : { service }), ...(wait === undefined ? {} : { wait }) };
}

/**
 * An error answer to a mutation that waited: when its body says which members had not confirmed,
 * it becomes a NotConfirmedError; anything else is returned as it was. A wait report the client
 * cannot read never hides the agent's own message: the error then stays the agent's 'http' error.
 */
export function notConfirmed(e: ClientError): ClientError {
  if (e.code !== 'http' || typeof e.body !== 'object' || e.body === null || Array.isArray(e.body)) return e;
  const body = e.body as Readonly<Record<string, unknown>>;
  if (!Array.isArray(body['pending']) || typeof body['id'] !== 'string') return e;
  try {
    const pending = names(body['pending'], 'wait answer.pending');
    const outcome = body['wait'] === undefined
      ? { done: false, elapsedMs: 0, confirmed: int(body, 'confirmed', 'wait answer'), pending, excluded: excludedMembers(body['excluded'], 'wait answer.excluded') }
      : { ...decodeWait(body['wait'], 'wait answer.wait'), pending };
    return new NotConfirmedError(e.message, body['id'], outcome, e.status ?? 0, e.body);
  } catch (decodeError) {
    if (decodeError instanceof ClientError) return e;
    throw decodeError;
  }
}
