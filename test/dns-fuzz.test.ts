/**
 * Seeded fuzzing of the DNS face: random bytes and mutated valid queries (bit flips, byte
 * overwrites, truncation, extension, insertion, deletion, header-count tampering, compression
 * pointers, splicing, odd names, types, classes and OPT records) go through handleMessage, which
 * decodes with dns-packet and answers from a view. No exception may escape; a reply, when there is
 * one, must decode, be a response to the same id, fit its transport, and every outcome must be one
 * of the known ones.
 *
 *   SWIMD_FUZZ_SEED=N    seed (default 0xd5); a failure prints the seed, input number and hex.
 *   SWIMD_FUZZ_COUNT=N   inputs (default 30,000).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { DNS_REJECT_REASONS, handleMessage, messageConfig, type DnsTransport } from '../daemon/dns/message.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { Rng } from '../protocol/rng.js';
import { fixedView, instance, member } from './helpers/dns-view.js';

const SEED = envInt('SWIMD_FUZZ_SEED', 0xd5);
const COUNT = envInt('SWIMD_FUZZ_COUNT', 30_000);

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return n;
}

const VIEW = fixedView(
  [member('n1', '10.0.0.1'), member('n2', 'fd00::2'), member('dead', '10.0.0.3', 'dead')],
  [
    ...Array.from({ length: 40 }, (_, i) => instance('n1', `w${i}`, { address: `10.0.1.${i}`, port: 8000 + i, tags: i % 2 === 0 ? ['blue'] : [] })),
    instance('n2', 'v6', { address: 'fd00::2', port: 9000 }),
    instance('n2', 'api', { name: 'api', address: 'db.example', port: 5432 }),
    instance('dead', 'x', { name: 'api', address: '10.0.0.3' }),
  ],
);
const CFG = messageConfig('swimd', 0);

const NAMES = [
  'web.service.swimd', 'blue.web.service.swimd', '_web._tcp.service.swimd', '_web._blue.service.swimd', 'api.service.swimd',
  'n1.node.swimd', 'n2.node.swimd', '0a000101.addr.swimd', 'swimd', 'service.swimd', 'nope.service.swimd', 'example.com', '.',
];
const TYPES = ['A', 'AAAA', 'SRV', 'ANY', 'SOA', 'TXT', 'AXFR', 'NS', 'PTR', 'UNKNOWN_999'] as const;
const CLASSES = ['IN', 'ANY', 'CH', 'HS'] as const;

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)]!;
}

function randomName(rng: Rng): string {
  if (rng.int(3) > 0) return pick(rng, NAMES);
  const labels: string[] = [];
  const n = 1 + rng.int(6);
  for (let i = 0; i < n; i++) {
    const len = 1 + rng.int(rng.int(4) === 0 ? 63 : 8);
    let s = '';
    for (let j = 0; j < len; j++) s += String.fromCharCode(0x21 + rng.int(0x5e));
    labels.push(s.replace(/\./g, '-'));
  }
  if (rng.int(2) === 0) labels.push('service', 'swimd');
  return labels.join('.');
}

function validQuery(rng: Rng): Buffer {
  const packet: Packet = {
    type: 'query', id: rng.int(65536), flags: rng.int(2) === 0 ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: randomName(rng), type: pick(rng, TYPES) as 'A', class: pick(rng, CLASSES) }],
  };
  if (rng.int(2) === 0) {
    packet.additionals = [{
      type: 'OPT', name: '.', udpPayloadSize: rng.int(70_000) & 0xffff, extendedRcode: 0, ednsVersion: rng.int(8) === 0 ? 1 : 0,
      flags: 0, flag_do: rng.int(2) === 0, options: [],
    }];
  }
  return dnsPacket.encode(packet);
}

function mutate(rng: Rng, input: Buffer, other: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (rng.int(9)) {
    case 0: {
      for (let k = 1 + rng.int(4); k > 0; k--) {
        const i = rng.int(b.length);
        b[i] = b[i]! ^ (1 << rng.int(8));
      }
      return b;
    }
    case 1: {
      for (let k = 1 + rng.int(4); k > 0; k--) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 2:
      return b.subarray(0, rng.int(b.length));
    case 3:
      return Buffer.concat([b, randomBytes(rng, 1 + rng.int(64))]);
    case 4: {
      const i = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, i), randomBytes(rng, 1 + rng.int(8)), b.subarray(i)]);
    }
    case 5: {
      const i = rng.int(b.length);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + rng.int(8))]);
    }
    case 6: {
      // Section counts: 0, 1, many, all.
      const at = 4 + 2 * rng.int(4);
      b.writeUInt16BE(pick(rng, [0, 1, 2, 3, 255, 65535]), at);
      return b;
    }
    case 7: {
      // A compression pointer anywhere, forwards, backwards or at itself.
      const i = 12 + rng.int(Math.max(1, b.length - 13));
      if (i + 1 < b.length) b.writeUInt16BE(0xc000 | rng.int(b.length + 4), i);
      return b;
    }
    default: {
      const i = rng.int(b.length);
      return Buffer.concat([b.subarray(0, i), other.subarray(rng.int(other.length))]);
    }
  }
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

test(`DNS messages: ${COUNT} random and mutated inputs are answered or dropped, never thrown`, (t) => {
  const rng = new Rng(SEED);
  const outcomes = new Map<string, number>();
  const reasons = new Set<string>(DNS_REJECT_REASONS);
  for (let n = 0; n < COUNT; n++) {
    const kind = rng.int(10);
    const input = kind === 0 ? randomBytes(rng, rng.int(600))
      : kind < 3 ? validQuery(rng)
        : mutate(rng, validQuery(rng), validQuery(rng));
    const transport: DnsTransport = rng.int(3) === 0 ? 'tcp' : 'udp';
    const where = `input ${n} (seed ${SEED}; reproduce with SWIMD_FUZZ_SEED=${SEED}): ${input.toString('hex')}`;
    let h;
    try {
      h = handleMessage(input, transport, VIEW, CFG, n);
    } catch (e) {
      assert.fail(`threw ${String(e)} on ${where}`);
    }
    const label = h.outcome.kind === 'answered' ? `${h.outcome.rcode}${h.outcome.truncated ? '+TC' : ''}` : `rejected:${h.outcome.reason}`;
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    if (h.outcome.kind === 'rejected') assert.ok(reasons.has(h.outcome.reason), where);
    if (h.reply === null) {
      assert.equal(h.outcome.kind, 'rejected', where);
      continue;
    }
    const max = transport === 'tcp' ? DAEMON_LIMITS.dnsTcpMessageBytesMax : DAEMON_LIMITS.dnsUdpPayloadMax;
    assert.ok(h.reply.length <= max, `reply of ${h.reply.length} bytes on ${where}`);
    let decoded;
    try {
      decoded = dnsPacket.decode(h.reply);
    } catch (e) {
      assert.fail(`reply does not decode (${String(e)}) on ${where}`);
    }
    assert.equal(decoded.flag_qr, true, where);
    assert.equal(decoded.id, input.readUInt16BE(0), where);
    const hasOpt = (() => {
      try {
        return (dnsPacket.decode(input).additionals ?? []).some((a) => a.type === 'OPT');
      } catch {
        return false;
      }
    })();
    if (transport === 'udp' && !hasOpt) assert.ok(h.reply.length <= 512, `${h.reply.length} bytes without EDNS on ${where}`);
  }
  t.diagnostic(`outcomes: ${[...outcomes.entries()].sort().map(([k, v]) => `${k}=${v}`).join(' ')}`);
  // The inputs must reach past the header checks into answers, or the run proves little.
  if (COUNT >= 10_000) {
    for (const expected of ['NOERROR', 'NXDOMAIN', 'REFUSED', 'NOERROR+TC', 'rejected:malformed', 'rejected:question_count', 'rejected:bad_class']) {
      assert.ok((outcomes.get(expected) ?? 0) > 0, `no ${expected} outcome in ${COUNT} inputs (seed ${SEED})`);
    }
  }
});
