/**
 * Helpers for the security integration and flood tests: key files, metrics counters, and a
 * monitor that polls every agent's member list throughout a test and remembers anything bad.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Member } from '../../client/index.js';
import { generateKey } from '../../client/contract/key.js';
import { sleep } from './cluster.js';

/** Writes a key file (mode 0600) holding `keys` (a new key when none is given); returns its path. */
export function writeKeyFile(dir: string, name: string, keys: readonly string[] = [generateKey()]): string {
  const path = join(dir, name);
  writeFileSync(path, keys.map((k) => `${k}\n`).join(''), { mode: 0o600 });
  return path;
}

/** Reads a file's keys back (for naming them in keyring commands). */
export function keysOf(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** One Prometheus sample value (labels written exactly as rendered, e.g. '{reason="too_many"}'). */
export function sample(text: string, name: string, labels = ''): number {
  const prefix = `${name}${labels} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(prefix.length));
}

/** swimd_packets_rejected_total by reason. */
export function rejectedByReason(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^swimd_packets_rejected_total\{reason="([^"]+)"\} (\d+)$/gm)) {
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

export function total(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

export async function rejected(client: Client): Promise<Map<string, number>> {
  return rejectedByReason(await client.metrics());
}

export interface Observation {
  readonly at: number;
  readonly observer: string;
  readonly problem: string;
}

/**
 * Polls every client's member list until stopped; records each poll that shows a member other than
 * alive, fewer members than expected, or no answer at all.
 */
export class MemberMonitor {
  readonly problems: Observation[] = [];
  polls = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly observers: readonly { name: string; client: Client }[], expected: number, intervalMs = 100) {
    this.loop = (async () => {
      while (this.running) {
        await Promise.all(this.observers.map(async (o) => {
          let members: Member[];
          try {
            members = await o.client.members();
          } catch (e) {
            this.problems.push({ at: Date.now(), observer: o.name, problem: `no answer: ${(e as Error).message}` });
            return;
          }
          const bad = members.filter((m) => m.status !== 'alive');
          if (bad.length > 0 || members.length !== expected) {
            this.problems.push({
              at: Date.now(), observer: o.name,
              problem: `${members.length} members; not alive: ${bad.map((m) => `${m.name}=${m.status}`).join(',') || 'none'}`,
            });
          }
        }));
        this.polls++;
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
