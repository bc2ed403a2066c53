import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { MemberView } from '../../protocol/effects.js';
import type { AgentEvents } from '../events.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { describe } from '../net/net-util.js';
import { writeAtomic } from './persistence.js';

/**
 * <data_dir>/members.json: the addresses of the members this agent last knew (as Serf's snapshot).
 * A restarted agent joins through them as well as through its configured seeds, so that it rejoins
 * after a leave or a crash even when it is nobody's seed and its own seeds are gone. Live members
 * come first; the list is bounded by DAEMON_LIMITS.knownMembersMax and rewritten (atomically) a
 * moment after membership changes, so a burst of changes costs one write.
 */

const FILE = 'members.json';
const FORMAT = 1;
const RANK: Readonly<Record<MemberView['status'], number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** The saved addresses as seed strings ("host:port", IPv6 bracketed); [] when there is no usable file. */
export async function loadKnownMembers(dir: string, log: Logger): Promise<string[]> {
  let text: string;
  try {
    const fh = await open(join(dir, FILE), 'r');
    try {
      const st = await fh.stat();
      if (st.size > DAEMON_LIMITS.knownMembersFileBytesMax) throw new Error(`${st.size} bytes`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('known members not readable; joining through the configured seeds only', { err: e });
    return [];
  }
  const seeds = decodeKnownMembers(text);
  if (seeds === null) log.warn('known members file unusable; joining through the configured seeds only', { file: join(dir, FILE) });
  return seeds ?? [];
}

export function decodeKnownMembers(text: string): string[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const members = o['members'];
  if (o['format'] !== FORMAT || !Array.isArray(members)) return null;
  const out: string[] = [];
  for (const m of members.slice(0, DAEMON_LIMITS.knownMembersMax)) {
    if (typeof m !== 'object' || m === null) continue;
    const { host, port } = m as Record<string, unknown>;
    if (typeof host !== 'string' || host === '' || host.length > 255) continue;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    out.push(describe({ host, port }));
  }
  return out;
}

/** The members worth rejoining through, best first: live ones, then the rest, without this agent. */
export function knownMembersBody(members: readonly MemberView[], self: string): string {
  const others = members
    .filter((m) => m.name !== self)
    .sort((a, b) => RANK[a.status] - RANK[b.status] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, DAEMON_LIMITS.knownMembersMax)
    .map((m) => ({ name: m.name, host: m.host, port: m.port }));
  return JSON.stringify({ format: FORMAT, members: others }) + '\n';
}

export class KnownMembersFile {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private lastBody = '';
  /** When the watch last wrote (ms since the epoch; 0: not yet). */
  private lastWriteAt = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly dir: string,
    private readonly members: () => readonly MemberView[],
    private readonly self: string,
    private readonly log: Logger,
  ) {}

  /**
   * Writes a moment after a member change, and no sooner than knownMembersWriteIntervalMs after the
   * previous write: a single change is on disk within a second, a burst of them in a write or two.
   */
  watch(events: AgentEvents): void {
    this.unsubscribe = events.subscribe((e) => {
      if (e.type === 'member' && this.timer === null) {
        const now = Date.now();
        const at = Math.max(now + DAEMON_LIMITS.knownMembersWriteDelayMs, this.lastWriteAt + DAEMON_LIMITS.knownMembersWriteIntervalMs);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.lastWriteAt = Date.now();
          void this.flush();
        }, at - now);
      }
    });
    if (this.unsubscribe === null) this.log.warn('cannot follow membership changes; known members are saved at shutdown only');
  }

  /** Writes the current list now (unless unchanged); writes never overlap. */
  flush(): Promise<void> {
    const body = knownMembersBody(this.members(), this.self);
    if (body === this.lastBody) return this.writing;
    this.lastBody = body;
    this.writing = this.writing.then(() => writeAtomic(this.dir, FILE, body)).catch((err: unknown) => {
      this.log.error('cannot save the known members', { err });
    });
    return this.writing;
  }

  /** Stops following changes and writes the last list. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
