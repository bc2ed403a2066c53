/**
 * A one-line progress display on stderr. It redraws in place with \r, so it is shown only when
 * stderr is a terminal: in a CI log every redraw would be a line of noise.
 */
interface LineState {
  readonly started: number;
  shown: boolean;
}

export class Progress {
  constructor(
    private readonly enabled: boolean = process.stderr.isTTY === true,
    private readonly tag = '',
    private readonly line: LineState = { started: performance.now(), shown: false },
  ) {}

  /** The same line, with `tag` in front of every update (e.g. "run 2/5: "). */
  tagged(tag: string): Progress {
    return new Progress(this.enabled, tag, this.line);
  }

  /** Replaces the line with `text`, prefixed with the time the whole bench has taken so far. */
  update(text: string): void {
    if (!this.enabled) return;
    const s = ((performance.now() - this.line.started) / 1000).toFixed(0);
    const full = `[${s.padStart(4)} s] ${this.tag}${text}`;
    // A pseudo-terminal without a size (script, some CI runners) reports 0 columns.
    const cols = process.stderr.columns ?? 0;
    const width = cols > 20 ? cols - 1 : 160;
    process.stderr.write(`\r\x1b[2K${full.length > width ? full.slice(0, width) : full}`);
    this.line.shown = true;
  }

  /** Clears the line so the results print on a clean one. */
  clear(): void {
    if (!this.enabled || !this.line.shown) return;
    process.stderr.write('\r\x1b[2K');
    this.line.shown = false;
  }
}

/** "[#####.....]  50%" */
export function bar(done: number, total: number, width = 20): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}
