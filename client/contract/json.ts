/**
 * The JSON the agent writes on its local socket, declared once for both ends: the daemon's routes and
 * watch stream are typed against these shapes, and the client decodes answers into them. Fields may be
 * added, never renamed. Entries are type aliases rather than interfaces, so that they pass where any
 * JSON object is expected.
 *
 * A member's status and a service's health are the core's own (protocol/messages.ts): the agent writes
 * them as the core reports them, so the API's sets are by construction the core's sets.
 */
import type { ServiceView } from '../../protocol/effects.js';
import type { Health, MemberStatus } from '../../protocol/messages.js';

export type { Health, MemberStatus };
export const MEMBER_STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
export const HEALTHS: readonly Health[] = ['passing', 'warning', 'critical'];

/** One entry of GET /v1/members; also the `member` of watch lines. */
export type Member = {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly status: MemberStatus;
  readonly incarnation: number;
};

/**
 * An entry as the agent writes it: the core's view of the instance (protocol/effects.ts ServiceView),
 * written field for field, `rev` (the owner's version counter of the instance) included. Declared by
 * the core once, so the JSON and the view cannot drift apart.
 *
 * `effective_weight`: the instance's share of its service's traffic as this agent sees it, from
 * client/contract/effective-weight.ts: 0 when it is not routable; with no split its own weight; with
 * a split, in percent of the service's traffic. It is computed when the agent writes the entry: a
 * change of a sibling instance or of the split changes it without a line for this instance (see
 * service-weights.ts for how a watcher keeps it right).
 */
export type ServiceJson = { readonly [K in keyof ServiceView]: ServiceView[K] } & { readonly effective_weight: number };

/** One entry of GET /v1/services as a consumer reads it; also the `service` of watch lines. */
export type ServiceEntry = Omit<ServiceJson, 'rev'>;

/** A seed a join could not reach, and why. */
export interface JoinFailure {
  readonly seed: string;
  readonly reason: string;
}

/** The answer to POST /v1/join; the agent's own failures may say more than the contract's. */
export interface JoinResult<Failure extends JoinFailure = JoinFailure> {
  /** Seeds that answered the join's state exchange. */
  readonly joined: number;
  /** Seeds that did not, with why. */
  readonly failed: readonly Failure[];
}

/**
 * One key of GET /v1/keyring (and of the answers of its mutations). The key itself is never served:
 * anyone in the socket's group could read it. `fingerprint` names it (client/contract/key.ts).
 */
export interface KeyringKey {
  readonly fingerprint: string;
  readonly primary: boolean;
}

/**
 * The `event` of a member line of the watch stream. `reaped`: a dead or left member was forgotten and
 * is no longer in the view (the line carries its last state). An agent may add kinds.
 */
export type MemberEventKind = 'joined' | 'suspect' | 'alive' | 'dead' | 'left' | 'updated' | 'reaped';
/** The `event` of a service line of the watch stream. An agent may add kinds. */
export type ServiceEventKind = 'registered' | 'updated' | 'health' | 'drained' | 'undrained' | 'deregistered';

/**
 * A service's traffic split (GET /v1/splits, the watch stream): version label → whole percent, the
 * values summing to 100. `writer` and `hlc` identify the write that set it: of concurrent writes,
 * the highest (hlc.wall_ms, hlc.counter, writer) wins on every agent.
 */
export type SplitJson = {
  readonly service: string;
  readonly weights: Readonly<Record<string, number>>;
  readonly writer: string;
  readonly hlc: { readonly wall_ms: number; readonly counter: number };
};

/** One version of a service as GET /v1/splits/SERVICE shows it. */
export type SplitVersionJson = {
  readonly version: string;
  /** The split's percentage for it; null when the service has no split. */
  readonly percent: number | null;
  /** Routable instances of this version, and the sum of their effective weights. */
  readonly routable: number;
  readonly effective_weight: number;
  readonly instances: readonly { readonly node: string; readonly id: string; readonly weight: number; readonly effective_weight: number; readonly routable: boolean }[];
};

/** GET /v1/splits/SERVICE: the split (null: none) and how it lands on the service's instances. */
export type SplitDetailJson = {
  readonly service: string;
  readonly split: SplitJson | null;
  readonly versions: readonly SplitVersionJson[];
  /** Versions the split gives a share that have no routable instance: that share goes unused. */
  readonly unserved: readonly string[];
};

/** The `event` of a split line of the watch stream. */
export type SplitEventKind = 'set' | 'cleared';
