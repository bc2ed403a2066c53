import { copyFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS } from '../../protocol/limits.js';
import { isSameOrNewer, newest, serialDistance } from '../../protocol/serial.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { TtlReport } from './checks/ttl-check.js';
import type { Logger } from '../log.js';
import { writeAtomic } from '../store/persistence.js';
import { FieldError } from '../../client/contract/field-error.js';
import { parseRegistration, type ParsedRegistration, registrationJson } from '../../client/contract/registration.js';

/**
 * <data_dir>/services.json: the instances registered through the API (with their drain state) and a
 * ceiling on the catalog revision, so that a restarted agent registers them again with versions
 * above everything it gossiped before. Config-file services are not saved: the file is re-read.
 *
 * Every API change is on disk before its reply is sent; the revision, which also rises with every
 * health change, is written ahead (DAEMON_LIMITS.catalogRevisionHeadroom) and only rewritten when
 * half of that headroom is used up.
 *
 * A TTL check's last report is saved with its instance (ttl_health, ttl_expires_at: wall clock, ms
 * since the epoch), before the report is acknowledged, so that a restarted agent announces it again
 * until the TTL it was given runs out, rather than critical at once.
 */

const FILE = 'services.json';
const FORMAT = 1;

export interface SavedService {
  readonly registration: ParsedRegistration;
  readonly draining: boolean;
  /** The TTL check's report in effect when saved, if any. */
  readonly ttl: TtlReport | null;
}

export interface SavedCatalog {
  /** Every catalog version this node used is at most this. */
  readonly revision: number;
  readonly services: readonly SavedService[];
}

/** Reads the saved catalog. A damaged file is copied aside and whatever is valid in it is kept. */
export async function loadServices(dir: string, log: Logger): Promise<SavedCatalog> {
  const path = join(dir, FILE);
  const empty: SavedCatalog = { revision: 0, services: [] };
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.size > DAEMON_LIMITS.servicesFileBytesMax) throw new Error(`${st.size} bytes, more than ${DAEMON_LIMITS.servicesFileBytesMax}`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    await setAside(path, log, `cannot read: ${(e as Error).message}`);
    return empty;
  }
  const problems: string[] = [];
  const saved = decode(text, problems);
  if (problems.length > 0) await setAside(path, log, problems.join('; '));
  return saved ?? empty;
}

function decode(text: string, problems: string[]): SavedCatalog | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    problems.push('invalid JSON');
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return (problems.push('not an object'), null);
  const o = v as Record<string, unknown>;
  if (o['format'] !== FORMAT) {
    problems.push('unknown format');
    return null;
  }
  const stored = o['revision'];
  let revision = 0;
  if (typeof stored === 'number' && Number.isInteger(stored) && stored >= 0 && stored <= LIMITS.incarnationMax) {
    revision = stored;
  } else {
    // The registrations are what matters; versions below what the cluster holds are re-issued
    // above it as soon as the cluster's copies come back (the owner's echo rule).
    problems.push(`revision ${JSON.stringify(stored)} is not a 32-bit counter; counting from 0`);
  }
  const list = Array.isArray(o['services']) ? o['services'] : (problems.push('services is not an array'), []);
  const services: SavedService[] = [];
  const ids = new Set<string>();
  list.forEach((item: unknown, i) => {
    try {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new FieldError(`services[${i}]`, 'not an object');
      const { draining, ttl_health: ttlHealth, ttl_expires_at: ttlExpiresAt, ...rest } = item as Record<string, unknown>;
      if (draining !== undefined && typeof draining !== 'boolean') throw new FieldError(`services[${i}].draining`, 'not a boolean');
      const ttl = decodeTtlReport(ttlHealth, ttlExpiresAt, `services[${i}]`);
      const registration = parseRegistration(rest, `services[${i}]`);
      if (ids.has(registration.id)) throw new FieldError(`services[${i}].id`, `duplicate id ${JSON.stringify(registration.id)}`);
      if (services.length >= LIMITS.servicesPerNodeMax) throw new FieldError(`services[${i}]`, 'more instances than one node may own');
      ids.add(registration.id);
      services.push({ registration, draining: draining === true, ttl });
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      problems.push(e.message);
    }
  });
  return { revision, services };
}

function decodeTtlReport(health: unknown, expiresAt: unknown, where: string): TtlReport | null {
  if (health === undefined && expiresAt === undefined) return null;
  if (health !== 'passing' && health !== 'warning' && health !== 'critical') throw new FieldError(`${where}.ttl_health`, 'not a health');
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new FieldError(`${where}.ttl_expires_at`, 'not a time');
  return { health, expiresAt };
}

/** Losing a registration must never be silent: the damaged file is kept beside the new one. */
async function setAside(path: string, log: Logger, reason: string): Promise<void> {
  const aside = `${path}.bad-${Date.now()}`;
  await copyFile(path, aside).catch(() => undefined);
  log.error('saved service registrations damaged; kept what was valid, copied the file aside', { path, aside, reason });
}

interface Waiter {
  readonly gen: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class ServicesFile {
  private requested = 0;
  private finished = 0;
  private readonly waiters: Waiter[] = [];
  private running: Promise<void> | null = null;
  private revisionSaveQueued = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly snapshot: () => SavedCatalog,
    /** The ceiling on disk now. */
    private ceiling: number,
  ) {}

  /** Resolves once a write begun after this call is on disk; rejects with the write's error. */
  save(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the agent is shutting down'));
    const gen = ++this.requested;
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    if (this.running === null) this.running = this.drain();
    return p;
  }

  /** Called after every change of the core; writes a new ceiling before the old one is reached. */
  noteRevision(revision: number): void {
    const room = isSameOrNewer(this.ceiling, revision) ? serialDistance(revision, this.ceiling) : -1;
    if (this.closed || this.revisionSaveQueued || room >= DAEMON_LIMITS.catalogRevisionHeadroom / 2) return;
    this.revisionSaveQueued = true;
    this.save().catch((err: unknown) => this.log.error('cannot save the catalog revision', { err })).finally(() => {
      this.revisionSaveQueued = false;
    });
  }

  /** Waits for writes in progress; later saves are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running !== null) await this.running;
  }

  /** One write at a time; saves requested meanwhile share the next write. */
  private async drain(): Promise<void> {
    try {
      while (this.finished < this.requested) {
        const gen = this.requested;
        const snap = this.snapshot();
        const ceiling = (snap.revision + DAEMON_LIMITS.catalogRevisionHeadroom) % (LIMITS.incarnationMax + 1);
        const body = JSON.stringify({
          format: FORMAT,
          revision: ceiling,
          services: snap.services.map((s) => ({
            ...registrationJson(s.registration), draining: s.draining,
            ...(s.ttl === null ? {} : { ttl_health: s.ttl.health, ttl_expires_at: s.ttl.expiresAt }),
          })),
        }) + '\n';
        let error: unknown = null;
        try {
          await writeAtomic(this.dir, FILE, body);
          this.ceiling = newest(this.ceiling, ceiling);
        } catch (e) {
          error = e;
        }
        this.finished = gen;
        // Waiters are queued in generation order.
        while (this.waiters.length > 0 && (this.waiters[0] as Waiter).gen <= gen) {
          const w = this.waiters.shift() as Waiter;
          if (error === null) w.resolve();
          else w.reject(error);
        }
      }
    } finally {
      this.running = null;
    }
  }
}
