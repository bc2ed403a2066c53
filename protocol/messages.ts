/**
 * The wire types, all in one place. A packet is
 *
 *   [protocol version: u8][message type: u8][msgpack body]
 *
 * where the body is a msgpack array of the message's fields in the order listed below. Type codes are
 * append-only: never renumber or reuse one. Fields are append-only too: a decoder ignores array
 * elements past the ones it knows, so newer agents can add fields during a rolling upgrade.
 */

export const PROTOCOL_VERSION = 1;

export const MessageType = {
  Ping: 1,
  PingReq: 2,
  Ack: 3,
  Nack: 4,
  Alive: 5,
  Suspect: 6,
  Dead: 7,
  Leave: 8,
  Compound: 9,
  PushPull: 10,
  /** One service-catalog entry (or its tombstone). */
  Service: 11,
  /** A member's answer to a confirm request: the version of an entry it holds. */
  Confirm: 12,
  /** Reserved for the encrypted envelope. */
  Encrypted: 13,
  /** Propagation barrier: "tell me which version of this entry you hold". */
  ConfirmRequest: 14,
  /**
   * Cluster label in front of a packet or stream payload: [version][15][length u8][label][inner],
   * where inner is a whole packet (plain or Encrypted). Added and checked by the daemon's transport
   * layer, never by the core; an unlabelled packet belongs to the cluster named "default".
   */
  Labelled: 15,
  /** A service's traffic split (or its clearing): a last-writer-wins register no node owns. */
  Split: 16,
  /** Propagation barrier of a split: "tell me which write of this service's split you hold". */
  SplitConfirmRequest: 17,
  /** The answer: the stamp of the split write the sender holds. */
  SplitConfirm: 18,
  /** The arc of the update tree the rest of the packet is to be relayed over. */
  Relay: 19,
  /** Digest of a catalog entry: "I hold this version". */
  Have: 20,
  /** Answer to a digest: "send me this entry". */
  Want: 21,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Member status as gossiped. Codes are part of the wire format. */
export const StatusCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type MemberStatus = keyof typeof StatusCode;
export const STATUS_BY_CODE: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

/** Direct probe. `target` names the node the sender means, so a different node now on that address can ignore it. */
export interface PingMsg {
  readonly type: 'ping';
  readonly seq: number;
  readonly target: string;
  readonly source: string;
  readonly sourceHost: string;
  readonly sourcePort: number;
  /**
   * How long the sender has run, ms (capped at LIMITS.uptimeMsMax). Only in the check of a claim to
   * the sender's own name (source = target = that name); see AckMsg.uptimeMs.
   */
  readonly uptimeMs?: number;
}

/** Indirect probe request: "please ping `target` for me and tell me if it answers". */
export interface PingReqMsg {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: string;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly source: string;
  readonly sourceHost: string;
  readonly sourcePort: number;
  /** The requester wants a nack if the target does not answer in time (Lifeguard). */
  readonly wantNack: boolean;
  /**
   * How long the requester still waits for an answer, ms, counted from when it sent this
   * (appended field: absent from older agents). The relay times its nack inside this window.
   */
  readonly budgetMs?: number;
}

export interface AckMsg {
  readonly type: 'ack';
  readonly seq: number;
  /**
   * How long the answering process has run, ms (capped at LIMITS.uptimeMsMax). Sent only in answer
   * to a ping whose source is the receiver's own name, the check of a claim to that name: of two
   * live processes with one name, the newer steps aside.
   */
  readonly uptimeMs?: number;
}

export interface NackMsg {
  readonly type: 'nack';
  readonly seq: number;
}

export interface AliveMsg {
  readonly type: 'alive';
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
}

export interface SuspectMsg {
  readonly type: 'suspect';
  readonly name: string;
  readonly incarnation: number;
  /** The accuser; distinct accusers are Lifeguard's independent confirmations. */
  readonly from: string;
}

export interface DeadMsg {
  readonly type: 'dead';
  readonly name: string;
  readonly incarnation: number;
  readonly from: string;
}

export interface LeaveMsg {
  readonly type: 'leave';
  readonly name: string;
  readonly incarnation: number;
}

/** Several messages in one datagram; a compound never nests another compound. */
export interface CompoundMsg {
  readonly type: 'compound';
  readonly parts: readonly GossipMsg[];
}

/** One member's state in a push-pull exchange. */
export interface MemberState {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
  /**
   * For dead and left members: ms since the sender saw the status change (appended field, absent
   * from older agents). An importer backdates the member's record by it, so that every node reaps
   * the member at about the same moment instead of restarting the clock on every exchange.
   */
  readonly ageMs?: number;
}

/**
 * A 64-bit summary of a node's state as two unsigned 32-bit lanes (state-digest.ts computes it):
 * on the wire, an array of the two.
 */
export interface StateDigest {
  readonly a: number;
  readonly b: number;
}

/** Full-state exchange over a reliable stream, both the request and the reply. */
export interface PushPullMsg {
  readonly type: 'push-pull';
  /** True when the sender is joining; the receiver then answers even if it would otherwise rate-limit. */
  readonly join: boolean;
  readonly source: string;
  readonly members: readonly MemberState[];
  /**
   * Catalog entries and tombstones of the sender, in key order, as many as fit one state (appended
   * field: absent from older agents, whose state is the first entries in their own order).
   */
  readonly services: readonly ServiceMsg[];
  /**
   * In a request: send me your entries after this key (absent: from the first). Appended field;
   * an older agent ignores it and answers with its first page.
   */
  readonly pageFrom?: CatalogCursor;
  /** The sender's entries did not all fit: more follow after this key (absent: none). Appended field. */
  readonly moreAfter?: CatalogCursor;
  /** Every split the sender holds, cleared ones included, in every page. Appended field. */
  readonly splits?: readonly SplitMsg[];
  /**
   * In a periodic request: the sender's state digest, sent instead of its state. A receiver whose
   * own digest is equal answers `inSync`; otherwise (and an older agent, which ignores it) with its
   * full state. Appended field.
   */
  readonly digest?: StateDigest;
  /** In a reply: the digests were equal, and no state follows. Appended field. */
  readonly inSync?: boolean;
}

/**
 * A service's traffic split: version label → whole percent, summing to 100 (`cleared`: the split
 * was removed, and `weights` is empty). Any node may write it; the write with the highest
 * (wallMs, counter, writer) wins everywhere (hlc.ts), and a clearing is kept as a tombstone so an
 * older split cannot come back.
 */
export interface SplitMsg {
  readonly type: 'split';
  readonly service: string;
  readonly wallMs: number;
  readonly counter: number;
  readonly writer: string;
  readonly cleared: boolean;
  /** [version, percent] pairs, labels distinct, in label order. */
  readonly weights: readonly (readonly [string, number])[];
}

/** Split barrier: `from` asks which write of `service`'s split the receiver holds. */
export interface SplitConfirmRequestMsg {
  readonly type: 'split-confirm-request';
  readonly reqId: number;
  readonly service: string;
  readonly from: string;
  /** Echoed in the answer (see ConfirmRequestMsg.life). */
  readonly life: number;
}

/** The answer: the stamp of the write `from` holds ((0, 0, "") when it holds none). */
export interface SplitConfirmMsg {
  readonly type: 'split-confirm';
  readonly reqId: number;
  readonly service: string;
  readonly wallMs: number;
  readonly counter: number;
  readonly writer: string;
  readonly from: string;
  readonly life: number;
}

/**
 * A position in the catalog's key order (owner, then id, compared as catalogKey strings): a page
 * of a push-pull state starts after one and may end with one.
 */
export interface CatalogCursor {
  readonly node: string;
  readonly id: string;
}

/** Health of a service instance. Codes are part of the wire format. */
export const HealthCode = { passing: 0, warning: 1, critical: 2 } as const;
export type Health = keyof typeof HealthCode;
export const HEALTH_BY_CODE: readonly Health[] = ['passing', 'warning', 'critical'];

/**
 * One service instance, owned by the node that registered it. `rev` is the owner's version
 * counter: the highest wins everywhere. A deregistration is a tombstone (`deleted`), whose other
 * fields are empty; it outranks every older version so no stale copy can bring the entry back.
 */
export interface ServiceMsg {
  readonly type: 'service';
  readonly node: string;
  readonly id: string;
  readonly rev: number;
  readonly deleted: boolean;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  /** Key/value pairs, sent as a list of pairs (never as a map: no key can reach an object prototype). */
  readonly meta: readonly (readonly [string, string])[];
  readonly version: string;
  readonly weight: number;
  readonly health: Health;
  readonly draining: boolean;
}

/** Propagation barrier: `from` asks which version of (owner, id) the receiver holds. */
export interface ConfirmRequestMsg {
  readonly type: 'confirm-request';
  readonly reqId: number;
  readonly owner: string;
  readonly id: string;
  readonly rev: number;
  readonly from: string;
  /**
   * Appended field: a number drawn once per process of the owner, echoed in the answer, so that an
   * answer meant for a previous life of the owner is not counted by the restarted one. An older
   * agent sends none.
   */
  readonly life?: number;
}

/** The answer: `from` holds version `rev` of (owner, id) (0 when it holds none). */
export interface ConfirmMsg {
  readonly type: 'confirm';
  readonly reqId: number;
  readonly owner: string;
  readonly id: string;
  readonly rev: number;
  readonly from: string;
  /** Appended field: the request's `life`, echoed; absent when the request had none or from an older agent. */
  readonly life?: number;
}

/**
 * The catalog updates in the rest of this packet are to be relayed over the ring arc (lo, hi]
 * (ring.ts): the receiver splits the arc among its members. lo === hi is an empty arc.
 */
export interface RelayMsg {
  readonly type: 'relay';
  readonly lo: number;
  readonly hi: number;
}

/** The sender holds version `rev` of catalog entry (node, id) (a tombstone counts). */
export interface HaveMsg {
  readonly type: 'have';
  readonly node: string;
  readonly id: string;
  readonly rev: number;
}

/** The sender lacks version `rev` of (node, id) and asks for the entry. */
export interface WantMsg {
  readonly type: 'want';
  readonly node: string;
  readonly id: string;
  readonly rev: number;
}

/** Messages that may travel in a datagram (alone or inside a compound). */
export type GossipMsg =
  | PingMsg
  | PingReqMsg
  | AckMsg
  | NackMsg
  | AliveMsg
  | SuspectMsg
  | DeadMsg
  | LeaveMsg
  | ServiceMsg
  | ConfirmRequestMsg
  | ConfirmMsg
  | SplitMsg
  | SplitConfirmRequestMsg
  | SplitConfirmMsg
  | RelayMsg
  | HaveMsg
  | WantMsg;

export type PacketMsg = GossipMsg | CompoundMsg;
export type Message = PacketMsg | PushPullMsg;

/** Why a decode failed. Every reason is a counter label in the daemon's metrics. */
export type DecodeErrorReason =
  | 'empty'
  | 'too_large'
  | 'bad_version'
  | 'unknown_type'
  | 'malformed'
  | 'bad_field'
  | 'too_many';

export interface DecodeError {
  readonly ok: false;
  readonly reason: DecodeErrorReason;
  readonly detail: string;
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | DecodeError;
