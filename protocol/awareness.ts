/**
 * Lifeguard's local health awareness. A node that misses acks and nacks it expected is more likely
 * slow itself than surrounded by failures, so it scales its own probe interval and timeout up instead
 * of accusing others quickly. The score is 0 when healthy.
 */
export class Awareness {
  private score = 0;

  constructor(private readonly max: number) {}

  apply(delta: number): void {
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
  }

  get health(): number {
    return this.score;
  }

  /** Multiplier for probe interval and timeout. */
  scale(ms: number): number {
    return ms * (this.score + 1);
  }
}
