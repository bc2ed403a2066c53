import type { MemberEvent, ServiceEvent, ServiceView, SplitEvent } from '../../protocol/effects.js';
import type { Member, MemberEventKind, ServiceEventKind, ServiceJson, SplitEventKind, SplitJson } from '../../client/contract/json.js';
import { memberJson, type RoutingState, serviceJson, serviceJsonIn, splitJson } from '../api/shapes.js';
import type { AgentEvent } from '../events.js';

/**
 * The lines of the watch stream (GET /v1/watch), one JSON object each. Their shapes are part of the
 * interface contract: fields may be added, never renamed. Members and services inside them have
 * exactly the shapes of GET /v1/members and GET /v1/services, so a consumer decodes them once.
 */

export interface SnapshotLine {
  readonly type: 'snapshot';
  /** The index of the last event the snapshot includes; events follow from index + 1. */
  readonly index: number;
  /** True when the client asked to resume from an index this agent cannot resume from. */
  readonly reset: boolean;
  readonly members: readonly Member[];
  readonly services: readonly ServiceJson[];
  /** Every service's split (services without one are not listed). */
  readonly splits: readonly SplitJson[];
}

export interface MemberLine {
  readonly index: number;
  readonly type: 'member';
  readonly event: MemberEventKind;
  readonly member: Member;
}

export interface ServiceLine {
  readonly index: number;
  readonly type: 'service';
  readonly event: ServiceEventKind;
  readonly service: ServiceJson;
  /** The entry before the change, when this agent had seen one. */
  readonly previous?: ServiceJson;
}

/**
 * A service's split was set (or replaced) or cleared. Its instances' effective weights change with
 * it, without a line of their own: a consumer recomputes them (client/contract/service-weights.ts).
 */
export interface SplitLine {
  readonly index: number;
  readonly type: 'split';
  readonly event: SplitEventKind;
  readonly service: string;
  /** The split now; null once cleared. */
  readonly split: SplitJson | null;
  /** The split before, when there was one. */
  readonly previous?: SplitJson;
}

/** Written on an idle stream: the index is the last event written, a valid resume point. */
export interface HeartbeatLine {
  readonly type: 'heartbeat';
  readonly index: number;
}

/** The last line of a stream the agent ends; `index` is the last event written, to resume from. */
export interface ErrorLine {
  readonly type: 'error';
  readonly index: number;
  readonly error: string;
}

export type EventLine = MemberLine | ServiceLine | SplitLine;

/** `state`: the agent's view just after the event, which the entries' effective weights are read from. */
export function eventLine(index: number, event: AgentEvent, state: RoutingState): EventLine {
  switch (event.type) {
    case 'member': return memberLine(index, event);
    case 'service': return serviceLine(index, event, state);
    case 'split': return splitLine(index, event);
  }
}

function splitLine(index: number, e: SplitEvent): SplitLine {
  const base = { index, type: 'split' as const, event: e.split === null ? 'cleared' as const : 'set' as const, service: e.service, split: e.split === null ? null : splitJson(e.split) };
  return e.previous === null ? base : { ...base, previous: splitJson(e.previous) };
}

function memberLine(index: number, e: MemberEvent): MemberLine {
  return { index, type: 'member', event: memberEventKind(e), member: memberJson(e.member) };
}

export function memberEventKind(e: MemberEvent): MemberEventKind {
  if (e.reaped === true) return 'reaped';
  const status = e.member.status;
  if (e.previous === null) {
    // First sight of a member already dead or gone (learned by push-pull) is not a join.
    return status === 'alive' || status === 'suspect' ? 'joined' : status;
  }
  return e.previous === status ? 'updated' : status;
}

/**
 * The entry's effective weight is its share once the change is made (0 once deregistered); the
 * previous entry's is what its share was, its siblings as they are now.
 */
function serviceLine(index: number, e: ServiceEvent, state: RoutingState): ServiceLine {
  const service = e.change === 'deregistered' ? serviceJson(e.service, 0) : serviceJsonIn(state, e.service);
  const base = { index, type: 'service' as const, event: serviceEventKind(e), service };
  return e.previous === null ? base : { ...base, previous: serviceJsonIn(state, e.previous) };
}

/**
 * The core reports a change as registered, updated or deregistered; an update whose only visible
 * difference is health or draining is named for it, since that is what proxies act on.
 */
export function serviceEventKind(e: ServiceEvent): ServiceEventKind {
  if (e.change !== 'updated' || e.previous === null) return e.change;
  const changed = changedFields(e.previous, e.service);
  if (changed.length === 1 && changed[0] === 'health') return 'health';
  if (changed.length === 1 && changed[0] === 'draining') return e.service.draining ? 'drained' : 'undrained';
  return 'updated';
}

/** Fields a consumer sees that differ; the owner's version counter changes with every update, so it is left out. */
function changedFields(a: ServiceView, b: ServiceView): (keyof ServiceView)[] {
  const keys = (Object.keys(a) as (keyof ServiceView)[]).filter((k) => k !== 'rev');
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k]));
}

/** Meta maps compare by content: the same pairs may arrive in another order. */
function canonical(v: ServiceView[keyof ServiceView]): string {
  if (typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return JSON.stringify(v);
}
