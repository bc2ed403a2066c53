/**
 * The README's "Try it" block, run with bash as written: only the alias (to the CLI built here), the
 * directory (/tmp/swimd) and the ports are replaced. Its `swimd members` must print what the README's
 * sample shows: the same columns and three alive members.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, waitFor } from './helpers/cluster.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const SAMPLE_PORTS = ['7001', '7002', '7003'] as const;

interface TryIt {
  readonly script: string;
  readonly sample: string;
}

/** The first sh block of the "Try it" section, and the plain block that follows it (the sample output). */
function tryItOf(readme: string): TryIt {
  const start = readme.indexOf('\n## Try it');
  assert.ok(start >= 0, 'README has a "Try it" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const m = /```sh\n([\s\S]*?)```\s*```\n([\s\S]*?)```/.exec(section);
  assert.ok(m !== null, 'the "Try it" section has an sh block followed by its output');
  return { script: m[1] as string, sample: m[2] as string };
}

/** A port free on 127.0.0.1 for both TCP (push-pull) and UDP (gossip) right now. */
async function freePort(): Promise<number> {
  for (;;) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve((tcp.address() as { port: number }).port));
    });
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (udpFree) return port;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function rows(table: string): string[][] {
  return table.trim().split('\n').map((line) => line.trim().split(/\s+/));
}

test('the README "Try it" block runs as written and prints the sample table', async (t) => {
  const { script, sample } = tryItOf(readFileSync(README, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'swimd-try-it-'));
  const ports = await Promise.all(SAMPLE_PORTS.map(() => freePort()));
  let text = script.split('\n').map((line) => (line.startsWith('alias swimd=') ? `alias swimd="node ${CLI_PATH}"` : line)).join('\n');
  assert.notEqual(text, script, 'the block defines the swimd alias');
  text = text.replaceAll('/tmp/swimd', dir);
  SAMPLE_PORTS.forEach((p, i) => { text = text.replaceAll(`127.0.0.1:${p}`, `127.0.0.1:${ports[i]}`); });
  // A script (unlike a terminal) expands aliases only when asked to.
  text = `shopt -s expand_aliases\n${text}`;

  const outFile = join(dir, 'try-it.out');
  const out = openSync(outFile, 'w');
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['SWIMD_SOCKET'];
  // Its own process group: the agents it starts in the background are stopped with it.
  const bash = spawn('bash', ['-c', text], { cwd: dir, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const pgid = bash.pid as number;
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // The group is gone.
    }
  };
  t.after(async () => {
    killGroup('SIGTERM');
    await waitFor('the agents of the "Try it" block to stop', () => !isAlive(-pgid), 10_000).catch(() => killGroup('SIGKILL'));
    rmSync(dir, { recursive: true, force: true });
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => killGroup('SIGKILL'), 60_000);
    bash.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  const printed = readFileSync(outFile, 'utf8');
  assert.equal(code, 0, `the block exits 0; it printed:\n${printed}`);

  const expected = rows(sample);
  const actual = rows(printed);
  assert.deepEqual(actual[0], expected[0], `the same columns as the README's sample; printed:\n${printed}`);
  assert.equal(actual.length, expected.length, `as many members as the sample; printed:\n${printed}`);
  const column = (name: string): number => (expected[0] as string[]).indexOf(name);
  for (const [i, row] of actual.slice(1).entries()) {
    const want = expected[i + 1] as string[];
    assert.equal(row.length, want.length, `row ${i + 1} has every column: ${row.join(' ')}`);
    assert.equal(row[column('NAME')], want[column('NAME')]);
    assert.equal(row[column('STATUS')], 'alive');
    assert.equal(want[column('STATUS')], 'alive');
    const address = (want[column('ADDRESS')] as string).replace(/:(\d+)$/, (_m, p: string) => `:${ports[SAMPLE_PORTS.indexOf(p as typeof SAMPLE_PORTS[number])]}`);
    assert.equal(row[column('ADDRESS')], address);
    assert.match(row[column('INCARNATION')] as string, /^\d+$/);
  }
});
