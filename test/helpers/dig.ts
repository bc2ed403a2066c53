/**
 * Runs the real `dig` (bind9-dnsutils) against a DNS address and parses what it printed: the
 * status, the header flags, the EDNS size and the records of each section.
 */
import { execFile } from 'node:child_process';

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  /** The server's EDNS0 UDP size, or null when the answer carried no OPT record. */
  readonly ednsUdp: number | null;
  /** Record lines by section ('ANSWER', 'AUTHORITY', 'ADDITIONAL'), each as "name ttl class type data". */
  readonly sections: Readonly<Record<string, readonly string[]>>;
  readonly text: string;
}

export const DIG = '/usr/bin/dig';

export function dig(port: number, args: readonly string[], host = '127.0.0.1'): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile(DIG, [`@${host}`, '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 10_000 }, (err, stdout) => {
      if (err !== null && stdout === '') {
        reject(err);
        return;
      }
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(text: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]*);/.exec(text)?.[1] ?? '').split(' ').filter((f) => f !== '');
  const udp = /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(text);
  const sections: Record<string, string[]> = {};
  let current: string | null = null;
  for (const line of text.split('\n')) {
    const head = /^;; ([A-Z]+) SECTION:/.exec(line);
    if (head !== null) {
      current = head[1]!;
      sections[current] = [];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') current = null;
      continue;
    }
    if (current !== null) sections[current]!.push(line.split(/\s+/).join(' '));
  }
  return { status, flags, ednsUdp: udp === null ? null : Number(udp[1]), sections, text };
}

/** The data part (after the type) of each record line of a section. */
export function rdata(r: DigResult, section = 'ANSWER'): string[] {
  return (r.sections[section] ?? []).map((l) => l.split(' ').slice(4).join(' ')).sort();
}
