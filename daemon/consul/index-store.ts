import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../store/persistence.js';
import type { Logger } from '../log.js';

/**
 * Where the Consul index counter of a lifetime starts, and the reservation that keeps it from
 * going backwards across restarts.
 *
 * A lifetime starts at max(wall clock ms × 1000, reserved + 1), where `reserved` is the highest
 * index an earlier lifetime may have used, read from consul-index.json in the data dir. While
 * running, the counter may climb to the reservation; at half of it the reservation moves ahead
 * (written atomically, off the request path). So an index handed out is above every index of an
 * earlier lifetime even when the wall clock stepped back or the file was lost with a clock that
 * did not; only losing the file *and* a clock step back together could repeat one.
 */

const FILE = 'consul-index.json';
const FORMAT = 1;

export class IndexReservation {
  private reserved: number;
  private writing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    readonly start: number,
    private readonly headroom: number,
    private readonly log: Logger,
  ) {
    this.reserved = start;
  }

  /** Reads the last reservation and writes this lifetime's before any index is handed out. */
  static async open(dir: string, wallClockMs: number, headroom: number, log: Logger): Promise<IndexReservation> {
    const previous = await readReserved(dir, log);
    const start = Math.max(Math.floor(wallClockMs) * 1000, previous + 1);
    const r = new IndexReservation(dir, start, headroom, log);
    await r.write(start + headroom);
    return r;
  }

  /** Called with every new index; renews the reservation when half of it is used up. */
  note(index: number): void {
    if (this.closed || this.writing !== null || index < this.reserved - this.headroom / 2) return;
    const next = index + this.headroom;
    this.writing = this.write(next)
      .catch((err: unknown) => this.log.warn('cannot save the Consul index reservation', { err }))
      .finally(() => {
        this.writing = null;
      });
  }

  /** Indexes above this have not been reserved yet (a write is pending or failed). */
  get reservedUpTo(): number {
    return this.reserved;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private async write(value: number): Promise<void> {
    await writeAtomic(this.dir, FILE, JSON.stringify({ format: FORMAT, reserved: value }) + '\n');
    this.reserved = Math.max(this.reserved, value);
  }
}

async function readReserved(dir: string, log: Logger): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dir, FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot read the Consul index reservation', { err: e });
    return 0;
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && 'reserved' in v) {
      const n = (v as { reserved: unknown }).reserved;
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n;
    }
  } catch {
    // Reported below like any other unusable content.
  }
  log.warn('ignoring an unusable Consul index reservation', { file: join(dir, FILE) });
  return 0;
}
