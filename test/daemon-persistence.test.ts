/**
 * daemon/store/persistence.ts: a state.json holding an incarnation that is no 32-bit counter (hand-edited,
 * or left by a version that let it pass 2^32) never blocks start-up: the agent starts from 1 with a
 * warning, writes a valid state back, and later rises are persisted again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Logger } from '../daemon/log.js';
import { StateStore } from '../daemon/store/persistence.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';

function capture(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const log = new Logger('debug', { write: (line: string) => lines.push(JSON.parse(line) as { level: string; msg: string }) });
  return { log, lines };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

for (const bad of [2 ** 40, -1, 'x', 1.5, 2 ** 32]) {
  test(`state.json with incarnation ${JSON.stringify(bad)}: start succeeds with a warning and a valid counter`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'swimd-state-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ format: 1, name: 'n1', incarnation: bad }) + '\n');
    const { log, lines } = capture();
    const store = await StateStore.open(dir, 'n1', log);
    try {
      assert.equal(store.startIncarnation, 1);
      assert.ok(lines.some((l) => l.level === 'warn' && l.msg.includes('incarnation')), JSON.stringify(lines));
      const onDisk = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { incarnation: number; name: string };
      assert.deepEqual({ name: onDisk.name, incarnation: onDisk.incarnation }, { name: 'n1', incarnation: 1 });
      // The core starts from it, and a later rise is persisted.
      const node = new SwimNode({ name: 'n1', host: '127.0.0.1', port: 1, profile: PROFILES.local, seed: 1, now: 0, incarnation: store.startIncarnation });
      assert.equal(node.self().incarnation, 1);
      store.noteIncarnation(5);
      await until(() => (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { incarnation: number }).incarnation === 5);
      assert.equal((JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { incarnation: number }).incarnation, 5);
    } finally {
      await store.close();
    }
  });
}

test('state.json at 0xffffffff: the next life starts at 0 (newer, and encodable), and rises from there are persisted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ format: 1, name: 'n1', incarnation: 0xffff_ffff }) + '\n');
  const { log } = capture();
  const store = await StateStore.open(dir, 'n1', log);
  try {
    assert.equal(store.startIncarnation, 0);
    store.noteIncarnation(2);
    await until(() => (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { incarnation: number }).incarnation === 2);
    assert.equal((JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { incarnation: number }).incarnation, 2);
  } finally {
    await store.close();
  }
});
