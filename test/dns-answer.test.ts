/**
 * The DNS face's pure parts: query names, answers from a fixed view (NXDOMAIN vs NODATA,
 * routability, tags, SRV weights and targets), and whole messages (FORMERR, NOTIMP, REFUSED,
 * BADVERS, EDNS0 sizes, truncation, TCP), decoded back with dns-packet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, SrvAnswer, StringAnswer } from 'dns-packet';
import { answerQuestion, type DnsView } from '../daemon/dns/answer.js';
import { handleMessage, messageConfig } from '../daemon/dns/message.js';
import { addrTarget, ipv6Hex, parseQueryName } from '../daemon/dns/names.js';
import { parseDnsDomain, parseDnsTtl } from '../daemon/config/config-dns.js';
import { Invalid } from '../daemon/config/config-fields.js';
import { ConfigError, resolveConfig } from '../daemon/config/config.js';
import { fixedView, instance, member } from './helpers/dns-view.js';

const DOMAIN = ['swimd'];
const CFG = messageConfig('swimd', 0);

test('query names: service, tag, RFC 2782, node, addr, apex, branches, unknown and outside', () => {
  assert.deepEqual(parseQueryName('web.service.swimd', DOMAIN), { kind: 'service', service: 'web', tag: null });
  assert.deepEqual(parseQueryName('WEB.Service.SWIMD.', DOMAIN), { kind: 'service', service: 'web', tag: null });
  assert.deepEqual(parseQueryName('blue.web.service.swimd', DOMAIN), { kind: 'service', service: 'web', tag: 'blue' });
  assert.deepEqual(parseQueryName('_web._tcp.service.swimd', DOMAIN), { kind: 'service', service: 'web', tag: null });
  assert.deepEqual(parseQueryName('_web._blue.service.swimd', DOMAIN), { kind: 'service', service: 'web', tag: 'blue' });
  assert.deepEqual(parseQueryName('n1.node.swimd', DOMAIN), { kind: 'node', node: 'n1' });
  assert.deepEqual(parseQueryName('7f000001.addr.swimd', DOMAIN), { kind: 'addr', address: '127.0.0.1', family: 4 });
  assert.deepEqual(parseQueryName('00000000000000000000000000000001.addr.swimd', DOMAIN),
    { kind: 'addr', address: '0000:0000:0000:0000:0000:0000:0000:0001', family: 6 });
  assert.deepEqual(parseQueryName('swimd', DOMAIN), { kind: 'apex' });
  assert.deepEqual(parseQueryName('service.swimd', DOMAIN), { kind: 'branch' });
  assert.deepEqual(parseQueryName('a.b.web.service.swimd', DOMAIN), { kind: 'unknown' });
  assert.deepEqual(parseQueryName('x.swimd', DOMAIN), { kind: 'unknown' });
  assert.deepEqual(parseQueryName('zz.addr.swimd', DOMAIN), { kind: 'unknown' });
  assert.deepEqual(parseQueryName('web.service.consul', DOMAIN), { kind: 'outside' });
  assert.deepEqual(parseQueryName('.', DOMAIN), { kind: 'outside' });
  assert.deepEqual(parseQueryName('web.service.dc1.example', ['dc1', 'example']), { kind: 'service', service: 'web', tag: null });
  assert.deepEqual(parseQueryName('swimd.other', DOMAIN), { kind: 'outside' });
});

test('addr targets: Consul hex for IPv4 and IPv6, none for a host name', () => {
  assert.equal(addrTarget('10.1.2.255', 'swimd'), '0a0102ff.addr.swimd');
  assert.equal(addrTarget('::1', 'swimd'), '00000000000000000000000000000001.addr.swimd');
  assert.equal(ipv6Hex('fe80::1:2'), 'fe800000000000000000000000010002');
  assert.equal(ipv6Hex('::ffff:10.0.0.1'), '00000000000000000000ffff0a000001');
  assert.equal(addrTarget('db.example', 'swimd'), null);
});

function ask(name: string, type: string, view: DnsView) {
  return answerQuestion({ name, type }, parseQueryName(name, DOMAIN), view, { domain: 'swimd', ttl: 7 });
}

const view = fixedView(
  [member('n1', '10.0.0.1'), member('n2', '10.0.0.2'), member('gone', '10.0.0.9', 'dead')],
  [
    instance('n1', 'w1', { tags: ['Blue'] }),
    instance('n2', 'w2', { address: '10.0.0.22', port: 8081, weight: 3 }),
    instance('n2', 'w3', { health: 'critical' }),
    instance('n2', 'w4', { draining: true, address: '10.0.0.44' }),
    instance('gone', 'w5', { address: '10.0.0.55' }),
    instance('n1', 'w6', { address: 'fd00::6', port: 9000 }),
    instance('n1', 'h1', { name: 'hosted', address: 'db.example', port: 5432 }),
    instance('n1', 'd1', { name: 'down', health: 'critical' }),
  ],
);

function data(r: { answers: readonly Answer[] }): string[] {
  return r.answers.map((a) => (a.type === 'SRV' ? `${a.data.weight} ${a.data.port} ${a.data.target}` : `${a.type} ${String((a as StringAnswer).data)}`)).sort();
}

test('A and AAAA hold routable instances only: not critical, draining, or owned by a dead member', () => {
  const a = ask('web.service.swimd', 'A', view);
  assert.equal(a.rcode, 'NOERROR');
  assert.deepEqual(data(a), ['A 10.0.0.1', 'A 10.0.0.22']);
  assert.ok(a.answers.every((r) => r.name === 'web.service.swimd' && 'ttl' in r && r.ttl === 7));
  assert.deepEqual(data(ask('web.service.swimd', 'AAAA', view)), ['AAAA fd00::6']);
  assert.deepEqual(data(ask('blue.web.service.swimd', 'A', view)), ['A 10.0.0.1'], 'tags match ignoring case');
});

test('SRV: effective weights scaled to 65535, node target when the instance uses its node address, addr target otherwise, addresses additional', () => {
  const r = ask('_web._tcp.service.swimd', 'SRV', view);
  assert.deepEqual(data(r), [
    '21845 8080 n1.node.swimd',
    '21845 9000 fd000000000000000000000000000006.addr.swimd',
    '65535 8081 0a000016.addr.swimd',
  ]);
  assert.ok(r.answers.every((a) => (a as SrvAnswer).data.priority === 1));
  const extra = r.additionals.flat().map((a) => `${a.name} ${a.type} ${String((a as StringAnswer).data)}`).sort();
  assert.deepEqual(extra, [
    '0a000016.addr.swimd A 10.0.0.22',
    'fd000000000000000000000000000006.addr.swimd AAAA fd00::6',
    'n1.node.swimd A 10.0.0.1',
  ]);
  // A host-name address is its own SRV target and has no A record here.
  const h = ask('hosted.service.swimd', 'SRV', view);
  assert.deepEqual(data(h), ['65535 5432 db.example']);
  assert.equal(h.additionals.length, 0);
  assert.equal(ask('hosted.service.swimd', 'A', view).answers.length, 0);
});

test('NXDOMAIN for names that do not exist, NODATA (NOERROR, SOA) for names with no records of the type', () => {
  for (const name of ['nope.service.swimd', 'red.web.service.swimd', 'nobody.node.swimd', 'x.swimd']) {
    const r = ask(name, 'A', view);
    assert.equal(r.rcode, 'NXDOMAIN', name);
    assert.equal(r.authorities[0]?.type, 'SOA', name);
  }
  for (const [name, type] of [
    ['down.service.swimd', 'A'], // known service, no routable instance
    ['web.service.swimd', 'TXT'],
    ['gone.node.swimd', 'A'], // a dead member is still known
    ['n1.node.swimd', 'AAAA'],
    ['service.swimd', 'A'],
    ['swimd', 'A'],
    ['7f000001.addr.swimd', 'AAAA'],
  ] as const) {
    const r = ask(name, type, view);
    assert.equal(r.rcode, 'NOERROR', `${name} ${type}`);
    assert.equal(r.answers.length, 0, `${name} ${type}`);
    assert.equal(r.authorities[0]?.type, 'SOA', `${name} ${type}`);
    assert.equal(r.authoritative, true);
  }
  const outside = ask('example.com', 'A', view);
  assert.equal(outside.rcode, 'REFUSED');
  assert.equal(outside.authoritative, false);
});

test('ANY gives every record type a name has; apex SOA; node and addr names', () => {
  const any = ask('web.service.swimd', 'ANY', view);
  assert.deepEqual([...new Set(any.answers.map((a) => a.type))].sort(), ['A', 'AAAA', 'SRV']);
  assert.deepEqual(data(ask('swimd', 'SOA', view)).length, 1);
  assert.deepEqual(data(ask('n2.node.swimd', 'A', view)), ['A 10.0.0.2']);
  assert.deepEqual(data(ask('N2.NODE.swimd', 'ANY', view)), ['A 10.0.0.2']);
  assert.deepEqual(data(ask('0a000016.addr.swimd', 'A', view)), ['A 10.0.0.22']);
});

test('a change in the view is the next answer: no cache between them', () => {
  const list = [instance('n1', 'w1')];
  const live = fixedView([member('n1', '10.0.0.1')], list);
  assert.deepEqual(data(ask('web.service.swimd', 'A', live)), ['A 10.0.0.1']);
  list.push(instance('n1', 'w2', { address: '10.0.0.7' }));
  assert.deepEqual(data(ask('web.service.swimd', 'A', live)), ['A 10.0.0.1', 'A 10.0.0.7']);
});

// ---- Whole messages ------------------------------------------------------------------------

function query(name: string, type: string, opts: { id?: number; edns?: number; ednsVersion?: number; flags?: number } = {}): Buffer {
  const packet: Packet = {
    type: 'query', id: opts.id ?? 4242, flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A' }],
  };
  if (opts.edns !== undefined) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: opts.ednsVersion ?? 0, flags: 0, flag_do: false, options: [] }];
  }
  return dnsPacket.encode(packet);
}

interface Decoded extends DecodedPacket {
  rcode: string;
  opcode: string;
}

function reply(bytes: Buffer, transport: 'udp' | 'tcp' = 'udp', v: DnsView = view): { packet: Decoded; size: number } {
  const h = handleMessage(bytes, transport, v, CFG);
  assert.ok(h.reply !== null, `expected a reply, got ${JSON.stringify(h.outcome)}`);
  return { packet: dnsPacket.decode(h.reply) as Decoded, size: h.reply.length };
}

test('a query is answered authoritatively with its id, question and RD echoed; OPT answered with OPT', () => {
  const { packet } = reply(query('Web.Service.swimd', 'A', { id: 777, edns: 1232 }));
  assert.equal(packet.id, 777);
  assert.equal(packet.flag_qr, true);
  assert.equal(packet.flag_aa, true);
  assert.equal(packet.flag_rd, true);
  assert.equal(packet.flag_ra, false);
  assert.equal(packet.rcode, 'NOERROR');
  assert.equal(packet.questions?.[0]?.name, 'Web.Service.swimd', 'the question as asked (0x20 case kept)');
  const opt = packet.additionals?.find((a) => a.type === 'OPT');
  assert.ok(opt !== undefined && opt.type === 'OPT' && opt.udpPayloadSize === 4096);
  const plain = reply(query('web.service.swimd', 'A')).packet;
  assert.equal(plain.additionals?.length, 0, 'no OPT to a query without one');
});

test('bad messages: dropped when short, oversized or a response; FORMERR, NOTIMP, REFUSED, BADVERS otherwise', () => {
  const good = query('web.service.swimd', 'A');
  assert.deepEqual(handleMessage(good.subarray(0, 11), 'udp', view, CFG), { reply: null, outcome: { kind: 'rejected', reason: 'too_short', answered: false } });
  assert.equal(handleMessage(Buffer.alloc(5000), 'udp', view, CFG).outcome.kind, 'rejected');
  const asResponse = Buffer.from(good);
  asResponse.writeUInt16BE(asResponse.readUInt16BE(2) | 0x8000, 2);
  assert.equal(handleMessage(asResponse, 'udp', view, CFG).reply, null);

  const cut = handleMessage(good.subarray(0, good.length - 3), 'udp', view, CFG);
  assert.deepEqual(cut.outcome, { kind: 'rejected', reason: 'malformed', answered: true });
  assert.equal((dnsPacket.decode(cut.reply!) as Decoded).rcode, 'FORMERR');

  const two = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'a.swimd', type: 'A' }, { name: 'b.swimd', type: 'A' }] });
  assert.equal((dnsPacket.decode(handleMessage(two, 'udp', view, CFG).reply!) as Decoded).rcode, 'FORMERR');

  const notify = Buffer.from(good);
  notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (4 << 11), 2);
  const n = dnsPacket.decode(handleMessage(notify, 'udp', view, CFG).reply!) as Decoded;
  assert.equal(n.rcode, 'NOTIMP');
  assert.equal(n.opcode, 'NOTIFY');

  assert.equal(reply(query('example.com', 'A')).packet.rcode, 'REFUSED');
  assert.equal(reply(query('swimd', 'AXFR')).packet.rcode, 'REFUSED');
  const chaos = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] });
  assert.equal((dnsPacket.decode(handleMessage(chaos, 'udp', view, CFG).reply!) as Decoded).rcode, 'REFUSED');

  const v1 = reply(query('web.service.swimd', 'A', { edns: 1232, ednsVersion: 1 })).packet;
  const opt = v1.additionals?.find((a) => a.type === 'OPT');
  assert.ok(opt !== undefined && opt.type === 'OPT' && opt.extendedRcode === 1, 'BADVERS is extended rcode 16');
  assert.equal(v1.answers?.length, 0);

  const weird = Buffer.from(query('web.service.swimd', 'A'));
  weird[13] = 0xff; // a byte outside printable ASCII inside the first label
  assert.equal(handleMessage(weird, 'udp', view, CFG).outcome.kind, 'rejected');
});

function manyInstances(n: number): DnsView {
  const members = [member('n1', '10.0.0.1')];
  const list = Array.from({ length: n }, (_, i) => instance('n1', `w${i}`, { address: `10.1.${i >> 8}.${i & 255}`, port: 20000 + i }));
  return fixedView(members, list);
}

test('UDP answers fit 512 bytes without EDNS and the EDNS size with it, with TC when answers are cut; TCP is whole', () => {
  const big = manyInstances(200);
  const plain = reply(query('web.service.swimd', 'A'), 'udp', big);
  assert.ok(plain.size <= 512, `size ${plain.size}`);
  assert.equal(plain.packet.flag_tc, true);
  assert.ok((plain.packet.answers?.length ?? 0) > 0, 'as many answers as fit are sent');

  const edns = reply(query('web.service.swimd', 'A', { edns: 4096 }), 'udp', big);
  assert.ok(edns.size <= 4096 && edns.size > 2048, `size ${edns.size}`);
  assert.equal(edns.packet.flag_tc, true);
  assert.ok((edns.packet.answers?.length ?? 0) > (plain.packet.answers?.length ?? 0));

  const huge = reply(query('web.service.swimd', 'A', { edns: 65000 }), 'udp', big);
  assert.ok(huge.size <= 4096, 'the agent caps the EDNS size at its own maximum');

  const small = reply(query('web.service.swimd', 'A', { edns: 100 }), 'udp', manyInstances(3));
  assert.equal(small.packet.flag_tc, false, 'an EDNS size below 512 counts as 512');

  const tcp = reply(query('web.service.swimd', 'A'), 'tcp', big);
  assert.equal(tcp.packet.flag_tc, false);
  assert.equal(tcp.packet.answers?.length, 200);

  // Answers that fit but additionals that do not: additionals are dropped a name at a time, no TC.
  const srv = reply(query('web.service.swimd', 'SRV'), 'udp', manyInstances(8));
  assert.ok(srv.size <= 512);
  assert.equal(srv.packet.flag_tc, false);
  assert.equal(srv.packet.answers?.length, 8);
  assert.ok((srv.packet.additionals?.length ?? 0) < 8);
  const srvTcp = reply(query('web.service.swimd', 'SRV'), 'tcp', manyInstances(8));
  assert.equal(srvTcp.packet.additionals?.length, 8);
});

test('answers rotate so that a client taking the first address spreads over the instances', () => {
  const v = manyInstances(3);
  const firsts = new Set<string>();
  for (let turn = 0; turn < 3; turn++) {
    const h = handleMessage(query('web.service.swimd', 'A'), 'udp', v, CFG, turn);
    const first = (dnsPacket.decode(h.reply!).answers?.[0] as StringAnswer).data;
    firsts.add(first);
  }
  assert.equal(firsts.size, 3);
});

test('config: dns_domain and dns_ttl are validated with the reason', () => {
  assert.equal(parseDnsDomain('Consul.'), 'consul');
  assert.equal(parseDnsDomain('dc1.example'), 'dc1.example');
  for (const bad of ['', '.', 'a..b', 'bad domain', 'x'.repeat(64), 5]) assert.throws(() => parseDnsDomain(bad), Invalid, String(bad));
  assert.equal(parseDnsTtl('30', 'flag'), 30);
  assert.equal(parseDnsTtl(0, 'file'), 0);
  for (const bad of ['30', -1, 1.5, 86_401]) assert.throws(() => parseDnsTtl(bad, 'file'), Invalid, String(bad));
  assert.throws(() => parseDnsTtl('3s', 'flag'), Invalid);
});

test('config: dns_addr off by default; file and flags resolved; a bad value names the file, the field and the reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-dnscfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = { name: 'n1', socket: join(dir, 's.sock'), dataDir: join(dir, 'd') };
  const plain = resolveConfig(base);
  assert.equal(plain.dnsAddr, null);
  assert.equal(plain.dnsDomain, 'swimd');
  assert.equal(plain.dnsTtl, 0);

  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ dns_addr: '127.0.0.1:8600', dns_domain: 'Consul', dns_ttl: 5 }));
  const fromFile = resolveConfig({ ...base, config: file });
  assert.deepEqual(fromFile.dnsAddr, { host: '127.0.0.1', port: 8600 });
  assert.equal(fromFile.dnsDomain, 'consul');
  assert.equal(fromFile.dnsTtl, 5);
  const fromFlags = resolveConfig({ ...base, config: file, dnsAddr: '[::1]:53', dnsDomain: 'sd.example', dnsTtl: '0' });
  assert.deepEqual(fromFlags.dnsAddr, { host: '::1', port: 53 });
  assert.equal(fromFlags.dnsDomain, 'sd.example');
  assert.equal(fromFlags.dnsTtl, 0);

  for (const [field, value, reason] of [
    ['dns_addr', 'localhost:8600', /expected an IP address/],
    ['dns_domain', 'no spaces', /expected labels/],
    ['dns_ttl', '5', /expected whole seconds/],
  ] as const) {
    writeFileSync(file, JSON.stringify({ [field]: value }));
    assert.throws(() => resolveConfig({ ...base, config: file }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.message.startsWith(`config ${file}: field "${field}": `), e.message);
      assert.match(e.message, reason);
      return true;
    });
  }
  assert.throws(() => resolveConfig({ ...base, dnsTtl: 'soon' }), /flag --dns-ttl: expected whole seconds/);
});

test('SRV weights follow the service split when the view has one (90/10 keeps its proportion)', () => {
  const base = fixedView([member('n1', '10.0.0.1')], [
    instance('n1', 'a', { version: 'v1', port: 1001 }),
    instance('n1', 'b', { version: 'v2', port: 1002 }),
  ]);
  const split: DnsView = { ...base, split: (s) => (s === 'web' ? { v1: 90, v2: 10 } : undefined) };
  assert.deepEqual(data(ask('web.service.swimd', 'SRV', base)), ['65535 1001 n1.node.swimd', '65535 1002 n1.node.swimd']);
  assert.deepEqual(data(ask('web.service.swimd', 'SRV', split)), ['65535 1001 n1.node.swimd', '7282 1002 n1.node.swimd']);
});
