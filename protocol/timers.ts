/**
 * Named deadlines for one node. Setting a key replaces its previous deadline. The core asks for the
 * earliest deadline after every input; a min-heap with lazy deletion keeps that O(log n) even when
 * thousands of suspicion timers are pending.
 */
export class Deadlines {
  private readonly current = new Map<string, { at: number; gen: number }>();
  private heap: { at: number; key: string; gen: number }[] = [];
  private gen = 0;

  set(key: string, at: number): void {
    const gen = ++this.gen;
    this.current.set(key, { at, gen });
    this.push({ at, key, gen });
  }

  clear(key: string): void {
    this.current.delete(key);
  }

  has(key: string): boolean {
    return this.current.has(key);
  }

  at(key: string): number | undefined {
    return this.current.get(key)?.at;
  }

  next(): number | null {
    this.dropStale();
    const top = this.heap[0];
    return top === undefined ? null : top.at;
  }

  /** Removes and returns every deadline at or before `now`, earliest first. */
  due(now: number): { key: string; at: number }[] {
    const out: { key: string; at: number }[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (top === undefined || top.at > now) break;
      this.pop();
      this.current.delete(top.key);
      out.push({ key: top.key, at: top.at });
    }
    return out;
  }

  get size(): number {
    return this.current.size;
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return;
      const cur = this.current.get(top.key);
      if (cur !== undefined && cur.gen === top.gen) return;
      this.pop();
    }
  }

  private push(e: { at: number; key: string; gen: number }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.at < e.at || (pe.at === e.at && pe.gen < e.gen)) break;
      h[i] = pe;
      i = p;
    }
    h[i] = e;
    // Lazy deletion can leave many stale entries behind; compact when they dominate.
    if (h.length > 64 && h.length > 4 * this.current.size) this.compact();
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && less(h[r]!, h[l]!)) c = r;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }

  private compact(): void {
    const live: { at: number; key: string; gen: number }[] = [];
    for (const [key, v] of this.current) live.push({ at: v.at, key, gen: v.gen });
    live.sort((a, b) => (a.at - b.at) || (a.gen - b.gen));
    this.heap = live;
  }
}

function less(a: { at: number; gen: number }, b: { at: number; gen: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.gen < b.gen);
}
