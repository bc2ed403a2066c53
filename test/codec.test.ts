import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import {
  compoundOverhead,
  decodePacket,
  decodePushPull,
  encodeCompound,
  encodePacket,
  encodePart,
  encodePushPull,
} from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import {
  PROTOCOL_VERSION,
  type DecodeErrorReason,
  type DecodeResult,
  type GossipMsg,
  type MemberState,
  type PushPullMsg,
} from '../protocol/messages.js';

// Hand-made inputs are built with a plain msgpack packer so they can hold what the encoder refuses.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

function raw(type: number, body: unknown, version = PROTOCOL_VERSION): Uint8Array {
  return withHeader(type, packr.pack(body), version);
}

function withHeader(type: number, body: Uint8Array, version = PROTOCOL_VERSION): Uint8Array {
  return Uint8Array.from([version, type, ...body]);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function expectError<T>(r: DecodeResult<T>, reason: DecodeErrorReason, detail?: string | RegExp): void {
  assert.equal(r.ok, false, `expected ${reason}, decoded ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.reason, reason, `expected ${reason}, got ${r.reason}: ${r.detail}`);
  assert.equal(typeof r.detail, 'string');
  if (typeof detail === 'string') assert.ok(r.detail.includes(detail), `detail "${r.detail}" lacks "${detail}"`);
  else if (detail) assert.match(r.detail, detail);
}

function decodeOk<T>(r: DecodeResult<T>): T {
  if (!r.ok) assert.fail(`decode failed: ${r.reason}: ${r.detail}`);
  return r.value;
}

const longName = 'é'.repeat(LIMITS.nameBytesMax / 2); // exactly nameBytesMax UTF-8 bytes
const longHost = 'h'.repeat(LIMITS.addressBytesMax);

const samples: readonly GossipMsg[] = [
  { type: 'ping', seq: 0, target: 'node-b', source: 'node-a', sourceHost: '10.0.0.1', sourcePort: 7946 },
  { type: 'ping', seq: LIMITS.seqMax, target: longName, source: '节点', sourceHost: longHost, sourcePort: 65_535 },
  {
    type: 'ping-req',
    seq: 42,
    target: 'c',
    targetHost: '::1',
    targetPort: 1,
    source: 'a',
    sourceHost: 'fe80::1',
    sourcePort: 0,
    wantNack: true,
  },
  {
    type: 'ping-req',
    seq: 7,
    target: 'c',
    targetHost: '10.1.2.3',
    targetPort: 300,
    source: 'a',
    sourceHost: '10.1.2.4',
    sourcePort: 7000,
    wantNack: false,
  },
  { type: 'ack', seq: 1 },
  { type: 'nack', seq: 65_536 },
  { type: 'alive', name: 'web-1', host: '192.168.1.10', port: 7946, incarnation: 0 },
  { type: 'alive', name: 'web-2', host: '192.168.1.11', port: 7946, incarnation: LIMITS.incarnationMax },
  { type: 'suspect', name: 'web-1', incarnation: 3, from: 'web-2' },
  { type: 'dead', name: 'web-1', incarnation: 4, from: 'web-3' },
  { type: 'leave', name: 'web-9', incarnation: 12 },
];

function member(i: number, status: MemberState['status'] = 'alive'): MemberState {
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return { name: `member-${i}`, host, port: 7946, incarnation: i, status };
}

test('every gossip message round-trips alone and as the only part of a compound', () => {
  for (const msg of samples) {
    const bytes = encodePacket(msg);
    assert.equal(bytes[0], PROTOCOL_VERSION);
    const back = decodeOk(decodePacket(bytes));
    assert.deepStrictEqual(back, msg);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepStrictEqual(decodeOk(decodePacket(encodePacket({ type: 'compound', parts: [msg] }))), {
      type: 'compound',
      parts: [msg],
    });
  }
});

test('a compound with many parts round-trips, and encodeCompound equals encodePacket', () => {
  for (const count of [0, 1, 15, 16, 100, LIMITS.compoundPartsMax]) {
    const parts = Array.from({ length: count }, (_, i) => samples[i % samples.length] as GossipMsg);
    const viaPacket = encodePacket({ type: 'compound', parts });
    const encoded = parts.map(encodePart);
    const viaParts = encodeCompound(encoded);
    assert.deepStrictEqual(viaParts, viaPacket);
    const partBytes = encoded.reduce((n, p) => n + p.length, 0);
    assert.equal(viaParts.length, compoundOverhead(count) + partBytes, `overhead for ${count} parts`);
    assert.deepStrictEqual(decodeOk(decodePacket(viaParts)), { type: 'compound', parts });
  }
});

test('encodePart is an independent exact-size copy', () => {
  const a = encodePart({ type: 'ack', seq: 5 });
  const b = encodePart({ type: 'ack', seq: 6 });
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, a.length);
  assert.deepStrictEqual([...a], [0x92, 3, 0x91, 5]);
  assert.deepStrictEqual([...b], [0x92, 3, 0x91, 6]);
});

test('push-pull round-trips with no, some, and the maximum number of members', () => {
  const statuses: MemberState['status'][] = ['alive', 'suspect', 'dead', 'left'];
  for (const count of [0, 1, 4, 1000, LIMITS.pushPullMembersMax]) {
    const msg: PushPullMsg = {
      type: 'push-pull',
      join: count % 2 === 0,
      source: 'node-a',
      members: Array.from({ length: count }, (_, i) => member(i, statuses[i % 4])),
      services: [],
    };
    const bytes = encodePushPull(msg);
    assert.ok(bytes.length <= LIMITS.streamBytesMax);
    assert.deepStrictEqual(decodeOk(decodePushPull(bytes)), msg);
  }
  const full: PushPullMsg = {
    type: 'push-pull',
    join: true,
    source: longName,
    members: Array.from({ length: 3 }, (_, i) => ({ ...member(i), name: longName, host: longHost })),
    services: [],
  };
  assert.deepStrictEqual(decodeOk(decodePushPull(encodePushPull(full))), full);
});

test('trailing fields, parts elements and unknown part types are ignored', () => {
  const extra = [1, 'future', { k: [1, 2] }, null, new Uint8Array([1, 2]), 1.5, true];
  // A nack: an ack's second field is its run time (a name-claim check), no longer free to fill.
  assert.deepStrictEqual(decodeOk(decodePacket(raw(4, [9, ...extra]))), { type: 'nack', seq: 9 });
  assert.deepStrictEqual(decodeOk(decodePacket(raw(8, ['n', 2, ...extra]))), {
    type: 'leave',
    name: 'n',
    incarnation: 2,
  });
  const body = [[15, ['future stuff']], [3, [1], 'extra'], [200, 'anything'], [0, []], [4, [2, 'x']], [13, null]];
  assert.deepStrictEqual(decodeOk(decodePacket(raw(9, body))), {
    type: 'compound',
    parts: [
      { type: 'ack', seq: 1 },
      { type: 'nack', seq: 2 },
    ],
  });
  // A member's sixth field is its age (nil: none); past it, anything goes; fields after the paging
  // cursors (index 4 and 5, nil when unused), the splits (index 6, nil when none), the digest
  // (index 7) and the in-sync flag (index 8), nil when unused, too.
  const pp = raw(10, [false, 'a', [['m', 'h', 1, 2, 3, 5, 'future'], ['n', 'h', 1, 2, 0, null, 'future']], [], null, null, null, null, null, { more: 1 }]);
  assert.deepStrictEqual(decodeOk(decodePushPull(pp)), {
    type: 'push-pull',
    join: false,
    source: 'a',
    members: [{ name: 'm', host: 'h', port: 1, incarnation: 2, status: 'left', ageMs: 5 }, { name: 'n', host: 'h', port: 1, incarnation: 2, status: 'alive' }],
    services: [],
  });
  // An older agent sends no services field at all.
  const old = raw(10, [false, 'a', [['m', 'h', 1, 2, 3]]]);
  assert.deepStrictEqual(decodeOk(decodePushPull(old)).services, []);
});

test('header errors: empty, oversize, version, unknown type', () => {
  expectError(decodePacket(new Uint8Array(0)), 'empty');
  expectError(decodePushPull(new Uint8Array(0)), 'empty');
  expectError(decodePacket(new Uint8Array(LIMITS.packetBytesMax + 1).fill(1)), 'too_large');
  expectError(decodePushPull(new Uint8Array(LIMITS.streamBytesMax + 1).fill(1)), 'too_large');
  expectError(decodePacket(raw(3, [1], 0)), 'bad_version');
  expectError(decodePacket(raw(3, [1], 2)), 'bad_version');
  expectError(decodePushPull(raw(10, [true, 'a', []], 255)), 'bad_version');
  expectError(decodePacket(Uint8Array.of(PROTOCOL_VERSION)), 'malformed', 'header');
  for (const type of [0, 13, 15, 22, 255]) expectError(decodePacket(raw(type, [1])), 'unknown_type');
  expectError(decodePacket(raw(10, [true, 'a', []])), 'unknown_type', 'stream');
  expectError(decodePushPull(encodePacket({ type: 'ack', seq: 1 })), 'unknown_type');
  // A packet of exactly the maximum size is not refused for its size.
  const padded = raw(4, [1, 'x'.repeat(LIMITS.packetBytesMax - 7)]);
  assert.equal(padded.length, LIMITS.packetBytesMax);
  assert.deepStrictEqual(decodeOk(decodePacket(padded)), { type: 'nack', seq: 1 });
});

test('every truncation of every valid packet is malformed, and trailing bytes are too', () => {
  const valid: Uint8Array[] = [
    ...samples.map((m) => encodePacket(m)),
    encodePacket({ type: 'compound', parts: [...samples] }),
  ];
  for (const bytes of valid) {
    for (let n = 1; n < bytes.length; n++) {
      expectError(decodePacket(bytes.subarray(0, n)), 'malformed');
    }
    expectError(decodePacket(Uint8Array.from([...bytes, 0])), 'malformed', 'trailing');
    expectError(decodePacket(Uint8Array.from([...bytes, 0xc0, 0xc0])), 'malformed', 'trailing');
  }
  const pp = encodePushPull({ type: 'push-pull', join: true, source: 'a', members: [member(1), member(2)], services: [] });
  for (let n = 1; n < pp.length; n++) expectError(decodePushPull(pp.subarray(0, n)), 'malformed');
  expectError(decodePushPull(Uint8Array.from([...pp, 1])), 'malformed', 'trailing');
});

type Kind = 'u32' | 'inc' | 'port' | 'name' | 'host' | 'bool';

const wrongByKind: Record<Kind, readonly unknown[]> = {
  u32: ['1', null, true, [], {}, 1.5, -1, LIMITS.seqMax + 1, 2 ** 53, -(2 ** 40), new Uint8Array(1)],
  inc: ['1', null, false, [1], 0.5, -1, LIMITS.incarnationMax + 1, Number.MAX_SAFE_INTEGER],
  port: ['80', null, true, 65_536, -1, 80.5, [80]],
  name: [
    '',
    'x'.repeat(LIMITS.nameBytesMax + 1),
    'é'.repeat(LIMITS.nameBytesMax / 2 + 1),
    1,
    null,
    true,
    ['a'],
    { a: 1 },
    new Uint8Array([97]),
  ],
  host: ['', 'h'.repeat(LIMITS.addressBytesMax + 1), 7, null, ['h'], new Uint8Array([104])],
  bool: [0, 1, 'true', null, [], {}],
};

// Wire layout per type: [code, type name, field names and kinds in order].
const layouts: readonly [number, string, readonly (readonly [string, Kind])[]][] = [
  [1, 'ping', [['seq', 'u32'], ['target', 'name'], ['source', 'name'], ['sourceHost', 'host'], ['sourcePort', 'port']]],
  [
    2,
    'ping-req',
    [
      ['seq', 'u32'],
      ['target', 'name'],
      ['targetHost', 'host'],
      ['targetPort', 'port'],
      ['source', 'name'],
      ['sourceHost', 'host'],
      ['sourcePort', 'port'],
      ['wantNack', 'bool'],
    ],
  ],
  [3, 'ack', [['seq', 'u32']]],
  [4, 'nack', [['seq', 'u32']]],
  [5, 'alive', [['name', 'name'], ['host', 'host'], ['port', 'port'], ['incarnation', 'inc']]],
  [6, 'suspect', [['name', 'name'], ['incarnation', 'inc'], ['from', 'name']]],
  [7, 'dead', [['name', 'name'], ['incarnation', 'inc'], ['from', 'name']]],
  [8, 'leave', [['name', 'name'], ['incarnation', 'inc']]],
];

const goodByKind: Record<Kind, unknown> = { u32: 7, inc: 9, port: 80, name: 'n', host: 'h', bool: true };

test('a wrong type or out-of-range value in any field is bad_field naming that field', () => {
  for (const [code, typeName, fields] of layouts) {
    const good = fields.map(([, kind]) => goodByKind[kind]);
    assert.equal(decodePacket(raw(code, good)).ok, true, typeName);
    for (let i = 0; i < fields.length; i++) {
      const [fieldName, kind] = fields[i] as readonly [string, Kind];
      for (const wrong of wrongByKind[kind]) {
        const body = good.slice();
        body[i] = wrong;
        const what = `${typeName}.${fieldName}`;
        expectError(decodePacket(raw(code, body)), 'bad_field', what);
        expectError(decodePacket(raw(9, [[3, [1]], [code, body]])), 'bad_field', `parts[1].${what}`);
      }
      // Missing fields: the array ends before this one.
      expectError(decodePacket(raw(code, good.slice(0, i))), 'bad_field', `${typeName}.${fieldName}`);
    }
    for (const notArray of [1, 'x', null, { 0: 1 }, true]) {
      expectError(decodePacket(raw(code, notArray)), 'bad_field', 'body');
    }
  }
  // Integral floats are accepted as the integer they denote; msgpack int types are not required.
  const float7 = withHeader(3, Uint8Array.of(0x91, 0xcb, 0x40, 0x1c, 0, 0, 0, 0, 0, 0));
  assert.deepStrictEqual(decodeOk(decodePacket(float7)), { type: 'ack', seq: 7 });
  // uint64 and int64 encodings of out-of-range values.
  expectError(decodePacket(withHeader(3, Uint8Array.of(0x91, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0))), 'bad_field', 'ack.seq');
  const minusOne64 = withHeader(3, Uint8Array.of(0x91, 0xd3, ...Array(8).fill(0xff)));
  expectError(decodePacket(minusOne64), 'bad_field', 'ack.seq');
});

test('compound structure errors', () => {
  expectError(decodePacket(raw(9, 'parts')), 'bad_field', 'compound');
  expectError(decodePacket(raw(9, [[3, [1]], 3])), 'bad_field', 'parts[1]');
  expectError(decodePacket(raw(9, [[]])), 'bad_field', 'parts[0].type');
  expectError(decodePacket(raw(9, [['3', [1]]])), 'bad_field', 'parts[0].type');
  expectError(decodePacket(raw(9, [[256, [1]]])), 'bad_field', 'parts[0].type');
  expectError(decodePacket(raw(9, [[-1, [1]]])), 'bad_field', 'parts[0].type');
  expectError(decodePacket(raw(9, [[3]])), 'bad_field', 'parts[0].fields');
  expectError(decodePacket(raw(9, [[3, 1]])), 'bad_field', 'parts[0].fields');
  expectError(decodePacket(raw(9, [[3, [1]], [9, [[3, [1]]]]])), 'bad_field', 'compound inside');
  expectError(decodePacket(raw(9, [[10, [true, 'a', []]]])), 'bad_field', 'push-pull inside');
  const ack = [3, [1]];
  assert.equal(decodePacket(raw(9, Array(LIMITS.compoundPartsMax).fill(ack))).ok, true);
  expectError(decodePacket(raw(9, Array(LIMITS.compoundPartsMax + 1).fill(ack))), 'too_many');
  // Unknown parts count toward the cap too: the cap bounds work, not just output.
  expectError(decodePacket(raw(9, Array(LIMITS.compoundPartsMax + 1).fill([99, []]))), 'too_many');
});

test('push-pull structure and member errors', () => {
  const m: unknown[] = ['m', 'h', 1, 2, 0];
  expectError(decodePushPull(raw(10, 'x')), 'bad_field', 'push-pull');
  expectError(decodePushPull(raw(10, [1, 'a', [m]])), 'bad_field', 'push-pull.join');
  expectError(decodePushPull(raw(10, [true, '', [m]])), 'bad_field', 'push-pull.source');
  expectError(decodePushPull(raw(10, [true, 'a'])), 'bad_field', 'push-pull.members');
  expectError(decodePushPull(raw(10, [true, 'a', { 0: m }])), 'bad_field', 'push-pull.members');
  expectError(decodePushPull(raw(10, [true, 'a', [m, 'm']])), 'bad_field', 'members[1]');
  const memberFields = ['name', 'host', 'port', 'incarnation', 'status'] as const;
  const wrong: readonly unknown[][] = [
    ['', 1, null, 'x'.repeat(LIMITS.nameBytesMax + 1)],
    ['', 2, 'h'.repeat(LIMITS.addressBytesMax + 1)],
    [65_536, -1, '1', 1.5],
    [-1, LIMITS.incarnationMax + 1, 'x', null],
    [4, -1, 'alive', 0.5, null],
  ];
  memberFields.forEach((field, i) => {
    for (const bad of wrong[i] ?? []) {
      const mm = m.slice();
      mm[i] = bad;
      expectError(decodePushPull(raw(10, [true, 'a', [m, mm]])), 'bad_field', `members[1].${field}`);
    }
    expectError(decodePushPull(raw(10, [true, 'a', [m.slice(0, i)]])), 'bad_field', `members[0].${field}`);
  });
  const tooMany = raw(10, [true, 'a', Array(LIMITS.pushPullMembersMax + 1).fill(m)]);
  expectError(decodePushPull(tooMany), 'too_many');
});

test('msgpack the wire does not use is malformed: extensions, 0xc1, invalid UTF-8', () => {
  // A nack with one trailing field (an ack's second field has a meaning of its own).
  const ack = (...value: number[]): Uint8Array => withHeader(4, Uint8Array.of(0x92, 1, ...value));
  expectError(decodePacket(ack(0xd4, 0x72, 0x00)), 'malformed', 'extension'); // record definition
  expectError(decodePacket(ack(0xd6, 0xff, 0, 0, 0, 0)), 'malformed', 'extension'); // timestamp
  expectError(decodePacket(ack(0xc7, 1, 0x78, 0x61)), 'malformed', 'extension'); // RegExp
  expectError(decodePacket(ack(0xc8, 0, 1, 0x74, 0)), 'malformed', 'extension'); // typed array
  expectError(decodePacket(ack(0xc9, 0, 0, 0, 1, 0x65, 0)), 'malformed', 'extension'); // Error
  expectError(decodePacket(ack(0xd5, 0x62, 0, 0)), 'malformed', 'extension'); // bundled strings
  expectError(decodePacket(ack(0xc1)), 'malformed', '0xc1');
  expectError(decodePacket(withHeader(8, Uint8Array.of(0x92, 0xa2, 0xc3, 0x28, 1))), 'malformed', 'UTF-8');
  expectError(decodePacket(withHeader(8, Uint8Array.of(0x92, 0xa1, 0xff, 1))), 'malformed', 'UTF-8');
  // An ignored trailing field is held to the same rules.
  expectError(decodePacket(ack(0xa1, 0x80)), 'malformed', 'UTF-8');
  // Map keys must be scalars: they become property names.
  expectError(decodePacket(ack(0x81, 0x91, 1, 2)), 'malformed', 'map key');
  expectError(decodePacket(ack(0x81, 0x80, 2)), 'malformed', 'map key');
  expectError(decodePacket(ack(0x81, 0xc4, 1, 0x61, 2)), 'malformed', 'map key');
  assert.equal(decodePacket(ack(0x84, 1, 2, 0xc0, 3, 0xc3, 4, 0xa1, 0x61, 5)).ok, true);
});

test('nesting is bounded: depth at the limit decodes, one more is malformed', () => {
  const nested = (levels: number): number[] => [...Array(levels).fill(0x91), 0xc0];
  // The body array is depth 1, so a trailing field may nest decodeDepthMax - 1 levels.
  const atLimit = withHeader(4, Uint8Array.of(0x92, 1, ...nested(LIMITS.decodeDepthMax - 1)));
  assert.deepStrictEqual(decodeOk(decodePacket(atLimit)), { type: 'nack', seq: 1 });
  const over = withHeader(4, Uint8Array.of(0x92, 1, ...nested(LIMITS.decodeDepthMax)));
  expectError(decodePacket(over), 'malformed', 'nesting');
  const maps = Array(LIMITS.decodeDepthMax).fill([0x81, 0xa1, 0x6b]).flat(); // {"k": {"k": ...}}
  const mapOver = withHeader(4, Uint8Array.of(0x92, 1, ...maps, 0xc0));
  expectError(decodePacket(mapOver), 'malformed', 'nesting');
  // Deep enough to overflow a recursive decoder's stack if nothing stopped it first.
  const deep = new Uint8Array(LIMITS.packetBytesMax).fill(0x91);
  deep[0] = PROTOCOL_VERSION;
  deep[1] = 3;
  expectError(decodePacket(deep), 'malformed', 'nesting');
  const deepStream = new Uint8Array(LIMITS.streamBytesMax).fill(0x91);
  deepStream[0] = PROTOCOL_VERSION;
  deepStream[1] = 10;
  expectError(decodePushPull(deepStream), 'malformed', 'nesting');
});

test('huge claimed lengths are refused without allocating', () => {
  const before = process.memoryUsage().heapUsed;
  const claims: readonly number[][] = [
    [0xdd, 0xff, 0xff, 0xff, 0xff], // array32
    [0xdc, 0xff, 0xff], // array16
    [0xdf, 0xff, 0xff, 0xff, 0xff], // map32
    [0xde, 0xff, 0xff], // map16
    [0xdb, 0xff, 0xff, 0xff, 0xff], // str32
    [0xda, 0xff, 0xff], // str16
    [0xd9, 0xff], // str8
    [0xc6, 0xff, 0xff, 0xff, 0xff], // bin32
    [0xc5, 0xff, 0xff], // bin16
    [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01], // ext32
    [0x9f], // fixarray 15 with nothing after it
  ];
  for (const claim of claims) {
    for (let i = 0; i < 200; i++) {
      expectError(decodePacket(withHeader(3, Uint8Array.from(claim))), 'malformed');
      expectError(decodePacket(withHeader(3, Uint8Array.of(0x92, 1, ...claim, 0, 0))), 'malformed');
      expectError(decodePushPull(withHeader(10, Uint8Array.of(0x93, 0xc3, 0xa1, 0x61, ...claim))), 'malformed');
    }
  }
  // Nested arrays each within the bytes that remain but together claiming far more.
  const fan = withHeader(9, Uint8Array.of(0xdc, 0x7f, 0xff, ...Array(40).fill([0xdc, 0x7f, 0xf0]).flat()));
  expectError(decodePacket(fan), 'malformed');
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew ${grown} bytes`);
});

