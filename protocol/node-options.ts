import type { HlcStamp } from './hlc.js';
import type { MemberNames } from './member-index.js';
import type { SplitMsg } from './messages.js';
import type { Profile } from './profiles.js';

/** How a SwimNode starts. */
export interface SwimNodeOptions {
  readonly name: string;
  /** The address other members reach this node at (the advertised address). */
  readonly host: string;
  readonly port: number;
  readonly profile: Profile;
  /** Seed of the node's random source. */
  readonly seed: number;
  /** Current time, ms (any monotonic epoch; the simulator starts at 0). */
  readonly now: number;
  /** Lowest incarnation to start from (persisted by the daemon so a restart refutes a stale death). */
  readonly incarnation?: number;
  /** Datagram size limit; defaults to LIMITS.packetBytesDefault. */
  readonly packetBytes?: number;
  /** Version counter of this node's own catalog entries to continue from (persisted by the daemon). */
  readonly catalogRevision?: number;
  /**
   * Bytes of catalog entries one push-pull state carries; defaults to (and never exceeds)
   * LIMITS.pushPullServiceBytesMax. Smaller only to exercise paging without megabytes of entries.
   */
  readonly pushPullServiceBytes?: number;
  /** Splits held by a previous process of this node, tombstones included (persisted by the daemon). */
  readonly splits?: readonly SplitMsg[];
  /** The hybrid clock a previous process reached (persisted), so that its writes never go back. */
  readonly splitClock?: HlcStamp;
  /**
   * For simulators: the reconnect tick's push-pull request, usually to a dead member, is encoded
   * only when the effect's bytes are read, so a driver that knows the peer is down and never reads
   * them saves the encoding of a full state. Read before the node's next input, the bytes are
   * those an eager encoding gives. Off in the daemon: an encoding error must surface inside the
   * input that caused it.
   */
  readonly lazyReconnectState?: boolean;
  /**
   * Maps a member name or host to one shared copy, for member records (see MemberTable); a
   * simulator shares one between all its nodes. Default: each record keeps the string it was given.
   */
  readonly intern?: (s: string) => string;
  /**
   * A registry of member names shared by every node of a simulator, so that each member table
   * finds a name's row through an array instead of a Map of its own (member-index.ts).
   */
  readonly memberNames?: MemberNames;
}
