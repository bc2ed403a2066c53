/**
 * Seeded fuzzing of the wire decoders: random bytes and mutated valid packets (membership and catalog
 * messages: service entries, confirms, confirm requests) and push-pull states with services
 * (bit flips, byte overwrites, truncation, extension, insertion, deletion, length-field tampering,
 * splicing) go through decodePacket and decodePushPull. No exception may escape, every error must be
 * a known reason, and whatever decodes must re-encode and decode to an equal value.
 *
 *   SWIMD_FUZZ_SEED=N    seed (default 0x5eed); a failure prints the seed, input number and hex.
 *   SWIMD_FUZZ_COUNT=N   inputs (default 50,000). An opt-in long run:
 *                        SWIMD_FUZZ_COUNT=1000000 node --test dist/test/fuzz.test.js
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Packr } from 'msgpackr';
import { compoundOverhead, decodePacket, decodePushPull, encodePacket, encodePart, encodePushPull } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import {
  PROTOCOL_VERSION,
  type DecodeErrorReason,
  type GossipMsg,
  type Health,
  type MemberState,
  type PacketMsg,
  type PushPullMsg,
  type ServiceMsg,
} from '../protocol/messages.js';
import { Rng } from '../protocol/rng.js';

const SEED = envInt('SWIMD_FUZZ_SEED', 0x5eed);
const COUNT = envInt('SWIMD_FUZZ_COUNT', 50_000);
const HEAP_GROWTH_MAX = 64 * 1024 * 1024;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return n;
}

const REASONS: ReadonlySet<DecodeErrorReason> = new Set<DecodeErrorReason>([
  'empty',
  'too_large',
  'bad_version',
  'unknown_type',
  'malformed',
  'bad_field',
  'too_many',
]);

// ---------------------------------------------------------------------------------------------
// Valid inputs

const CHARS = ['a', 'z', '0', '-', '.', '_', 'é', 'ß', '节', '点', '😀', ' ', '\u0000', '\u007f'];

function randText(rng: Rng, maxBytes: number): string {
  const target = rng.int(4) === 0 ? maxBytes : 1 + rng.int(Math.min(maxBytes, 24));
  let s = '';
  let bytes = 0;
  for (;;) {
    const c = CHARS[rng.int(CHARS.length)] as string;
    const n = Buffer.byteLength(c, 'utf8');
    if (bytes + n > target) break;
    s += c;
    bytes += n;
  }
  return s === '' ? 'x' : s;
}

const U32_EDGES = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, LIMITS.seqMax];

function randU32(rng: Rng): number {
  return rng.int(3) === 0 ? (U32_EDGES[rng.int(U32_EDGES.length)] as number) : rng.nextU32();
}

function randPort(rng: Rng): number {
  return rng.int(4) === 0 ? [0, 1, 127, 128, 255, 256, 65_535][rng.int(7)] as number : rng.int(65_536);
}

const nameOf = (rng: Rng): string => randText(rng, LIMITS.nameBytesMax);
const hostOf = (rng: Rng): string => randText(rng, LIMITS.addressBytesMax);
const incOf = (rng: Rng): number => Math.min(randU32(rng), LIMITS.incarnationMax);

const HEALTHS: readonly Health[] = ['passing', 'warning', 'critical'];

/** Mostly a few items, sometimes up to the limit. */
function randCount(rng: Rng, max: number): number {
  const r = rng.int(10);
  if (r === 0) return max;
  if (r === 1) return rng.int(max + 1);
  return rng.int(4);
}

/** Mostly short text, sometimes at the byte limit, sometimes empty where empty is allowed. */
function optText(rng: Rng, maxBytes: number): string {
  return rng.int(4) === 0 ? '' : randText(rng, maxBytes);
}

