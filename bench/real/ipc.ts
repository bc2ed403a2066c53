/**
 * Messages between the real-mode coordinator and its worker processes. Every request names an
 * operation and gets exactly one reply; the table below types both ends from one place.
 *
 * Times are on the shared clock (clock.ts), so a worker's "reached at" and another worker's "changed
 * at" can be subtracted.
 */
import type { Profile } from '../../protocol/profiles.js';

export interface AgentSlot {
  readonly index: number;
  readonly name: string;
}

/**
 * The loopback address agent `index` binds to: one per agent (Linux routes all of 127.0.0.0/8 to
 * the loopback interface), as each host of a fleet has its own. On one shared address the seed's
 * push-pull would take the joins as one host's and serve them four at a time (the per-address
 * stream cap that keeps a flood from one host off a joining agent's slots).
 */
export function agentHost(index: number): string {
  return `127.0.${Math.floor(index / 250)}.${(index % 250) + 1}`;
}

/** A condition on one agent's view, and the first time it held is what gets recorded. */
export type Watch =
  /** The agent lists `total` members alive, itself included. */
  | { readonly kind: 'all-alive'; readonly total: number }
  /** The agent lists `member` with this status. */
  | { readonly kind: 'member'; readonly member: string; readonly status: 'alive' | 'dead' }
  /** The agent's view holds (present) or no longer holds (absent) the entry (owner, id). */
  | { readonly kind: 'service'; readonly owner: string; readonly id: string; readonly present: boolean }
  /** Counts members other than `exclude` that the agent declares dead or suspects (no time recorded). */
  | { readonly kind: 'false-dead'; readonly exclude: readonly string[] };

export interface FalseDeadCounts {
  /** Dead events about healthy members, one per observer. */
  readonly events: number;
  /** Healthy members some observer declared dead. */
  readonly members: string[];
  /** Distinct suspicions "member:incarnation" raised about healthy members. */
  readonly suspicions: string[];
}

export interface TrafficSnapshot {
  readonly at: number;
  /** Datagrams the agents handed to their UDP socket (those the loss hook dropped included). */
  readonly udpPackets: number;
  readonly udpBytes: number;
  readonly droppedPackets: number;
  /** Bytes written on push-pull TCP connections (frames included), both directions. */
  readonly tcpBytes: number;
  readonly tcpConnections: number;
  /** CPU time this worker process has used (user + system), ms. */
  readonly cpuMs: number;
}

export interface MemorySnapshot {
  readonly rss: number;
  /** RSS before any agent started: the Node.js runtime and the bench code. */
  readonly rssBaseline: number;
  readonly heapUsed: number;
  readonly agents: number;
}

/** Operation name -> request and reply types. */
export interface Calls {
  start: { req: { agents: AgentSlot[]; dir: string; profile: Profile['name'] }; res: { ports: number[] } };
  watch: { req: { name: string; watch: Watch }; res: null };
  /** How many agents met the watch so far. */
  progress: { req: { name: string }; res: { reached: number } };
  /** First times per agent name; ends the watch. */
  collect: { req: { name: string }; res: { times: Record<string, number>; falseDead: FalseDeadCounts | null } };
  /** Agents join through `seed` at `at` plus their share of `spreadMs`; `only` limits it to some. */
  join: { req: { seed: string; at: number; spreadMs: number; total: number; only?: number[] }; res: null };
  /** Through the agent's local API socket, as a deploy tool would; times the request itself. */
  register: { req: { agent: number; id: string }; res: { sentAt: number; answeredAt: number } };
  deregister: { req: { agent: number; id: string }; res: { sentAt: number; answeredAt: number } };
  /** Stops the agent without a leave: sockets close, nothing is announced. */
  kill: { req: { agent: number }; res: { at: number } };
  /** Drops this fraction of the datagrams every agent here sends, from now on. */
  loss: { req: { fraction: number }; res: null };
  traffic: { req: null; res: TrafficSnapshot };
  /** Every sample of the running agents' /v1/metrics, summed over them ("_max" samples: the largest). */
  counters: { req: null; res: Record<string, number> };
  memory: { req: null; res: MemorySnapshot };
  /** CPU profile of this worker between start and stop, written to `file` (Chrome DevTools format). */
  profileStart: { req: null; res: null };
  profileStop: { req: { file: string }; res: null };
  /** Stops every agent and removes their files. */
  stop: { req: null; res: null };
}

export type Op = keyof Calls;

export interface RequestMsg {
  readonly seq: number;
  readonly op: Op;
  readonly args: unknown;
}

export type ReplyMsg =
  | { readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: string };
