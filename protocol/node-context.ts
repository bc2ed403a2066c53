import type { Awareness } from './awareness.js';
import type { Effect } from './effects.js';
import { LIMITS } from './limits.js';
import type { MemberRecord, MemberTable } from './member-table.js';
import type { Profile } from './profiles.js';
import type { Proximity } from './proximity.js';
import type { Rng } from './rng.js';
import type { TimerSet } from './timers.js';

/** Counters a node keeps about its own protocol activity (exported as metrics by the daemon). */
export interface NodeStats {
  probesSent: number;
  probesFailed: number;
  indirectProbesSent: number;
  suspicionsRaised: number;
  suspicionsRefuted: number;
  declaredDead: number;
  probeRttSumMs: number;
  probeRttCount: number;
  /** Probes dropped without judgement because this node itself ran late (e.g. it was paused). */
  probesInconclusive: number;
}

/** Request ids wrap past LIMITS.seqMax, as they are unsigned 32-bit on the wire. */
const SEQ_MOD = LIMITS.seqMax + 1;

/**
 * State shared by the parts of one node (membership, probing, dissemination, catalog): the clock
 * of the current input, the effects it produces, and the structures every part reads.
 */
export class NodeContext {
  now: number;
  out: Effect[] = [];
  private seq = 0;
  /** Round trips measured by probing, read by dissemination (set by the node once built). */
  proximity: Proximity | undefined = undefined;

  constructor(
    readonly name: string,
    readonly profile: Profile,
    readonly packetBytes: number,
    readonly rng: Rng,
    readonly table: MemberTable,
    readonly selfRecord: MemberRecord,
    readonly deadlines: TimerSet,
    readonly awareness: Awareness,
    readonly stats: NodeStats,
    now: number,
  ) {
    this.now = now;
    this.startedAt = now;
  }

  /** When this process started (the core's clock at construction). */
  readonly startedAt: number;

  /** How long this process has run, ms, as reported to a process that claims the same name. */
  uptimeMs(): number {
    return Math.min(LIMITS.uptimeMsMax, Math.max(0, Math.floor(this.now - this.startedAt)));
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) % SEQ_MOD;
    return this.seq;
  }

  flush(): Effect[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}