function randService(rng: Rng): ServiceMsg {
  const node = nameOf(rng);
  const id = randText(rng, LIMITS.serviceIdBytesMax);
  const rev = incOf(rng);
  if (rng.int(4) === 0) {
    // A tombstone as the catalog makes it: every other field empty.
    return {
      type: 'service', node, id, rev, deleted: true, name: '', address: '', port: 0, tags: [], meta: [],
      version: '', weight: 0, health: HEALTHS[rng.int(3)] as Health, draining: false,
    };
  }
  const tags = Array.from({ length: randCount(rng, LIMITS.serviceTagsMax) }, () => randText(rng, LIMITS.serviceTagBytesMax));
  const meta = Array.from({ length: randCount(rng, LIMITS.serviceMetaMax) }, (): [string, string] => [
    randText(rng, LIMITS.serviceMetaKeyBytesMax),
    optText(rng, LIMITS.serviceMetaValueBytesMax),
  ]);
  return {
    type: 'service',
    node,
    id,
    rev,
    deleted: false,
    name: randText(rng, LIMITS.serviceIdBytesMax),
    address: hostOf(rng),
    port: randPort(rng),
    tags,
    meta,
    version: optText(rng, LIMITS.serviceVersionBytesMax),
    weight: rng.int(3) === 0 ? ([0, 1, 255, 256, LIMITS.serviceWeightMax][rng.int(5)] as number) : rng.int(LIMITS.serviceWeightMax + 1),
    health: HEALTHS[rng.int(3)] as Health,
    draining: rng.int(2) === 0,
  };
}

function randConfirm(rng: Rng, type: 'confirm' | 'confirm-request'): GossipMsg {
  return {
    type,
    reqId: randU32(rng),
    owner: nameOf(rng),
    id: randText(rng, LIMITS.serviceIdBytesMax),
    rev: incOf(rng),
    from: nameOf(rng),
  };
}

function randGossip(rng: Rng): GossipMsg {
  switch (rng.int(15)) {
    case 12:
      return { type: 'relay', lo: randU32(rng), hi: randU32(rng) };
    case 13:
    case 14:
      return { type: rng.int(2) === 0 ? 'have' : 'want', node: nameOf(rng), id: randText(rng, LIMITS.serviceIdBytesMax), rev: incOf(rng) };
    case 8:
    case 9:
      return randService(rng);
    case 10:
      return randConfirm(rng, 'confirm');
    case 11:
      return randConfirm(rng, 'confirm-request');
    case 0:
      return {
        type: 'ping',
        seq: randU32(rng),
        target: nameOf(rng),
        source: nameOf(rng),
        sourceHost: hostOf(rng),
        sourcePort: randPort(rng),
      };
    case 1:
      return {
        type: 'ping-req',
        seq: randU32(rng),
        target: nameOf(rng),
        targetHost: hostOf(rng),
        targetPort: randPort(rng),
        source: nameOf(rng),
        sourceHost: hostOf(rng),
        sourcePort: randPort(rng),
        wantNack: rng.int(2) === 0,
      };
    case 2:
      return { type: 'ack', seq: randU32(rng) };
    case 3:
      return { type: 'nack', seq: randU32(rng) };
    case 4:
      return { type: 'alive', name: nameOf(rng), host: hostOf(rng), port: randPort(rng), incarnation: incOf(rng) };
    case 5:
      return { type: 'suspect', name: nameOf(rng), incarnation: incOf(rng), from: nameOf(rng) };
    case 6:
      return { type: 'dead', name: nameOf(rng), incarnation: incOf(rng), from: nameOf(rng) };
    default:
      return { type: 'leave', name: nameOf(rng), incarnation: incOf(rng) };
  }
}

const STATUSES: readonly MemberState['status'][] = ['alive', 'suspect', 'dead', 'left'];

function randPushPull(rng: Rng): PushPullMsg {
  const members = Array.from({ length: rng.int(6) }, (): MemberState => {
    const m: MemberState = {
      name: nameOf(rng),
      host: hostOf(rng),
      port: randPort(rng),
      incarnation: incOf(rng),
      status: STATUSES[rng.int(4)] as MemberState['status'],
    };
    // Dead and left members carry their age (an appended field), sometimes at its edges.
    if (m.status !== 'dead' && m.status !== 'left') return m;
    return { ...m, ageMs: rng.int(2) === 0 ? rng.int(LIMITS.memberAgeMsMax + 1) : (U32_EDGES[rng.int(U32_EDGES.length)] as number) };
  });
  const services = Array.from({ length: rng.int(3) === 0 ? 0 : 1 + rng.int(5) }, () => randService(rng));
  return { type: 'push-pull', join: rng.int(2) === 0, source: nameOf(rng), members, services };
}

