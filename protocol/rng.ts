/**
 * Seeded pseudo-random source (xoshiro128**, seeded through splitmix32), the only randomness the
 * core uses: every choice it makes is reproducible from the seed.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4_294_967_296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** Up to k distinct items chosen uniformly from `items` for which `accept` holds. */
  sample<T>(items: readonly T[], k: number, accept: (item: T) => boolean): T[] {
    return this.sampleIndex(items.length, k, (i) => accept(items[i] as T)).map((i) => items[i] as T);
  }

  /**
   * Up to k distinct indices in [0, n) chosen uniformly for which `accept` holds: sample() over
   * positions, for stores that are not arrays of items (the same draws as sample() on n items).
   */
  sampleIndex(n: number, k: number, accept: (i: number) => boolean): number[] {
    const out: number[] = [];
    if (k <= 0 || n === 0) return out;
    // Rejection sampling on random indices is fast when k << n; fall back to a partial shuffle.
    if (k * 4 < n) {
      const seen = new Set<number>();
      let attempts = 0;
      while (out.length < k && attempts < k * 8) {
        attempts++;
        const i = this.int(n);
        if (seen.has(i)) continue;
        seen.add(i);
        if (accept(i)) out.push(i);
      }
      if (out.length === k) return out;
    }
    // A partial shuffle of the indices, over whole member tables: only the positions it has
    // touched are stored, so a shuffle that stops early costs what it drew, not n.
    const idx = ShuffleScratch.take(n);
    out.length = 0;
    try {
      for (let i = 0; i < n && out.length < k; i++) {
        const j = i + this.int(n - i);
        const tmp = idx.at(i);
        const pick = idx.at(j);
        idx.put(j, tmp);
        idx.put(i, pick);
        if (accept(pick)) out.push(pick);
      }
    } finally {
      idx.release();
    }
    return out;
  }
}

/**
 * The positions of a partial shuffle of 0..n-1, where a position nobody wrote holds its own index.
 * One is kept for all samplers (sampling never waits, so one is in use at a time); a sample taken
 * inside another's `accept` gets one of its own.
 */
class ShuffleScratch {
  private static spare: ShuffleScratch | null = null;
  private vals = new Int32Array(0);
  /** Which positions were written in the current use: those whose stamp equals `use`. */
  private stamps = new Uint32Array(0);
  private use = 0;

  static take(n: number): ShuffleScratch {
    const s = ShuffleScratch.spare ?? new ShuffleScratch();
    ShuffleScratch.spare = null;
    if (s.vals.length < n) {
      s.vals = new Int32Array(n);
      s.stamps = new Uint32Array(n);
      s.use = 0;
    }
    s.use++;
    if (s.use === 0x1_0000_0000) {
      s.stamps.fill(0);
      s.use = 1;
    }
    return s;
  }

  at(i: number): number {
    return this.stamps[i] === this.use ? (this.vals[i] as number) : i;
  }

  put(i: number, v: number): void {
    this.vals[i] = v;
    this.stamps[i] = this.use;
  }

  release(): void {
    ShuffleScratch.spare = this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