test('encoders refuse messages no peer would accept', () => {
  const bad: readonly GossipMsg[] = [
    { type: 'ack', seq: -1 },
    { type: 'ack', seq: LIMITS.seqMax + 1 },
    { type: 'nack', seq: 1.5 },
    { type: 'alive', name: '', host: 'h', port: 1, incarnation: 0 },
    { type: 'alive', name: 'n', host: 'h', port: 65_536, incarnation: 0 },
    { type: 'alive', name: 'x'.repeat(LIMITS.nameBytesMax + 1), host: 'h', port: 1, incarnation: 0 },
    { type: 'leave', name: 'n', incarnation: LIMITS.incarnationMax + 1 },
  ];
  for (const msg of bad) {
    assert.throws(() => encodePacket(msg), RangeError, JSON.stringify(msg));
    assert.throws(() => encodePart(msg), RangeError);
  }
  const nested = { type: 'compound', parts: [] } as unknown as GossipMsg;
  assert.throws(() => encodePacket({ type: 'compound', parts: [nested] }), RangeError);
  const ack = encodePart({ type: 'ack', seq: 1 });
  assert.throws(() => encodeCompound(Array(LIMITS.compoundPartsMax + 1).fill(ack)), RangeError);
  const big = encodePart({ type: 'alive', name: longName, host: longHost, port: 1, incarnation: 1 });
  const tooBig = Array(Math.ceil(LIMITS.packetBytesMax / big.length) + 1).fill(big).slice(0, LIMITS.compoundPartsMax);
  assert.throws(() => encodeCompound(tooBig), RangeError);
  const tooMany: PushPullMsg = {
    type: 'push-pull',
    join: false,
    source: 'a',
    members: Array.from({ length: LIMITS.pushPullMembersMax + 1 }, (_, i) => member(i)),
    services: [],
  };
  assert.throws(() => encodePushPull(tooMany), RangeError);
  const badStatus = { ...member(1), status: 'gone' } as unknown as MemberState;
  const withBadStatus: PushPullMsg = { type: 'push-pull', join: false, source: 'a', members: [badStatus], services: [] };
  assert.throws(() => encodePushPull(withBadStatus), RangeError);
});

