/**
 * The appended member field of a push-pull state: how long ago a dead or left member's status
 * changed. Older agents neither send it nor read it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr, Unpackr } from 'msgpackr';
import { decodePushPull, encodePushPull } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import { MessageType, PROTOCOL_VERSION, type MemberState, type PushPullMsg } from '../protocol/messages.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

function state(members: MemberState[]): PushPullMsg {
  return { type: 'push-pull', join: false, source: 'a', members, services: [] };
}

const dead: MemberState = { name: 'gone', host: '10.0.0.9', port: 7946, incarnation: 3, status: 'dead', ageMs: 90_000 };
const alive: MemberState = { name: 'here', host: '10.0.0.1', port: 7946, incarnation: 1, status: 'alive' };

test('a member age round-trips; members without one decode without one', () => {
  for (const ageMs of [0, 1, 90_000, LIMITS.memberAgeMsMax]) {
    const msg = state([{ ...dead, ageMs }, alive, { name: 'old', host: dead.host, port: dead.port, incarnation: 3, status: 'left' }]);
    const r = decodePushPull(encodePushPull(msg));
    assert.ok(r.ok);
    assert.deepStrictEqual(r.value, msg);
    assert.equal('ageMs' in (r.value.members[1] as object), false);
  }
});

test('the age is appended after the five original member fields (what an older decoder reads is unchanged)', () => {
  const bytes = encodePushPull(state([dead, alive]));
  const body = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(bytes.subarray(2)) as unknown[];
  const members = body[2] as unknown[][];
  // An older agent reads fields 0..4 and ignores the rest.
  assert.deepStrictEqual(members[0], ['gone', '10.0.0.9', 7946, 3, 2, 90_000]);
  assert.deepStrictEqual(members[1], ['here', '10.0.0.1', 7946, 1, 0]);
});

test('a state from an older agent (no ages) decodes', () => {
  const old = Uint8Array.from([PROTOCOL_VERSION, MessageType.PushPull, ...packr.pack([true, 'a', [['gone', 'h', 1, 3, 2], ['here', 'h', 1, 1, 0]]])]);
  const r = decodePushPull(old);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.value.members, [
    { name: 'gone', host: 'h', port: 1, incarnation: 3, status: 'dead' },
    { name: 'here', host: 'h', port: 1, incarnation: 1, status: 'alive' },
  ]);
});

test('a bad age is a bad field, never a crash', () => {
  for (const bad of [-1, 1.5, LIMITS.memberAgeMsMax + 1, 'x', true, [1]]) {
    const bytes = Uint8Array.from([PROTOCOL_VERSION, MessageType.PushPull, ...packr.pack([true, 'a', [['gone', 'h', 1, 3, 2, bad]]])]);
    const r = decodePushPull(bytes);
    assert.equal(r.ok, false, `accepted age ${JSON.stringify(bad)}`);
    if (!r.ok) {
      assert.equal(r.reason, 'bad_field');
      assert.ok(r.detail.includes('members[0].ageMs'), r.detail);
    }
  }
  assert.throws(() => encodePushPull(state([{ ...dead, ageMs: -5 }])), RangeError);
});