/** Up to `want` random parts, stopping before the compound would exceed the largest datagram. */
function randParts(rng: Rng, want: number): GossipMsg[] {
  const parts: GossipMsg[] = [];
  let bytes = compoundOverhead(want);
  for (let i = 0; i < want; i++) {
    const msg = randGossip(rng);
    const size = encodePart(msg).length;
    if (bytes + size > LIMITS.packetBytesMax) break;
    bytes += size;
    parts.push(msg);
  }
  return parts;
}

function randValid(rng: Rng): Uint8Array {
  const pick = rng.int(10);
  if (pick < 4) return encodePacket(randGossip(rng));
  if (pick < 8) {
    return encodePacket({ type: 'compound', parts: randParts(rng, rng.int(12)) });
  }
  return encodePushPull(randPushPull(rng));
}

// ---------------------------------------------------------------------------------------------
// Mutations

/**
 * Boundary values and msgpack type bytes: fixint, fixmap, fixarray and fixstr edges, nil, 0xc1, bin,
 * floats, wide integers, ext, and wide str, array and map headers.
 */
const INTERESTING = [
  0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xca,
  0xcb, 0xcc, 0xce, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
];

/** Multi-byte headers that claim lengths the input cannot hold, or nesting it should not have. */
const HEADERS: readonly number[][] = [
  [0xdd, 0xff, 0xff, 0xff, 0xff],
  [0xdd, 0x00, 0x01, 0x00, 0x00],
  [0xdc, 0xff, 0xff],
  [0xdf, 0x7f, 0xff, 0xff, 0xff],
  [0xdb, 0xff, 0xff, 0xff, 0xff],
  [0xc6, 0x00, 0xff, 0xff, 0xff],
  [0xc9, 0xff, 0xff, 0xff, 0xff, 0x78],
  [0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f],
  [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
];

function randBytes(rng: Rng, n: number): number[] {
  const one = (): number => (rng.int(2) === 0 ? (INTERESTING[rng.int(INTERESTING.length)] as number) : rng.int(256));
  return Array.from({ length: n }, one);
}

function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  const pos = (): number => rng.int(b.length + 1);
  const body = (): number => 2 + rng.int(Math.max(1, b.length - 2));
  switch (rng.int(10)) {
    case 0: {
      const p = rng.int(Math.max(1, b.length));
      b[p] = ((b[p] ?? 0) ^ (1 << rng.int(8))) & 0xff;
      break;
    }
    case 1:
      b[body()] = INTERESTING[rng.int(INTERESTING.length)] as number;
      break;
    case 2:
      b.length = pos();
      break;
    case 3:
      b.push(...randBytes(rng, 1 + rng.int(rng.int(4) === 0 ? 400 : 8)));
      break;
    case 4:
      b.splice(pos(), 0, ...randBytes(rng, 1 + rng.int(4)));
      break;
    case 5:
      b.splice(rng.int(Math.max(1, b.length)), 1 + rng.int(4));
      break;
    case 6: {
      // Rewrite a length: a fix-size header keeps its family, a wide one gets new length bytes.
      const p = body();
      const v = b[p] ?? 0;
      if (v >= 0x80 && v <= 0x8f) b[p] = 0x80 | rng.int(16);
      else if (v >= 0x90 && v <= 0x9f) b[p] = 0x90 | rng.int(16);
      else if (v >= 0xa0 && v <= 0xbf) b[p] = 0xa0 | rng.int(32);
      else for (let i = 1; i <= 4 && p + i < b.length; i++) b[p + i] = rng.int(256);
      break;
    }
    case 7: {
      const header = HEADERS[rng.int(HEADERS.length)] as number[];
      b.splice(body(), rng.int(2) === 0 ? 0 : header.length, ...header);
      break;
    }
    case 8: {
      // Splice: the head of this input and the tail of another valid one.
      const other = Array.from(randValid(rng));
      b.length = pos();
      b.push(...other.slice(rng.int(other.length + 1)));
      break;
    }
    default: {
      const from = rng.int(Math.max(1, b.length));
      const chunk = b.slice(from, from + 1 + rng.int(16));
      b.splice(pos(), 0, ...chunk);
    }
  }
  return Uint8Array.from(b);
}

// Structured mutation needs a plain msgpack codec to take a valid body apart and put it back.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