test('decoding never throws, whatever it is given', () => {
  const odd = [new Uint8Array([PROTOCOL_VERSION, 3, 0x91]), Buffer.from([PROTOCOL_VERSION, 3, 0x91, 1])];
  for (const bytes of odd) {
    assert.doesNotThrow(() => decodePacket(bytes), hex(bytes));
    assert.doesNotThrow(() => decodePushPull(bytes), hex(bytes));
  }
  // A Buffer and a subarray at an offset decode like any Uint8Array.
  const inner = encodePacket({ type: 'ack', seq: 3 });
  const shifted = new Uint8Array(inner.length + 5);
  shifted.set(inner, 5);
  assert.deepStrictEqual(decodeOk(decodePacket(shifted.subarray(5))), { type: 'ack', seq: 3 });
  assert.deepStrictEqual(decodeOk(decodePacket(Buffer.from(inner))), { type: 'ack', seq: 3 });
  expectError(decodePacket('not bytes' as unknown as Uint8Array), 'malformed');
  expectError(decodePacket(null as unknown as Uint8Array), 'malformed');
});

test('run times on the checks of a name claim: ping and ack carry them as appended fields; older shapes still decode', () => {
  const ping = { type: 'ping', seq: 9, target: 'a', source: 'a', sourceHost: '10.0.0.1', sourcePort: 7946, uptimeMs: 123_456 } as const;
  assert.deepStrictEqual(decodeOk(decodePacket(encodePacket(ping))), ping);
  const ack = { type: 'ack', seq: 9, uptimeMs: 0xffff_ffff } as const;
  assert.deepStrictEqual(decodeOk(decodePacket(encodePacket(ack))), ack);
  assert.deepStrictEqual(decodeOk(decodePacket(encodePacket({ type: 'ack', seq: 9 }))), { type: 'ack', seq: 9 });
  for (const bad of [-1, 2 ** 32, 1.5, 'x']) {
    const r = decodePacket(raw(3, [9, bad]));
    assert.equal(r.ok, false, `ack.uptimeMs ${String(bad)} must be refused`);
    if (!r.ok) assert.equal(r.reason, 'bad_field');
  }
});
