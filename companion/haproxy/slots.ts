/**
 * HAProxy's server slots as `show servers state BACKEND` reports them, and which instance each slot
 * holds. The columns are found by the header line's names (`# be_id be_name srv_id srv_name ...`)
 * rather than by position, so a version that adds a column does not shift the others.
 *
 * `srv_admin_state` is a bit set (HAProxy's enum srv_admin): maintenance forced (0x01), inherited
 * (0x02) or from a failed resolution (0x20); drain forced (0x08) or inherited (0x10); 0x04 only
 * says the server was declared `disabled` in the configuration and stays set after `state ready`.
 */
import { RuntimeApiError } from './runtime-api.js';

export type AdminState = 'ready' | 'drain' | 'maint';

export interface Slot {
  readonly backend: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly admin: AdminState;
  /** The user weight (0–256) set by the configuration or `set weight`. */
  readonly weight: number;
  /** The raw admin bits, for the status output. */
  readonly adminBits: number;
}

const MAINT_MASK = 0x01 | 0x02 | 0x20;
const DRAIN_MASK = 0x08 | 0x10;

export function adminStateOf(bits: number): AdminState {
  if ((bits & MAINT_MASK) !== 0) return 'maint';
  if ((bits & DRAIN_MASK) !== 0) return 'drain';
  return 'ready';
}

const REQUIRED = ['be_name', 'srv_name', 'srv_addr', 'srv_admin_state', 'srv_uweight', 'srv_port'] as const;

function num(v: string | undefined, what: string, line: string): number {
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new RuntimeApiError('protocol', `show servers state: ${what} is not a number in ${JSON.stringify(line.slice(0, 200))}`);
  }
  return n;
}

/**
 * Parses the answer of `show servers state [BACKEND]`: a format version line ("1"), the header,
 * one line per server. Lines of other backends than `backend` (when given) are skipped.
 */
export function parseServersState(text: string, backend?: string): Slot[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const version = lines[0];
  if (version !== '1') throw new RuntimeApiError('protocol', `show servers state: unknown format ${JSON.stringify((version ?? '').slice(0, 80))}`);
  const header = lines[1];
  if (header === undefined || !header.startsWith('#')) throw new RuntimeApiError('protocol', 'show servers state: no header line');
  const names = header.slice(1).trim().split(/\s+/);
  const col = new Map(names.map((n, i) => [n, i]));
  for (const r of REQUIRED) {
    if (!col.has(r)) throw new RuntimeApiError('protocol', `show servers state: no ${r} column`);
  }
  const at = (cells: string[], name: (typeof REQUIRED)[number]): string | undefined => cells[col.get(name) as number];
  const out: Slot[] = [];
  for (const line of lines.slice(2)) {
    if (line.startsWith('#')) continue;
    const cells = line.split(/\s+/);
    const be = at(cells, 'be_name');
    if (backend !== undefined && be !== backend) continue;
    const bits = num(at(cells, 'srv_admin_state'), 'srv_admin_state', line);
    out.push({
      backend: be ?? '',
      name: at(cells, 'srv_name') ?? '',
      address: at(cells, 'srv_addr') ?? '',
      port: num(at(cells, 'srv_port'), 'srv_port', line),
      admin: adminStateOf(bits),
      weight: num(at(cells, 'srv_uweight'), 'srv_uweight', line),
      adminBits: bits,
    });
  }
  return out;
}

/** What identifies one running HAProxy process: a reload or restart changes it. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTimeSec: number;
}

/** Reads Pid and Start_time_sec from `show info`. */
export function parseShowInfo(text: string): ProcessIdentity {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const pid = Number(fields.get('Pid'));
  const start = Number(fields.get('Start_time_sec'));
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RuntimeApiError('protocol', 'show info: no Pid');
  // Start_time_sec appeared in 2.x; an older HAProxy is told apart by its Pid alone.
  return { pid, startTimeSec: Number.isSafeInteger(start) ? start : 0 };
}

export function sameProcess(a: ProcessIdentity | null, b: ProcessIdentity): boolean {
  return a !== null && a.pid === b.pid && a.startTimeSec === b.startTimeSec;
}
