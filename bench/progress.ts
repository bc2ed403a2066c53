/**
 * A one-line progress display on stderr. It redraws in place with \r, so it is shown only when
 * stderr is a terminal: in a CI log every redraw would be a line of noise.
 */
export class Progress {
  private readonly started = performance.now();
  private shown = false;

  constructor(private readonly enabled: boolean = process.stderr.isTTY === true) {}

  /** Replaces the line with `text`, prefixed with the time the whole run has taken so far. */
  update(text: string): void {
    if (!this.enabled) return;
    const s = ((performance.now() - this.started) / 1000).toFixed(0);
    const line = `[${s.padStart(4)} s] ${text}`;
    // A pseudo-terminal without a size (script, some CI runners) reports 0 columns.
    const cols = process.stderr.columns ?? 0;
    const width = cols > 20 ? cols - 1 : 160;
    process.stderr.write(`\r\x1b[2K${line.length > width ? line.slice(0, width) : line}`);
    this.shown = true;
  }

  /** Clears the line so the results print on a clean one. */
  clear(): void {
    if (!this.enabled || !this.shown) return;
    process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** "[#####.....] 50%" */
export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}
