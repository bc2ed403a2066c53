/**
 * The dissemination messages on the wire: relay (19), have (20), want (21) — round trips alone
 * and in compounds, every field checked and named when wrong, and an older agent's view (types it
 * does not know are skipped inside a compound, the rest of the packet kept).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decodePacket, encodeCompound, encodePacket, encodePart } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import { type DecodeErrorReason, type DecodeResult, type GossipMsg, MessageType, PROTOCOL_VERSION } from '../protocol/messages.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

function raw(type: number, body: unknown): Uint8Array {
  return Uint8Array.from([PROTOCOL_VERSION, type, ...packr.pack(body)]);
}

function expectError<T>(r: DecodeResult<T>, reason: DecodeErrorReason, detail: string): void {
  assert.equal(r.ok, false, `expected ${reason}, decoded ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.reason, reason, `expected ${reason}, got ${r.reason}: ${r.detail}`);
  assert.ok(r.detail.includes(detail), `detail "${r.detail}" lacks "${detail}"`);
}

const MESSAGES: readonly GossipMsg[] = [
  { type: 'relay', lo: 0, hi: 0 },
  { type: 'relay', lo: 0xffff_ffff, hi: 12345 },
  { type: 'have', node: 'n', id: 'i', rev: 0 },
  { type: 'have', node: 'x'.repeat(LIMITS.nameBytesMax), id: 'y'.repeat(LIMITS.serviceIdBytesMax), rev: LIMITS.incarnationMax },
  { type: 'want', node: 'node-7', id: 'web-1', rev: 42 },
];

test('the type codes are 19, 20 and 21', () => {
  assert.equal(MessageType.Relay, 19);
  assert.equal(MessageType.Have, 20);
  assert.equal(MessageType.Want, 21);
});

test('relay, have and want round-trip alone and as compound parts', () => {
  for (const m of MESSAGES) {
    const alone = decodePacket(encodePacket(m));
    assert.ok(alone.ok, JSON.stringify(alone));
    assert.deepEqual(alone.value, m);
  }
  const d = decodePacket(encodeCompound(MESSAGES.map(encodePart)));
  assert.ok(d.ok && d.value.type === 'compound');
  if (d.value.type === 'compound') assert.deepEqual(d.value.parts, MESSAGES);
});

test('appended fields are ignored', () => {
  const d = decodePacket(raw(MessageType.Have, ['n', 'i', 3, 'later', 9]));
  assert.ok(d.ok);
  assert.deepEqual(d.value, { type: 'have', node: 'n', id: 'i', rev: 3 });
  const r = decodePacket(raw(MessageType.Relay, [1, 2, [3]]));
  assert.ok(r.ok);
  assert.deepEqual(r.value, { type: 'relay', lo: 1, hi: 2 });
});

test('a wrong value in any field is bad_field naming it', () => {
  expectError(decodePacket(raw(MessageType.Relay, [-1, 2])), 'bad_field', 'relay.lo');
  expectError(decodePacket(raw(MessageType.Relay, [1, 2 ** 32])), 'bad_field', 'relay.hi');
  expectError(decodePacket(raw(MessageType.Relay, [1.5, 2])), 'bad_field', 'relay.lo');
  expectError(decodePacket(raw(MessageType.Relay, [1])), 'bad_field', 'relay.hi');
  for (const [code, t] of [[MessageType.Have, 'have'], [MessageType.Want, 'want']] as const) {
    expectError(decodePacket(raw(code, ['', 'i', 1])), 'bad_field', `${t}.node`);
    expectError(decodePacket(raw(code, ['x'.repeat(LIMITS.nameBytesMax + 1), 'i', 1])), 'bad_field', `${t}.node`);
    expectError(decodePacket(raw(code, ['n', 7, 1])), 'bad_field', `${t}.id`);
    expectError(decodePacket(raw(code, ['n', 'y'.repeat(LIMITS.serviceIdBytesMax + 1), 1])), 'bad_field', `${t}.id`);
    expectError(decodePacket(raw(code, ['n', 'i', LIMITS.incarnationMax + 1])), 'bad_field', `${t}.rev`);
    expectError(decodePacket(raw(code, ['n', 'i', 'one'])), 'bad_field', `${t}.rev`);
  }
  // Inside a compound the path names the part.
  const bad = Uint8Array.from([PROTOCOL_VERSION, MessageType.Compound, ...packr.pack([[MessageType.Nack, [1]], [MessageType.Want, ['n', '', 1]]])]);
  expectError(decodePacket(bad), 'bad_field', 'parts[1].want.id');
});

test('an agent that does not know a type skips it inside a compound and keeps the rest', () => {
  // What an older agent sees of a tree packet: an unknown leading part, then the entry it knows.
  const packet = Uint8Array.from([PROTOCOL_VERSION, MessageType.Compound, ...packr.pack([[22, [1, 2]], [MessageType.Nack, [5]]])]);
  const d = decodePacket(packet);
  assert.ok(d.ok && d.value.type === 'compound');
  if (d.value.type === 'compound') assert.deepEqual(d.value.parts, [{ type: 'nack', seq: 5 }]);
});
