import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import type { MemberView } from '../protocol/effects.js';
import { AgentEvents } from '../daemon/events.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { KnownMembersFile } from '../daemon/store/known-members.js';

const member = (i: number): MemberView => ({ name: `m${i}`, host: '10.0.0.1', port: 7000 + i, incarnation: 1, status: 'alive' }) as MemberView;

test('members.json is written a moment after a change, then at most once per write interval however many changes come', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-known-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const events = new AgentEvents(silentLogger());
  let members: MemberView[] = [];
  let reads = 0;
  const file = new KnownMembersFile(dir, () => { reads++; return members; }, 'self', silentLogger());
  file.watch(events);
  const joined = (i: number): void => {
    members = [...members, member(i)];
    events.emit({ type: 'member', member: member(i), previous: null });
  };

  joined(1);
  mock.timers.tick(DAEMON_LIMITS.knownMembersWriteDelayMs - 1);
  assert.equal(reads, 0);
  mock.timers.tick(1);
  assert.equal(reads, 1, 'the first change is written a moment later');
  // A fleet joining: a change every 100 ms for 20 s.
  for (let i = 2; i <= 201; i++) {
    joined(i);
    mock.timers.tick(100);
  }
  const writes = reads - 1;
  const expected = Math.ceil((200 * 100) / DAEMON_LIMITS.knownMembersWriteIntervalMs);
  assert.ok(writes <= expected, `${writes} writes in 20 s of changes (at most ${expected})`);
  assert.ok(writes >= expected - 1, `still written while changes go on (${writes})`);
  mock.timers.tick(DAEMON_LIMITS.knownMembersWriteIntervalMs);
  const final = reads;
  await file.close();
  assert.equal(reads, final + 1, 'closing writes the last list');
});