const ODD_VALUES: readonly unknown[] = [
  null, true, false, -1, 0, 1.5, -0.5, 2 ** 32, 2 ** 53, -(2 ** 40), 65_536, '', 'x', 'é'.repeat(65),
  'h'.repeat(LIMITS.addressBytesMax + 1), [], [1], [[]], {}, { a: 1 }, new Uint8Array([1]), 3, 9, 10, 255,
  // Catalog fields: health codes, weights, ports, tag and meta shapes at and past their limits.
  2, 11, 12, 14, 65_535, 70_000, LIMITS.serviceWeightMax + 1, 'x'.repeat(LIMITS.serviceTagBytesMax + 1),
  'v'.repeat(LIMITS.serviceMetaValueBytesMax + 1), ['t'], [''], Array(LIMITS.serviceTagsMax + 1).fill('t'),
  [['k', 'v']], [['k']], [['k', 'v', 'w']], [['', 'v']], [['k', 1]], { k: 'v' },
  Array.from({ length: LIMITS.serviceMetaMax + 1 }, (_, i) => [`k${i}`, 'v']),
  // Own "__proto__" / "constructor" keys: decoding them must not reach Object.prototype.
  JSON.parse('{"__proto__": {"polluted": 1}}') as unknown, JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}') as unknown,
  [['__proto__', 'polluted'], ['constructor', 'x']],
];

/**
 * Replaces one value somewhere in a valid body with another well-formed msgpack value, or inflates a
 * non-empty list (tags, meta, members, services, parts) with copies of its first element past the
 * catalog's count limits.
 */
function mutateValue(rng: Rng, input: Uint8Array): Uint8Array {
  const body: unknown = packr.unpack(input.subarray(2));
  const replacement = (): unknown => ODD_VALUES[rng.int(ODD_VALUES.length)];
  let node: unknown = body;
  for (;;) {
    if (!Array.isArray(node) || node.length === 0) break;
    const i = rng.int(node.length + 1);
    if (i === node.length) {
      node.push(replacement()); // an appended field: must be ignored
      break;
    }
    const child: unknown = node[i];
    if (Array.isArray(child) && child.length > 0 && rng.int(4) === 0) {
      // Small items may be copied far past a limit; containers only just past the 32-item caps.
      const n = Array.isArray(child[0]) ? LIMITS.serviceTagsMax + rng.int(2) : [LIMITS.serviceTagsMax + 1, 256][rng.int(2)] as number;
      node[i] = Array(n).fill(child[0]);
      break;
    }
    if (!Array.isArray(child) || rng.int(3) === 0) {
      node[i] = replacement();
      break;
    }
    node = node[i];
  }
  return Uint8Array.from([input[0] ?? 0, input[1] ?? 0, ...packr.pack(body)]);
}

