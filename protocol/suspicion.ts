/**
 * Lifeguard's dynamic suspicion timeout. A suspicion starts with the maximum timeout and shrinks
 * toward the minimum as independent confirmations (suspect messages from other accusers) arrive:
 *
 *   timeout(c) = max(min, max − (max − min) · log(c + 1) / log(k + 1))
 *
 * where k is the number of confirmations expected. With k = 0 the minimum applies at once.
 */
export interface SuspicionTimeouts {
  readonly minMs: number;
  readonly maxMs: number;
}

export function suspicionTimeouts(
  liveMembers: number,
  probeIntervalMs: number,
  suspicionMult: number,
  suspicionMaxMult: number,
): SuspicionTimeouts {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, liveMembers)));
  const minMs = suspicionMult * nodeScale * probeIntervalMs;
  return { minMs, maxMs: suspicionMaxMult * minMs };
}

export class Suspicion {
  private readonly confirmers = new Set<string>();
  /** Set when the suspect answered us directly after the suspicion began: the deadline moved past it. */
  postponedUntil: number | null = null;
  postponements = 0;

  constructor(
    readonly startedAt: number,
    readonly incarnation: number,
    readonly accuser: string,
    private readonly expected: number,
    private readonly timeouts: SuspicionTimeouts,
  ) {}

  /** Records an accuser; returns true if it is a new, independent confirmation. */
  confirm(from: string): boolean {
    if (from === this.accuser || this.confirmers.has(from)) return false;
    if (this.confirmers.size >= this.expected) return false;
    this.confirmers.add(from);
    return true;
  }

  deadline(): number {
    if (this.postponedUntil !== null) return this.postponedUntil;
    const { minMs, maxMs } = this.timeouts;
    if (this.expected < 1) return this.startedAt + minMs;
    const frac = Math.log(this.confirmers.size + 1) / Math.log(this.expected + 1);
    const timeout = Math.max(minMs, maxMs - (maxMs - minMs) * frac);
    return this.startedAt + Math.floor(timeout);
  }
}
