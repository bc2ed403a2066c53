/**
 * Wire codec of the catalog messages: service entries (type 11), confirm (12), confirm request (14)
 * and the services field appended to push-pull states. Same style as codec.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import {
  decodePacket,
  decodePushPull,
  encodeCompound,
  encodePacket,
  encodePart,
  encodePushPull,
} from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import {
  MessageType,
  PROTOCOL_VERSION,
  type ConfirmMsg,
  type ConfirmRequestMsg,
  type DecodeErrorReason,
  type DecodeResult,
  type GossipMsg,
  type MemberState,
  type PushPullMsg,
  type ServiceMsg,
} from '../protocol/messages.js';

// Helpers copied from codec.test.ts (which this file may not import from).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

function raw(type: number, body: unknown, version = PROTOCOL_VERSION): Uint8Array {
  return withHeader(type, packr.pack(body), version);
}

function withHeader(type: number, body: Uint8Array | readonly number[], version = PROTOCOL_VERSION): Uint8Array {
  return Uint8Array.from([version, type, ...body]);
}

/** Decodes without ever letting an exception escape the test's own assertion. */
function safe<T>(decode: () => DecodeResult<T>, what: string): DecodeResult<T> {
  try {
    return decode();
  } catch (e) {
    return assert.fail(`decoder threw on ${what}: ${String(e)}`);
  }
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

/** A string of exactly `bytes` UTF-8 bytes, mixing 1-, 2- and 3-byte characters. */
function utf8(bytes: number, seed = 'x'): string {
  let s = '';
  let n = 0;
  const cycle = [seed, 'é', '节'];
  for (let i = 0; ; i++) {
    const c = cycle[i % 3] as string;
    const len = Buffer.byteLength(c, 'utf8');
    if (n + len > bytes) break;
    s += c;
    n += len;
  }
  while (n < bytes) {
    s += seed;
    n++;
  }
  assert.equal(Buffer.byteLength(s, 'utf8'), bytes);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Samples

const longNode = 'é'.repeat(LIMITS.nameBytesMax / 2); // exactly nameBytesMax bytes

const fullService: ServiceMsg = {
  type: 'service',
  node: longNode,
  id: utf8(LIMITS.serviceIdBytesMax, 'i'),
  rev: LIMITS.incarnationMax,
  deleted: false,
  name: utf8(LIMITS.serviceIdBytesMax, 'n'),
  address: 'a'.repeat(LIMITS.addressBytesMax),
  port: 65_535,
  tags: Array.from({ length: LIMITS.serviceTagsMax }, (_, i) => utf8(LIMITS.serviceTagBytesMax, String.fromCharCode(97 + (i % 26)))),
  meta: Array.from({ length: LIMITS.serviceMetaMax }, (_, i): [string, string] => [
    utf8(LIMITS.serviceMetaKeyBytesMax - 2, 'k') + String(i).padStart(2, '0'),
    utf8(LIMITS.serviceMetaValueBytesMax, 'v'),
  ]),
  version: utf8(LIMITS.serviceVersionBytesMax, 'v'),
  weight: LIMITS.serviceWeightMax,
  health: 'critical',
  draining: true,
};

const minimalService: ServiceMsg = {
  type: 'service',
  node: 'a',
  id: 'b',
  rev: 0,
  deleted: false,
  name: 's',
  address: 'h',
  port: 0,
  tags: [],
  meta: [],
  version: '',
  weight: 0,
  health: 'passing',
  draining: false,
};

const tombstone: ServiceMsg = {
  type: 'service',
  node: 'node-a',
  id: 'web-1',
  rev: 17,
  deleted: true,
  name: '',
  address: '',
  port: 0,
  tags: [],
  meta: [],
  version: '',
  weight: 0,
  health: 'critical',
  draining: false,
};

const typicalService: ServiceMsg = {
  type: 'service',
  node: 'node-b',
  id: 'api-1',
  rev: 3,
  deleted: false,
  name: 'api',
  address: '10.0.0.7',
  port: 8080,
  tags: ['blue', 'v2', '节点'],
  meta: [['zone', 'eu-1'], ['empty', '']],
  version: '2.1.0',
  weight: 100,
  health: 'warning',
  draining: false,
};

const confirmRequests: readonly ConfirmRequestMsg[] = [
  { type: 'confirm-request', reqId: 0, owner: 'a', id: 'b', rev: 0, from: 'c' },
  { type: 'confirm-request', reqId: 7, owner: 'a', id: 'b', rev: 1, from: 'a', life: 0 },
  {
    type: 'confirm-request',
    reqId: LIMITS.seqMax,
    owner: longNode,
    id: utf8(LIMITS.serviceIdBytesMax),
    rev: LIMITS.incarnationMax,
    from: longNode,
  },
];

const confirms: readonly ConfirmMsg[] = [
  { type: 'confirm', reqId: 1, owner: 'node-a', id: 'web-1', rev: 0, from: 'node-b' },
  { type: 'confirm', reqId: 2, owner: 'node-a', id: 'web-1', rev: 3, from: 'node-b', life: LIMITS.seqMax },
  {
    type: 'confirm',
    reqId: LIMITS.seqMax,
    owner: longNode,
    id: utf8(LIMITS.serviceIdBytesMax),
    rev: LIMITS.incarnationMax,
    from: longNode,
  },
];

const catalogSamples: readonly GossipMsg[] = [fullService, minimalService, tombstone, typicalService, ...confirmRequests, ...confirms];

function member(i: number, status: MemberState['status'] = 'alive'): MemberState {
  return { name: `member-${i}`, host: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 7946, incarnation: i, status };
}

function service(i: number, deleted = false): ServiceMsg {
  if (deleted) return { ...tombstone, node: `member-${i % 97}`, id: `svc-${i}`, rev: i };
  return {
    ...typicalService,
    node: `member-${i % 97}`,
    id: `svc-${i}`,
    rev: i,
    port: 1 + (i % 65_535),
    health: (['passing', 'warning', 'critical'] as const)[i % 3] as ServiceMsg['health'],
    draining: i % 5 === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Round trips

test('service, confirm and confirm-request round-trip alone and as a compound part', () => {
  for (const msg of catalogSamples) {
    const bytes = encodePacket(msg);
    assert.equal(bytes[0], PROTOCOL_VERSION);
    const back = decodeOk(decodePacket(bytes));
    assert.deepStrictEqual(back, msg);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    const viaCompound = decodeOk(decodePacket(encodePacket({ type: 'compound', parts: [msg] })));
    assert.deepStrictEqual(viaCompound, { type: 'compound', parts: [msg] });
  }
  // The full entry is large but still fits a datagram; confirm it really is at every limit.
  const full = encodePacket(fullService);
  assert.ok(full.length <= LIMITS.packetBytesMax);
  assert.ok(fullService.meta.every(([k, v]) => Buffer.byteLength(k) === LIMITS.serviceMetaKeyBytesMax &&
    Buffer.byteLength(v) === LIMITS.serviceMetaValueBytesMax));
});

test('type codes and field order on the wire', () => {
  const code = (m: GossipMsg): number | undefined => encodePacket(m)[1];
  assert.equal(code(minimalService), MessageType.Service);
  assert.equal(code(tombstone), 11);
  assert.equal(code(confirms[0] as GossipMsg), 12);
  assert.equal(code(confirmRequests[0] as GossipMsg), 14);
  assert.deepStrictEqual(packr.unpack(encodePacket(typicalService).subarray(2)), [
    'node-b', 'api-1', 3, false, 'api', '10.0.0.7', 8080, ['blue', 'v2', '节点'],
    [['zone', 'eu-1'], ['empty', '']], '2.1.0', 100, 1, false,
  ]);
  assert.deepStrictEqual(packr.unpack(encodePacket(confirms[0] as GossipMsg).subarray(2)), [1, 'node-a', 'web-1', 0, 'node-b']);
  // A hand-built entry decodes to the named health; each code maps to one value.
  const body = (h: number): unknown[] => ['n', 'i', 1, false, 's', 'h', 1, [], [], '', 1, h, false];
  assert.deepStrictEqual([0, 1, 2].map((h) => (decodeOk(decodePacket(raw(11, body(h)))) as ServiceMsg).health), [
    'passing', 'warning', 'critical',
  ]);
});

test('a compound mixes catalog and membership messages, and encodeCompound agrees with encodePacket', () => {
  const parts: GossipMsg[] = [
    { type: 'ping', seq: 9, target: 'node-b', source: 'node-a', sourceHost: '10.0.0.1', sourcePort: 7946 },
    typicalService,
    { type: 'alive', name: 'node-c', host: '10.0.0.3', port: 7946, incarnation: 2 },
    tombstone,
    confirmRequests[0] as GossipMsg,
    { type: 'ack', seq: 9 },
    confirms[0] as GossipMsg,
    minimalService,
    { type: 'suspect', name: 'node-d', incarnation: 1, from: 'node-a' },
    { type: 'leave', name: 'node-e', incarnation: 4 },
  ];
  const viaPacket = encodePacket({ type: 'compound', parts });
  assert.deepStrictEqual(encodeCompound(parts.map(encodePart)), viaPacket);
  assert.deepStrictEqual(decodeOk(decodePacket(viaPacket)), { type: 'compound', parts });
  // The full-size entry rides along with a probe.
  const withFull = [parts[0] as GossipMsg, fullService, confirms[2] as GossipMsg];
  assert.deepStrictEqual(decodeOk(decodePacket(encodePacket({ type: 'compound', parts: withFull }))), {
    type: 'compound',
    parts: withFull,
  });
  // Unknown part types (13 = reserved, 15 = future) between catalog parts are skipped.
  const body = [[11, ['n', 'i', 1, true, '', '', 0, [], [], '', 0, 2, false]], [13, []], [15, ['x']], [12, [1, 'o', 'i', 2, 'f']]];
  assert.deepStrictEqual(decodeOk(decodePacket(raw(9, body))), {
    type: 'compound',
    parts: [
      { ...tombstone, node: 'n', id: 'i', rev: 1 },
      { type: 'confirm', reqId: 1, owner: 'o', id: 'i', rev: 2, from: 'f' },
    ],
  });
});

test('trailing elements of catalog messages are ignored', () => {
  const extra = [1, 'future', { k: 1 }, null, [1, [2]], true];
  const svc = ['n', 'i', 1, false, 's', 'h', 1, ['t'], [['k', 'v']], '', 1, 0, false];
  assert.deepStrictEqual(decodeOk(decodePacket(raw(11, [...svc, ...extra]))), {
    type: 'service', node: 'n', id: 'i', rev: 1, deleted: false, name: 's', address: 'h', port: 1, tags: ['t'],
    meta: [['k', 'v']], version: '', weight: 1, health: 'passing', draining: false,
  });
  assert.deepStrictEqual(decodeOk(decodePacket(raw(14, [5, 'o', 'i', 6, 'f', 9, ...extra]))), {
    type: 'confirm-request', reqId: 5, owner: 'o', id: 'i', rev: 6, from: 'f', life: 9,
  });
  assert.deepStrictEqual(decodeOk(decodePacket(raw(12, [5, 'o', 'i', 6, 'f', 9, ...extra]))), {
    type: 'confirm', reqId: 5, owner: 'o', id: 'i', rev: 6, from: 'f', life: 9,
  });
});

test('push-pull round-trips with no, some, and mixed services', () => {
  for (const count of [0, 1, 3, 16, 1000]) {
    const msg: PushPullMsg = {
      type: 'push-pull',
      join: count % 2 === 1,
      source: 'node-a',
      members: Array.from({ length: Math.min(count, 50) }, (_, i) => member(i)),
      services: Array.from({ length: count }, (_, i) => service(i, i % 4 === 3)),
    };
    assert.deepStrictEqual(decodeOk(decodePushPull(encodePushPull(msg))), msg);
  }
  const edge: PushPullMsg = {
    type: 'push-pull',
    join: true,
    source: longNode,
    members: [member(1)],
    services: [fullService, minimalService, tombstone, typicalService],
  };
  assert.deepStrictEqual(decodeOk(decodePushPull(encodePushPull(edge))), edge);
  // A newer agent's further fields after services, the paging cursors, splits, digest and in-sync flag are ignored.
  const extended = raw(10, [false, 'a', [], [['n', 'i', 1, true, '', '', 0, [], [], '', 0, 2, false]], null, null, null, null, null, 'more', [1]]);
  assert.deepStrictEqual(decodeOk(decodePushPull(extended)).services, [{ ...tombstone, node: 'n', id: 'i', rev: 1 }]);
});

test('push-pull paging cursors round-trip; a state without them decodes as before', () => {
  const at = { node: 'node-7', id: 'payments-api-12' };
  const next = { node: utf8(LIMITS.nameBytesMax), id: utf8(LIMITS.serviceIdBytesMax) };
  const base: PushPullMsg = { type: 'push-pull', join: true, source: 'a', members: [member(1)], services: [typicalService] };
  for (const msg of [{ ...base, pageFrom: at, moreAfter: next }, { ...base, pageFrom: at }, { ...base, moreAfter: next }]) {
    assert.deepStrictEqual(decodeOk(decodePushPull(encodePushPull(msg))), msg);
  }
  // An older agent's state (four fields) decodes with no cursor at all; nil cursors are absent too.
  const old = raw(10, [true, 'a', [['m', 'h', 1, 2, 0]], []]);
  const decoded = decodeOk(decodePushPull(old));
  assert.ok(!('pageFrom' in decoded) && !('moreAfter' in decoded));
  assert.ok(!('pageFrom' in decodeOk(decodePushPull(raw(10, [true, 'a', [], [], null, null])))));
  // Without cursors the encoding is exactly an older agent's; with them, its first four fields are
  // that same state, which is all an older decoder reads.
  const plain = encodePushPull(base);
  assert.equal(packr.unpack(plain.subarray(2)).length, 4);
  const paged = packr.unpack(encodePushPull({ ...base, pageFrom: at, moreAfter: next }).subarray(2)) as unknown[];
  assert.equal(paged.length, 6);
  assert.deepStrictEqual(raw(10, paged.slice(0, 4)), plain);

  for (const [bad, reason, detail] of [
    ['n/i', 'bad_field', 'push-pull.pageFrom'],
    [{ node: 'n', id: 'i' }, 'bad_field', 'push-pull.pageFrom'],
    [['n'], 'bad_field', 'push-pull.pageFrom.id'],
    [['', 'i'], 'bad_field', 'push-pull.pageFrom.node'],
    [['n', utf8(LIMITS.serviceIdBytesMax + 1)], 'bad_field', 'push-pull.pageFrom.id'],
    [['n', 'i', 'x'], 'too_many', 'push-pull.pageFrom'],
  ] as const) {
    expectError(decodePushPull(raw(10, [true, 'a', [], [], bad])), reason, detail);
    expectError(decodePushPull(raw(10, [true, 'a', [], [], null, bad])), reason, detail.replace('pageFrom', 'moreAfter'));
  }
});

test('push-pull at the servicesMax limit round-trips; one more is too_many', () => {
  // Small tombstones keep the state well under streamBytesMax and the test fast.
  const services = Array.from({ length: LIMITS.servicesMax }, (_, i): ServiceMsg => ({
    ...tombstone, node: 'n', id: String(i), rev: i,
  }));
  const msg: PushPullMsg = { type: 'push-pull', join: false, source: 'a', members: [], services };
  const bytes = encodePushPull(msg);
  assert.ok(bytes.length <= LIMITS.streamBytesMax);
  const back = decodeOk(decodePushPull(bytes));
  assert.equal(back.services.length, LIMITS.servicesMax);
  assert.deepStrictEqual(back, msg);
  assert.throws(() => encodePushPull({ ...msg, services: [...services, tombstone] }), RangeError);

  // Hand-built: [true, "a", [], array32 claiming servicesMax + 1 entries, each a nil byte]. The
  // count is refused before any entry is looked at.
  const state = (n: number): Uint8Array => withHeader(10, [
    0x94, 0xc3, 0xa1, 0x61, 0x90,
    0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff,
    ...new Uint8Array(n).fill(0xc0),
  ]);
  expectError(decodePushPull(state(LIMITS.servicesMax + 1)), 'too_many', 'services');
  // Exactly servicesMax passes the count and fails on the first entry instead.
  expectError(decodePushPull(state(LIMITS.servicesMax)), 'bad_field', 'push-pull.services[0].entry');
});

// servicesMax bounds entries, not bytes: a full catalog of ordinary entries is larger than one stream,
// which is why a node's push-pull state carries at most pushPullServiceBytesMax of them (see
// catalog-unit.test.ts). This pins the arithmetic that makes the byte budget necessary and sufficient.
test('the push-pull byte budgets fit one stream; a full catalog of the largest entries does not', () => {
  const entry = (i: number): ServiceMsg => ({
    ...typicalService,
    node: `node-${i % 100}.dc1.example.com`,
    id: `payments-api-${i}`,
    rev: i + 1,
    tags: ['blue', 'canary', 'v2', 'https', 'grpc'],
    meta: [['zone', 'eu-west-1a'], ['team', 'payments'], ['commit', '3f9a2c1d5e'], ['owner', 'sre@example.com']],
  });
  const size = encodePart(entry(LIMITS.servicesMax)).length;
  assert.ok(size <= LIMITS.packetBytesDefault - LIMITS.serviceReserveBytes, `${size} bytes is admissible`);
  const largest = LIMITS.packetBytesDefault - LIMITS.serviceReserveBytes;
  assert.ok(largest * LIMITS.servicesMax > LIMITS.streamBytesMax, 'a full catalog of the largest entries exceeds one stream');
  const memberBytes = LIMITS.membersMax * (LIMITS.nameBytesMax + LIMITS.addressBytesMax + 20);
  assert.ok(LIMITS.pushPullServiceBytesMax + memberBytes < LIMITS.streamBytesMax, 'members and budgeted services fit');
});

test('a confirm or confirm request whose life is not a 32-bit integer is refused', () => {
  for (const life of [-1, LIMITS.seqMax + 1, 1.5, '1', null]) {
    expectError(decodePacket(raw(14, [5, 'o', 'i', 6, 'f', life])), 'bad_field', 'confirm-request.life');
    expectError(decodePacket(raw(12, [5, 'o', 'i', 6, 'f', life])), 'bad_field', 'confirm.life');
  }
});

test('push-pull services structure errors name the entry', () => {
  const svc: unknown[] = ['n', 'i', 1, false, 's', 'h', 1, [], [], '', 1, 0, false];
  expectError(decodePushPull(raw(10, [true, 'a', [], 'services'])), 'bad_field', 'push-pull.services');
  expectError(decodePushPull(raw(10, [true, 'a', [], null])), 'bad_field', 'push-pull.services');
  expectError(decodePushPull(raw(10, [true, 'a', [], { 0: svc }])), 'bad_field', 'push-pull.services');
  expectError(decodePushPull(raw(10, [true, 'a', [], [svc, 7]])), 'bad_field', 'push-pull.services[1].entry');
  const badPort = svc.slice();
  badPort[6] = 70_000;
  expectError(decodePushPull(raw(10, [true, 'a', [], [svc, svc, badPort]])), 'bad_field', 'push-pull.services[2].service.port');
  // Members are still checked first: the first bad field in wire order is reported.
  expectError(decodePushPull(raw(10, [true, 'a', [['m']], [badPort]])), 'bad_field', 'members[0]');
  // Service messages never travel as a stream state, and push-pull never as a datagram.
  expectError(decodePushPull(encodePacket(typicalService)), 'unknown_type');
});

// ---------------------------------------------------------------------------------------------
// Malformed fields

type Expect = readonly [value: unknown, reason: DecodeErrorReason, detail: string];

const SERVICE_FIELDS = [
  'node', 'id', 'rev', 'deleted', 'name', 'address', 'port', 'tags', 'meta', 'version', 'weight', 'health', 'draining',
] as const;

const goodService: readonly unknown[] = ['node-a', 'web-1', 5, false, 'web', '10.0.0.1', 80, ['t'], [['k', 'v']], '1.0', 10, 0, false];

const bin = new Uint8Array([97]);

/** Wrong values per service field: [value, reason, detail fragment relative to "service."]. */
const wrongService: Record<(typeof SERVICE_FIELDS)[number], readonly Expect[]> = {
  node: [
    ['', 'bad_field', 'node'],
    ['x'.repeat(LIMITS.nameBytesMax + 1), 'bad_field', 'node'],
    ['é'.repeat(LIMITS.nameBytesMax / 2 + 1), 'bad_field', 'node'],
    [1, 'bad_field', 'node'],
    [null, 'bad_field', 'node'],
    [['a'], 'bad_field', 'node'],
    [bin, 'bad_field', 'node'],
  ],
  id: [
    ['', 'bad_field', 'id'],
    ['i'.repeat(LIMITS.serviceIdBytesMax + 1), 'bad_field', 'id'],
    ['节'.repeat(Math.floor(LIMITS.serviceIdBytesMax / 3) + 1), 'bad_field', 'id'],
    [7, 'bad_field', 'id'],
    [null, 'bad_field', 'id'],
    [{ id: 'x' }, 'bad_field', 'id'],
  ],
  rev: [
    [-1, 'bad_field', 'rev'],
    [LIMITS.incarnationMax + 1, 'bad_field', 'rev'],
    [2 ** 53, 'bad_field', 'rev'],
    [1.5, 'bad_field', 'rev'],
    ['1', 'bad_field', 'rev'],
    [null, 'bad_field', 'rev'],
    [true, 'bad_field', 'rev'],
  ],
  deleted: [
    [0, 'bad_field', 'deleted'],
    [1, 'bad_field', 'deleted'],
    ['true', 'bad_field', 'deleted'],
    [null, 'bad_field', 'deleted'],
    [[], 'bad_field', 'deleted'],
  ],
  name: [
    ['', 'bad_field', 'name'], // empty on a live entry
    ['n'.repeat(LIMITS.serviceIdBytesMax + 1), 'bad_field', 'name'],
    [5, 'bad_field', 'name'],
    [null, 'bad_field', 'name'],
    [bin, 'bad_field', 'name'],
  ],
  address: [
    ['', 'bad_field', 'address'],
    ['h'.repeat(LIMITS.addressBytesMax + 1), 'bad_field', 'address'],
    [127, 'bad_field', 'address'],
    [null, 'bad_field', 'address'],
  ],
  port: [
    [-1, 'bad_field', 'port'],
    [70_000, 'bad_field', 'port'],
    [65_536, 'bad_field', 'port'],
    [80.5, 'bad_field', 'port'],
    ['80', 'bad_field', 'port'],
    [null, 'bad_field', 'port'],
  ],
  tags: [
    ['web', 'bad_field', 'tags'],
    [{ 0: 'a' }, 'bad_field', 'tags'],
    [null, 'bad_field', 'tags'],
    [3, 'bad_field', 'tags'],
    [Array(LIMITS.serviceTagsMax + 1).fill('t'), 'too_many', 'tags'],
    [['a', ''], 'bad_field', 'tags[1]'],
    [['t'.repeat(LIMITS.serviceTagBytesMax + 1)], 'bad_field', 'tags[0]'],
    [['a', 'b', 1], 'bad_field', 'tags[2]'],
    [[null], 'bad_field', 'tags[0]'],
    [[['a']], 'bad_field', 'tags[0]'],
  ],
  meta: [
    [{ k: 'v' }, 'bad_field', 'meta'], // a msgpack map, not a list of pairs
    [{}, 'bad_field', 'meta'],
    ['k=v', 'bad_field', 'meta'],
    [null, 'bad_field', 'meta'],
    [Array.from({ length: LIMITS.serviceMetaMax + 1 }, (_, i) => [`k${i}`, 'v']), 'too_many', 'meta'],
    [[['k']], 'bad_field', 'meta[0]'],
    [[[]], 'bad_field', 'meta[0]'],
    [['kv'], 'bad_field', 'meta[0]'],
    [[{ k: 'v' }], 'bad_field', 'meta[0]'],
    [[['a', 'b'], ['c']], 'bad_field', 'meta[1]'],
    [[['', 'v']], 'bad_field', 'meta[0].key'],
    [[[1, 'v']], 'bad_field', 'meta[0].key'],
    [[[null, 'v']], 'bad_field', 'meta[0].key'],
    [[['k'.repeat(LIMITS.serviceMetaKeyBytesMax + 1), 'v']], 'bad_field', 'meta[0].key'],
    [[['k', 1]], 'bad_field', 'meta[0].value'],
    [[['k', null]], 'bad_field', 'meta[0].value'],
    [[['k', true]], 'bad_field', 'meta[0].value'],
    [[['k', bin]], 'bad_field', 'meta[0].value'],
    [[['k', 'v'.repeat(LIMITS.serviceMetaValueBytesMax + 1)]], 'bad_field', 'meta[0].value'],
    [[['a', 'b'], ['c', 7]], 'bad_field', 'meta[1].value'],
  ],
  version: [
    ['v'.repeat(LIMITS.serviceVersionBytesMax + 1), 'bad_field', 'version'],
    [1, 'bad_field', 'version'],
    [null, 'bad_field', 'version'],
  ],
  weight: [
    [-1, 'bad_field', 'weight'],
    [LIMITS.serviceWeightMax + 1, 'bad_field', 'weight'],
    [1.5, 'bad_field', 'weight'],
    ['1', 'bad_field', 'weight'],
    [null, 'bad_field', 'weight'],
  ],
  health: [
    [3, 'bad_field', 'health'],
    [-1, 'bad_field', 'health'],
    [255, 'bad_field', 'health'],
    [0.5, 'bad_field', 'health'],
    ['passing', 'bad_field', 'health'],
    [null, 'bad_field', 'health'],
  ],
  draining: [
    [0, 'bad_field', 'draining'],
    ['false', 'bad_field', 'draining'],
    [null, 'bad_field', 'draining'],
  ],
};

/** Checks one service body three ways: alone, as compound part 1, and as push-pull entry 1. */
function expectServiceError(body: readonly unknown[], reason: DecodeErrorReason, field: string): void {
  const what = `service.${field}`;
  expectError(safe(() => decodePacket(raw(11, body)), what), reason, what);
  expectError(safe(() => decodePacket(raw(9, [[3, [1]], [11, body]])), what), reason, `parts[1].${what}`);
  expectError(safe(() => decodePushPull(raw(10, [true, 'a', [], [goodService, body]])), what), reason,
    `push-pull.services[1].${what}`);
}

test('a wrong type or out-of-range value in any service field is refused, naming the field', () => {
  assert.equal(decodePacket(raw(11, goodService)).ok, true);
  SERVICE_FIELDS.forEach((field, i) => {
    for (const [wrong, reason, detail] of wrongService[field]) {
      const body = goodService.slice();
      body[i] = wrong;
      expectServiceError(body, reason, detail);
    }
    // Missing fields: the array ends before this one.
    expectServiceError(goodService.slice(0, i), 'bad_field', field);
  });
  for (const notArray of [1, 'x', null, { 0: 'n' }, true]) {
    expectError(decodePacket(raw(11, notArray)), 'bad_field', 'body');
  }
  // The first bad field in wire order is the one reported.
  const twoBad = goodService.slice();
  twoBad[6] = -1;
  twoBad[11] = 3;
  expectError(decodePacket(raw(11, twoBad)), 'bad_field', 'service.port');
});

test('limits are inclusive: values exactly at each bound decode', () => {
  const body = goodService.slice();
  body[2] = LIMITS.incarnationMax;
  body[6] = 65_535;
  body[7] = Array(LIMITS.serviceTagsMax).fill('t'.repeat(LIMITS.serviceTagBytesMax));
  body[8] = Array.from({ length: LIMITS.serviceMetaMax }, () => ['k'.repeat(LIMITS.serviceMetaKeyBytesMax), '']);
  body[9] = 'v'.repeat(LIMITS.serviceVersionBytesMax);
  body[10] = LIMITS.serviceWeightMax;
  body[11] = 2;
  const msg = decodeOk(decodePacket(raw(11, body))) as ServiceMsg;
  assert.equal(msg.tags.length, LIMITS.serviceTagsMax);
  assert.equal(msg.meta.length, LIMITS.serviceMetaMax); // duplicate keys are the catalog's business
  assert.equal(msg.health, 'critical');
  // A float64 -0 weight (hand-encoded: the packer would write integer 0) comes back as integer 0.
  const minusZero = [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0];
  const prefix = Array.from(packr.pack(goodService.slice(0, 10))).slice(1); // drop the fixarray(10) header
  const canon = decodeOk(decodePacket(withHeader(11, [0x9d, ...prefix, ...minusZero, 0, 0xc2]))) as ServiceMsg;
  assert.ok(Object.is(canon.weight, 0));
});

test('a tombstone may carry empty name and address; node and id stay mandatory', () => {
  const t: unknown[] = ['node-a', 'web-1', 9, true, '', '', 0, [], [], '', 0, 2, false];
  assert.deepStrictEqual(decodeOk(decodePacket(raw(11, t))), { ...tombstone, rev: 9 });
  for (const [i, field] of [[0, 'node'], [1, 'id']] as const) {
    const body = t.slice();
    body[i] = '';
    expectServiceError(body, 'bad_field', field);
  }
  // The other checks still apply to a tombstone.
  const badTag = t.slice();
  badTag[7] = [''];
  expectServiceError(badTag, 'bad_field', 'tags[0]');
  const badPort = t.slice();
  badPort[6] = -1;
  expectServiceError(badPort, 'bad_field', 'port');
});

// Intended behaviour per codec-service.ts ("a [key, value] pair" check), but `list(p, ..., 2)` runs
// first and reports a 3-element pair as too_many ("service.meta[0]: 3 items exceed 2").
test('a meta pair of three elements is bad_field, like one of one', () => {
  const body = goodService.slice();
  body[8] = [['k', 'v', 'x']];
  expectServiceError(body, 'bad_field', 'meta[0]');
});

const CONFIRM_FIELDS = ['reqId', 'owner', 'id', 'rev', 'from'] as const;
const goodConfirm: readonly unknown[] = [7, 'node-a', 'web-1', 3, 'node-b'];
const wrongConfirm: Record<(typeof CONFIRM_FIELDS)[number], readonly unknown[]> = {
  reqId: [-1, LIMITS.seqMax + 1, 1.5, '1', null, true, [1]],
  owner: ['', 'x'.repeat(LIMITS.nameBytesMax + 1), 1, null, bin],
  id: ['', 'i'.repeat(LIMITS.serviceIdBytesMax + 1), 1, null, ['i']],
  rev: [-1, LIMITS.incarnationMax + 1, 0.5, '3', null],
  from: ['', 'é'.repeat(LIMITS.nameBytesMax / 2 + 1), 2, null, {}],
};

test('a wrong value in any confirm or confirm-request field is bad_field naming it', () => {
  for (const [code, typeName] of [[12, 'confirm'], [14, 'confirm-request']] as const) {
    assert.equal(decodePacket(raw(code, goodConfirm)).ok, true);
    CONFIRM_FIELDS.forEach((field, i) => {
      const what = `${typeName}.${field}`;
      for (const wrong of wrongConfirm[field]) {
        const body = goodConfirm.slice();
        body[i] = wrong;
        expectError(safe(() => decodePacket(raw(code, body)), what), 'bad_field', what);
        expectError(safe(() => decodePacket(raw(9, [[14, goodConfirm], [code, body]])), what), 'bad_field', `parts[1].${what}`);
      }
      expectError(decodePacket(raw(code, goodConfirm.slice(0, i))), 'bad_field', what);
    });
    for (const notArray of [1, 'x', null, { 0: 7 }]) expectError(decodePacket(raw(code, notArray)), 'bad_field', 'body');
  }
});

test('every truncation of a catalog packet is malformed, and decoding never throws', () => {
  const valid = [
    ...catalogSamples.filter((m) => m !== fullService).map((m) => encodePacket(m)),
    encodePacket({ type: 'compound', parts: [typicalService, tombstone, confirms[0] as GossipMsg, confirmRequests[0] as GossipMsg] }),
  ];
  for (const bytes of valid) {
    for (let n = 1; n < bytes.length; n++) expectError(safe(() => decodePacket(bytes.subarray(0, n)), 'truncation'), 'malformed');
    expectError(decodePacket(Uint8Array.from([...bytes, 0xc0])), 'malformed', 'trailing');
  }
  const pp = encodePushPull({ type: 'push-pull', join: false, source: 'a', members: [member(1)], services: [typicalService, tombstone] });
  for (let n = 1; n < pp.length; n++) expectError(safe(() => decodePushPull(pp.subarray(0, n)), 'truncation'), 'malformed');
  // Every single-byte overwrite of a typical entry: whatever the outcome, it is a result, not a throw.
  const base = encodePacket(typicalService);
  for (let i = 2; i < base.length; i++) {
    for (const v of [0x00, 0x7f, 0x80, 0x90, 0x91, 0xa0, 0xc0, 0xc1, 0xc3, 0xcb, 0xd4, 0xdc, 0xde, 0xff]) {
      const b = Uint8Array.from(base);
      b[i] = v;
      const r = safe(() => decodePacket(b), `overwrite ${i}=${v}`);
      if (!r.ok) assert.ok(!r.detail.startsWith('msgpack:'), `fell through to msgpackr: ${r.detail}`);
    }
  }
});

test('encoders refuse catalog messages no peer would accept', () => {
  const bad: readonly GossipMsg[] = [
    { ...typicalService, port: 70_000 },
    { ...typicalService, port: -1 },
    { ...typicalService, rev: -1 },
    { ...typicalService, weight: LIMITS.serviceWeightMax + 1 },
    { ...typicalService, health: 'unknown' as ServiceMsg['health'] },
    { ...typicalService, health: 'toString' as ServiceMsg['health'] },
    { ...typicalService, name: '' },
    { ...typicalService, address: '' },
    { ...typicalService, id: 'i'.repeat(LIMITS.serviceIdBytesMax + 1) },
    { ...typicalService, tags: Array(LIMITS.serviceTagsMax + 1).fill('t') },
    { ...typicalService, tags: [''] },
    { ...typicalService, meta: [['', 'v']] },
    { ...typicalService, meta: Array.from({ length: LIMITS.serviceMetaMax + 1 }, (_, i): [string, string] => [`k${i}`, 'v']) },
    { ...typicalService, version: 'v'.repeat(LIMITS.serviceVersionBytesMax + 1) },
    { ...tombstone, node: '' },
    { type: 'confirm', reqId: -1, owner: 'a', id: 'b', rev: 0, from: 'c' },
    { type: 'confirm-request', reqId: 1, owner: 'a', id: '', rev: 0, from: 'c' },
    { type: 'confirm-request', reqId: 1, owner: 'a', id: 'b', rev: LIMITS.incarnationMax + 1, from: 'c' },
  ];
  for (const msg of bad) {
    assert.throws(() => encodePacket(msg), RangeError, JSON.stringify(msg).slice(0, 200));
    assert.throws(() => encodePart(msg), RangeError);
    assert.throws(() => encodePacket({ type: 'compound', parts: [msg] }), RangeError);
  }
  const pp: PushPullMsg = { type: 'push-pull', join: false, source: 'a', members: [], services: [{ ...typicalService, port: 70_000 }] };
  assert.throws(() => encodePushPull(pp), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Prototype safety

function assertPrototypeClean(): void {
  const probe = {} as Record<string, unknown>;
  assert.equal(probe.polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  assert.equal(typeof ({}).constructor, 'function');
  assert.equal(({}).constructor, Object);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.equal(({} as Record<string, unknown>).toString, Object.prototype.toString);
}

test('meta keys like __proto__ and constructor are plain data and touch no prototype', () => {
  const meta: [string, string][] = [
    ['__proto__', '{"polluted":"yes"}'],
    ['constructor', 'polluted'],
    ['prototype', 'x'],
    ['polluted', 'yes'],
    ['toString', ''],
    ['hasOwnProperty', 'y'],
  ];
  const msg: ServiceMsg = { ...typicalService, meta };
  for (const bytes of [
    encodePacket(msg),
    encodePacket({ type: 'compound', parts: [msg] }),
  ]) {
    const back = decodeOk(decodePacket(bytes));
    const svc = (back.type === 'compound' ? back.parts[0] : back) as ServiceMsg;
    assert.deepStrictEqual(svc.meta, meta);
    for (const pair of svc.meta) {
      assert.ok(Array.isArray(pair));
      assert.equal(Object.getPrototypeOf(pair), Array.prototype);
    }
    assert.equal(Object.getPrototypeOf(svc), Object.prototype);
    assertPrototypeClean();
  }
  const pp = decodeOk(decodePushPull(encodePushPull({ type: 'push-pull', join: false, source: 'a', members: [], services: [msg] })));
  assert.deepStrictEqual(pp.services[0]?.meta, meta);
  assert.equal(Object.getPrototypeOf(pp), Object.prototype);
  assertPrototypeClean();
  // Tags with the same names are plain strings too.
  const tagged = decodeOk(decodePacket(encodePacket({ ...typicalService, tags: ['__proto__', 'constructor'] }))) as ServiceMsg;
  assert.deepStrictEqual(tagged.tags, ['__proto__', 'constructor']);
  assertPrototypeClean();
});

test('msgpack maps with __proto__ or constructor keys are refused as meta and pollute nothing when ignored', () => {
  const str = (s: string): number[] => [0xa0 | s.length, ...Buffer.from(s)];
  // {"__proto__": {"polluted": "yes"}} and {"constructor": {"prototype": {"polluted": "yes"}}}
  const protoMap = [0x81, ...str('__proto__'), 0x81, ...str('polluted'), ...str('yes')];
  const ctorMap = [0x81, ...str('constructor'), 0x81, ...str('prototype'), 0x81, ...str('polluted'), ...str('yes')];
  // A service body up to meta, by hand: ["n", "i", 1, false, "s", "h", 1, [], <meta>, "", 1, 0, false]
  const head = [0x9d, ...str('n'), ...str('i'), 1, 0xc2, ...str('s'), ...str('h'), 1, 0x90];
  const tail = [0xa0, 1, 0, 0xc2];
  for (const map of [protoMap, ctorMap]) {
    expectError(decodePacket(withHeader(11, [...head, ...map, ...tail])), 'bad_field', 'service.meta');
    // As a meta pair (not a pair: a map) and as a pair's value.
    expectError(decodePacket(withHeader(11, [...head, 0x91, ...map, ...tail])), 'bad_field', 'service.meta[0]');
    expectError(decodePacket(withHeader(11, [...head, 0x91, 0x92, ...str('k'), ...map, ...tail])), 'bad_field', 'service.meta[0].value');
    // As an ignored trailing element of a valid entry, a confirm and a push-pull state.
    const trailing = [0x9e, ...head.slice(1), 0x90, ...tail, ...map];
    assert.equal(decodeOk(decodePacket(withHeader(11, trailing))).type, 'service');
    const confirm = [0x97, 1, ...str('o'), ...str('i'), 2, ...str('f'), 3, ...map];
    assert.equal(decodeOk(decodePacket(withHeader(12, confirm))).type, 'confirm');
    const state = [0x9a, 0xc3, ...str('a'), 0x90, 0x90, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, ...map];
    assert.deepStrictEqual(decodeOk(decodePushPull(withHeader(10, state))).services, []);
    // Where a paging cursor belongs, a map is refused.
    expectError(decodePushPull(withHeader(10, [0x95, 0xc3, ...str('a'), 0x90, 0x90, ...map])), 'bad_field', 'push-pull.pageFrom');
    assertPrototypeClean();
  }
});
