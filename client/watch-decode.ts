/**
 * Lines of the watch stream (GET /v1/watch), decoded and checked like every other answer. Each
 * decoded event keeps the line's other fields as they came, so re-serializing it loses nothing the
 * agent added; members and services are checked with the decoders of /v1/members and /v1/services.
 */
import type { Member, MemberEventKind, ServiceEntry, ServiceEventKind, SplitEventKind, SplitJson } from './contract/json.js';
import { asArray, asObject, badResponse, decodeMember, decodeService, int, parseJson, str } from './decode.js';
import { decodeSplit } from './splits.js';

/**
 * The agent's whole view; the events after it continue from `index`. `reset` is true when the
 * client asked to resume from an index the agent could not resume from (too old, or from before an
 * agent restart): whatever the consumer built from earlier lines must be replaced by this.
 */
export interface WatchSnapshot {
  readonly type: 'snapshot';
  readonly index: number;
  readonly reset: boolean;
  readonly members: readonly Member[];
  readonly services: readonly ServiceEntry[];
  /** Every service's split (empty from an agent that predates splits). */
  readonly splits: readonly SplitJson[];
  readonly [field: string]: unknown;
}

export interface WatchMemberEvent {
  readonly type: 'member';
  readonly index: number;
  readonly event: MemberEventKind | (string & {});
  readonly member: Member;
  readonly [field: string]: unknown;
}

export interface WatchServiceEvent {
  readonly type: 'service';
  readonly index: number;
  readonly event: ServiceEventKind | (string & {});
  readonly service: ServiceEntry;
  /** The entry before the change, when the agent had seen one. */
  readonly previous?: ServiceEntry;
  readonly [field: string]: unknown;
}

/**
 * A service's split was set or cleared (`split` null). The effective weights of the service's
 * instances change with it: recompute them with serviceEffectiveWeights().
 */
export interface WatchSplitEvent {
  readonly type: 'split';
  readonly index: number;
  readonly event: SplitEventKind | (string & {});
  readonly service: string;
  readonly split: SplitJson | null;
  readonly previous?: SplitJson;
  readonly [field: string]: unknown;
}

/** Sent on an idle stream (every ~10 s), so a dead connection is noticed. */
export interface WatchHeartbeat {
  readonly type: 'heartbeat';
  readonly index: number;
  readonly [field: string]: unknown;
}

export type WatchEvent = WatchSnapshot | WatchMemberEvent | WatchServiceEvent | WatchSplitEvent | WatchHeartbeat;

/** The agent ended the stream on purpose (e.g. the reader fell too far behind): reconnect from `index`. */
export interface WatchEnd {
  readonly type: 'error';
  readonly index: number;
  readonly error: string;
}

/** A line: an event, the agent's closing error line, or null for a kind this client does not know. */
export function decodeWatchLine(line: string): WatchEvent | WatchEnd | null {
  const what = 'watch line';
  const o = asObject(parseJson(line, what), what);
  const type = str(o, 'type', what);
  const index = int(o, 'index', what);
  switch (type) {
    case 'snapshot': {
      const reset = o['reset'] ?? false;
      if (typeof reset !== 'boolean') throw badResponse(`${what}.reset is not a boolean`);
      return {
        ...o, type, index, reset,
        members: asArray(o['members'], 'snapshot.members').map((m, i) => decodeMember(m, `snapshot.members[${i}]`)),
        services: asArray(o['services'], 'snapshot.services').map((s, i) => decodeService(s, `snapshot.services[${i}]`)),
        splits: o['splits'] === undefined ? [] : asArray(o['splits'], 'snapshot.splits').map((s, i) => decodeSplit(s, `snapshot.splits[${i}]`)),
      };
    }
    case 'member':
      return { ...o, type, index, event: str(o, 'event', what), member: decodeMember(o['member'], 'member event.member') };
    case 'service': {
      const event = { ...o, type, index, event: str(o, 'event', what), service: decodeService(o['service'], 'service event.service') };
      return o['previous'] === undefined ? event : { ...event, previous: decodeService(o['previous'], 'service event.previous') };
    }
    case 'split': {
      const split = o['split'] === null ? null : decodeSplit(o['split'], 'split event.split');
      const event = { ...o, type, index, event: str(o, 'event', what), service: str(o, 'service', what), split };
      return o['previous'] === undefined ? event : { ...event, previous: decodeSplit(o['previous'], 'split event.previous') };
    }
    case 'heartbeat':
      return { ...o, type, index };
    case 'error':
      return { type, index, error: str(o, 'error', what) };
    default:
      return null;
  }
}
