/** The simulator's public types: what it drives, how it is configured, what it reports. */
import type { CoreNode } from '../core.js';
import type { BarrierEvent, Effect, MemberEvent, NameConflict } from '../effects.js';
import type { SwimNodeOptions } from '../node.js';
import type { Profile } from '../profiles.js';
import type { HlcStamp } from '../hlc.js';
import type { SplitMsg } from '../messages.js';
import type { RegionLatencies } from './network.js';


/** Builds a node; called on addNode and again, with a fresh seed, on every restart. */
export type NodeFactory<N extends CoreNode> = (opts: SwimNodeOptions) => N;

export interface SimulatorOptions<N extends CoreNode> {
  /** Seeds everything: the network's draws and, derived per node and per restart, each node's Rng. */
  readonly seed: number;
  /** Timing profile given to every node; default 'lan'. */
  readonly profile?: Profile | Profile['name'];
  /** Base one-way latency, ms; default 1. */
  readonly latencyMs?: number;
  /** Latency is uniform in [latency - jitter, latency + jitter]; default 0. */
  readonly jitterMs?: number;
  /**
   * A fleet over regions: node i lives in region i mod the region count, and every datagram and
   * stream between two nodes takes their regions' one-way latency plus jitter in [0, jitterMs)
   * (latencyMs and jitterMs above then apply to nothing). Default: no regions.
   */
  readonly regions?: RegionLatencies;
  /** Probability that any datagram is lost; default 0. */
  readonly loss?: number;
  /** Port of every simulated node; default 7946. */
  readonly port?: number;
  /** Datagram size limit passed to each node. */
  readonly packetBytes?: number;
  /** A push-pull to a down or unreachable peer fails after this long; default 1000 ms. */
  readonly connectTimeoutMs?: number;
  /** A push-pull whose reply has not arrived after this long fails; default 10000 ms. */
  readonly streamTimeoutMs?: number;
  /** Datagrams held for a paused node; more are dropped (a full socket buffer). Default 1024. */
  readonly recvQueueMax?: number;
  /** A run call that processes more events than this throws (a runaway guard). Default 50,000,000. */
  readonly maxEventsPerRun?: number;
  /** Keep member events in `events`; default true. Large benchmarks turn it off and use onEvent. */
  readonly recordEvents?: boolean;
  /** Cap of the recorded event log; later events are counted, not kept. Default 1,000,000. */
  readonly eventLogMax?: number;
  /** Called for every member event as it is emitted. It must not call back into the simulator. */
  readonly onEvent?: (time: number, observer: string, event: MemberEvent) => void;
  /** Called for every name conflict a node reports. It must not call back into the simulator. */
  readonly onConflict?: (time: number, observer: string, conflict: NameConflict) => void;
  /** Called for every propagation barrier that finishes. It must not call back into the simulator. */
  readonly onBarrier?: (time: number, observer: string, event: BarrierEvent) => void;
  /**
   * Called for every effect a node returns (sends, events, service and barrier outcomes, rejections),
   * after the simulator carried it out, with the id of the node. It must not call back into the simulator.
   */
  readonly onEffect?: (time: number, node: string, effect: Effect) => void;
  /**
   * Set it to survive errors a node throws on an input (a packet, a timer, a stream): the input is
   * lost, the node keeps running, and this is told. Unset, such an error ends the run call.
   */
  readonly onNodeError?: (time: number, node: string, input: string, error: unknown) => void;
  /** Node constructor; default builds a SwimNode. Required whenever N is not SwimNode. */
  readonly factory?: NodeFactory<N>;
}

/** A propagation barrier that finished on `observer` (the owner of the entry waited for). */
export interface SimBarrierRecord {
  readonly time: number;
  readonly observer: string;
  readonly event: BarrierEvent;
}

export interface SimEventRecord {
  readonly time: number;
  readonly observer: string;
  readonly event: MemberEvent;
}

export interface DropCounts {
  /** Random loss (global, per link or per node). */
  loss: number;
  /** Partitions and one-way blocks. */
  partition: number;
  /** The destination was crashed when the datagram arrived. */
  down: number;
  /** No simulated node has the destination address. */
  noRoute: number;
  /** The destination was paused and its receive queue was full. */
  overflow: number;
}

export interface SimStats {
  /** Simulator events processed (wake-ups, deliveries, ...). */
  events: number;
  packetsSent: number;
  bytesSent: number;
  packetsDelivered: number;
  bytesDelivered: number;
  packetsDropped: number;
  readonly drops: DropCounts;
  pushPullsStarted: number;
  pushPullsCompleted: number;
  pushPullsFailed: number;
  /** Request and reply bytes of push-pull streams (a request to a peer that is down or cut off sends none). */
  pushPullBytes: number;
  memberEvents: number;
  /** Service-catalog view changes the nodes reported (carried to onEffect only). */
  serviceEvents: number;
  /** Propagation barrier outcomes the nodes reported (carried to onEffect only). */
  barrierEvents: number;
  /** Datagrams injected from addresses outside the simulated nodes. */
  injected: number;
  /** Inputs a node threw on (only counted when onNodeError is set). */
  nodeErrors: number;
  /** Member events not kept because recording is off or the log is full. */
  eventsNotRecorded: number;
  /** Inputs the nodes rejected, by reason. */
  readonly rejected: Map<string, number>;
  /** Name conflicts the nodes reported (see NameConflict). */
  nameConflicts: number;
}

export interface AddNodeOptions {
  /** The member name the node goes by, when it differs from its id (a clone of another node's name). */
  readonly memberName?: string;
}

export interface JoinAllOptions {
  /** Spread the joins uniformly (seeded) over this many ms from now; default 0 (all at once). */
  readonly spreadMs?: number;
}

/**
 * How a restarted process starts. Without incarnation and catalogRevision it has lost all state (a
 * new disk, a wiped data directory); with them it recovered what the daemon persists.
 */
export interface RestartOptions {
  /** Lowest incarnation the new process starts from. */
  readonly incarnation?: number;
  /** Version counter of its own catalog entries to continue from. */
  readonly catalogRevision?: number;
  /** Join through these nodes (by name) right after the restart. */
  readonly seeds?: readonly string[];
  /** Splits and hybrid clock the process recovers from disk. */
  readonly splits?: readonly SplitMsg[];
  readonly splitClock?: HlcStamp;
}

/** Thrown when one run call processes more events than maxEventsPerRun. */
export class SimRunawayError extends Error {
  constructor(readonly events: number, readonly time: number) {
    super(`simulator processed ${events} events in one run call (virtual time ${time} ms); runaway?`);
    this.name = 'SimRunawayError';
  }
}