function randomInput(rng: Rng): Uint8Array {
  const pick = rng.int(20);
  if (pick < 2) {
    const bytes = randBytes(rng, rng.int(64));
    // Half the time give random bytes a valid header so the body decoder sees them.
    if (bytes.length >= 2 && rng.int(2) === 0) {
      bytes[0] = PROTOCOL_VERSION;
      bytes[1] = 1 + rng.int(14);
    }
    return Uint8Array.from(bytes);
  }
  let bytes = randValid(rng);
  if (pick < 4) return bytes;
  if (pick < 8) return mutateValue(rng, bytes);
  const rounds = 1 + rng.int(4);
  for (let i = 0; i < rounds; i++) bytes = mutate(rng, bytes);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Checking

type Stats = Map<string, number>;

function count(stats: Stats, key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

// Catalog coverage: which catalog messages decoded, and which catalog fields were refused.
const CATALOG_FIELD = /(?:^|\.)(service|confirm-request|confirm)\.([A-Za-z]+)/;

function countCatalog(stats: Stats, value: PacketMsg | PushPullMsg): void {
  const parts = value.type === 'compound' ? value.parts : value.type === 'push-pull' ? value.services : [value];
  for (const p of parts) {
    if (p.type === 'service' || p.type === 'confirm' || p.type === 'confirm-request' || p.type === 'relay' || p.type === 'have' || p.type === 'want') {
      count(stats, `decoded:${p.type}`);
    }
  }
}

function protoPolluted(): boolean {
  return Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') ||
    ({} as Record<string, unknown>).polluted !== undefined || ({}).constructor !== Object;
}

function check(index: number, bytes: Uint8Array, stats: Stats): void {
  const where = (): string => `SWIMD_FUZZ_SEED=${SEED} input #${index} hex=${Buffer.from(bytes).toString('hex')}`;
  const run = <T>(
    label: string,
    decode: (b: Uint8Array) => ReturnType<typeof decodePacket> | ReturnType<typeof decodePushPull>,
    reencode: (v: T) => Uint8Array,
  ): void => {
    let r;
    try {
      r = decode(bytes);
    } catch (e) {
      assert.fail(`${label} threw ${String(e)} — ${where()}`);
    }
    if (!r.ok) {
      if (!REASONS.has(r.reason) || typeof r.detail !== 'string') {
        assert.fail(`${label} bad error ${JSON.stringify(r)} — ${where()}`);
      }
      // The pre-scan is meant to leave msgpackr nothing to object to; its own errors mean a gap.
      if (r.detail.startsWith('msgpack:')) assert.fail(`${label} fell through to msgpackr: ${r.detail} — ${where()}`);
      count(stats, `${label}:${r.reason}`);
      const field = CATALOG_FIELD.exec(r.detail);
      if (field !== null) {
        count(stats, `refused:${r.reason}:${field[1]}.${field[2]}`);
        if (r.reason === 'too_many') count(stats, `refused:too_many:${field[1]}`);
      }
      if (protoPolluted()) assert.fail(`${label} polluted Object.prototype — ${where()}`);
      return;
    }
    count(stats, `${label}:ok`);
    countCatalog(stats, r.value);
    if (protoPolluted()) assert.fail(`${label} polluted Object.prototype — ${where()}`);
    let again: Uint8Array;
    try {
      again = reencode(r.value as T);
    } catch (e) {
      assert.fail(`${label} decoded ${JSON.stringify(r.value)} but re-encoding threw ${String(e)} — ${where()}`);
    }
    const r2 = decode(again);
    assert.deepStrictEqual(r2, r, `${label} re-encode/decode differs — ${where()}`);
  };
  run<PacketMsg>('packet', decodePacket, encodePacket);
  run<PushPullMsg>('push-pull', decodePushPull, encodePushPull);
}

function collectGarbage(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  return typeof gc === 'function' ? () => void gc() : () => undefined;
}

test(`fuzz decodePacket and decodePushPull with ${COUNT} seeded inputs (seed ${SEED})`, (t) => {
  const gc = collectGarbage();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rng = new Rng(SEED);
  const stats: Stats = new Map();
  const started = Date.now();
  for (let i = 0; i < COUNT; i++) check(i, randomInput(rng), stats);
  const elapsed = Date.now() - started;
  gc();
  const growth = process.memoryUsage().heapUsed - heapBefore;
  t.diagnostic(`${COUNT} inputs in ${elapsed} ms, heap growth ${(growth / 1024 / 1024).toFixed(1)} MiB`);
  t.diagnostic([...stats].sort().map(([k, v]) => `${k}=${v}`).join(' '));
  assert.ok(growth < HEAP_GROWTH_MAX, `heap grew ${growth} bytes over ${COUNT} inputs (seed ${SEED})`);
  // The mutations must reach past the header checks, or the run proves little.
  if (COUNT >= 10_000) {
    const expected = ['ok', 'malformed', 'bad_field', 'bad_version', 'unknown_type'].flatMap((r) => [
      `packet:${r}`,
      `push-pull:${r}`,
    ]);
    // ...and must reach the catalog decoders, both their successes and their field checks. Single
    // fields are rarer targets, so their coverage is held to the default run's size.
    expected.push('decoded:service', 'decoded:confirm', 'decoded:confirm-request', 'decoded:relay', 'decoded:have', 'decoded:want');
    if (COUNT >= 50_000) {
      expected.push('refused:too_many:service');
      for (const f of ['node', 'id', 'rev', 'deleted', 'name', 'address', 'port', 'tags', 'meta', 'version', 'weight', 'health', 'draining']) {
        expected.push(`refused:bad_field:service.${f}`);
      }
      for (const f of ['reqId', 'owner', 'id', 'rev', 'from']) {
        expected.push(`refused:bad_field:confirm.${f}`, `refused:bad_field:confirm-request.${f}`);
      }
    }
    for (const key of expected) {
      assert.ok((stats.get(key) ?? 0) > 0, `no ${key} outcome in ${COUNT} inputs (seed ${SEED})`);
    }
  }
});
