/**
 * The DNS face of a running agent, asked by the real `dig`: UDP and TCP, EDNS0 sizes, truncation
 * with many instances and dig's retry over TCP, NXDOMAIN vs NODATA, REFUSED for other domains, and
 * a registration or deregistration visible in the very next answer.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Agent } from '../daemon/agent.js';
import { call, startAgent, tempDir, type TestCtx } from './helpers/local-agent.js';
import { dig, rdata } from './helpers/dig.js';
import { waitFor } from './helpers/cluster.js';

async function agentWithDns(t: TestCtx, config: Record<string, unknown> = {}): Promise<{ agent: Agent; port: number }> {
  const agent = await startAgent(t, tempDir(t, 'swimd-dns-'), { config: { dns_addr: '127.0.0.1:0', ...config } });
  const addr = agent.dnsAddress();
  assert.ok(addr !== null);
  return { agent, port: addr.port };
}

async function register(agent: Agent, body: Record<string, unknown>): Promise<void> {
  const r = await call(agent.config.socket, 'PUT', '/v1/services', body);
  assert.equal(r.status, 200, r.text);
}

test('dig over UDP and TCP: A, tagged A, SRV with weights and additional addresses, node names', async (t) => {
  const { agent, port } = await agentWithDns(t);
  await register(agent, { name: 'web', id: 'w1', port: 8080, tags: ['blue'] });
  await register(agent, { name: 'web', id: 'w2', port: 8081, address: '127.0.0.2', weight: 3 });

  const a = await dig(port, ['web.service.swimd', 'A']);
  assert.equal(a.status, 'NOERROR');
  assert.ok(a.flags.includes('aa'), `flags ${a.flags.join(' ')}`);
  assert.ok(!a.flags.includes('ra'));
  assert.deepEqual(rdata(a), ['127.0.0.1', '127.0.0.2']);
  assert.ok((a.sections['ANSWER'] ?? []).every((l) => l.split(' ')[1] === '0'), 'TTL dns_ttl (0)');

  assert.deepEqual(rdata(await dig(port, ['blue.web.service.swimd', 'A'])), ['127.0.0.1']);

  const srv = await dig(port, ['_web._tcp.service.swimd', 'SRV', '+tcp']);
  assert.equal(srv.status, 'NOERROR');
  assert.deepEqual(rdata(srv), ['1 21845 8080 n1.node.swimd.', '1 65535 8081 7f000002.addr.swimd.']);
  assert.deepEqual(rdata(srv, 'ADDITIONAL'), ['127.0.0.1', '127.0.0.2']);
  assert.deepEqual(rdata(await dig(port, ['n1.node.swimd'])), ['127.0.0.1']);
});

test('dig: NXDOMAIN for unknown names, NODATA with SOA for names without that type, REFUSED outside the domain', async (t) => {
  const { agent, port } = await agentWithDns(t, { dns_domain: 'consul', dns_ttl: 5 });
  await register(agent, { name: 'web', port: 8080 });
  await register(agent, { name: 'idle', port: 8090, check: { ttl: '30s' } });

  const nx = await dig(port, ['nope.service.consul']);
  assert.equal(nx.status, 'NXDOMAIN');
  assert.match((nx.sections['AUTHORITY'] ?? [])[0] ?? '', /^consul\. 5 IN SOA ns\.consul\. hostmaster\.consul\. 1 \d+ \d+ \d+ 5$/);

  const nodata = await dig(port, ['web.service.consul', 'AAAA']);
  assert.equal(nodata.status, 'NOERROR');
  assert.equal((nodata.sections['ANSWER'] ?? []).length, 0);
  assert.equal((nodata.sections['AUTHORITY'] ?? []).length, 1);

  // Registered, not yet passing: the name exists, with no routable instance.
  const idle = await dig(port, ['idle.service.consul']);
  assert.equal(idle.status, 'NOERROR');
  assert.equal((idle.sections['ANSWER'] ?? []).length, 0);

  const a = await dig(port, ['web.service.consul']);
  assert.deepEqual(a.sections['ANSWER'], ['web.service.consul. 5 IN A 127.0.0.1']);

  const other = await dig(port, ['web.service.swimd']);
  assert.equal(other.status, 'REFUSED');
  assert.ok(!other.flags.includes('aa'));
});

test('dig: EDNS0 sizes honoured, TC set over UDP when cut, whole answers over TCP', async (t) => {
  const { agent, port } = await agentWithDns(t);
  const n = 120;
  for (let i = 0; i < n; i++) await register(agent, { name: 'many', id: `m${i}`, port: 10000 + i, address: `127.1.${i >> 8}.${i & 255}` });

  const noEdns = await dig(port, ['many.service.swimd', '+noedns', '+ignore']);
  assert.ok(noEdns.flags.includes('tc'), `flags ${noEdns.flags.join(' ')}`);
  assert.equal(noEdns.ednsUdp, null);
  const fitted512 = (noEdns.sections['ANSWER'] ?? []).length;
  assert.ok(fitted512 > 0 && fitted512 < n, `${fitted512} answers`);
  assert.match(noEdns.text, /MSG SIZE {2}rcvd: (\d+)/);
  assert.ok(Number(/MSG SIZE {2}rcvd: (\d+)/.exec(noEdns.text)![1]) <= 512);

  const big = await dig(port, ['many.service.swimd', '+bufsize=4096', '+ignore']);
  assert.equal(big.ednsUdp, 4096);
  assert.ok((big.sections['ANSWER'] ?? []).length > fitted512);

  // dig retries a truncated answer over TCP on its own and gets every record.
  const retried = await dig(port, ['many.service.swimd', '+noedns']);
  assert.ok(!retried.flags.includes('tc'));
  assert.equal((retried.sections['ANSWER'] ?? []).length, n);
  assert.match(retried.text, /\(TCP\)/);

  const srvTcp = await dig(port, ['_many._tcp.service.swimd', 'SRV', '+tcp']);
  assert.equal((srvTcp.sections['ANSWER'] ?? []).length, n);
  assert.equal((srvTcp.sections['ADDITIONAL'] ?? []).length, n);
});

test('dig: a registration, a drain and a deregistration show in the next answer', async (t) => {
  const { agent, port } = await agentWithDns(t);
  assert.equal((await dig(port, ['web.service.swimd'])).status, 'NXDOMAIN');
  await register(agent, { name: 'web', id: 'w1', port: 8080 });
  await register(agent, { name: 'web', id: 'w2', port: 8081, address: '127.0.0.2' });
  assert.deepEqual(rdata(await dig(port, ['web.service.swimd'])), ['127.0.0.1', '127.0.0.2']);
  assert.equal((await call(agent.config.socket, 'POST', '/v1/services/w2/drain')).status, 200);
  assert.deepEqual(rdata(await dig(port, ['web.service.swimd'])), ['127.0.0.1']);
  assert.equal((await call(agent.config.socket, 'DELETE', '/v1/services/w1')).status, 200);
  const drained = await dig(port, ['web.service.swimd']);
  assert.equal(drained.status, 'NOERROR', 'w2 is still registered (draining)');
  assert.equal((drained.sections['ANSWER'] ?? []).length, 0);
  assert.equal((await call(agent.config.socket, 'DELETE', '/v1/services/w2')).status, 200);
  assert.equal((await dig(port, ['web.service.swimd'])).status, 'NXDOMAIN');

  const metrics = (await call(agent.config.socket, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /swimd_dns_answers_total\{transport="udp",rcode="NXDOMAIN"\} 2/);
  assert.match(metrics, /swimd_dns_rejected_total\{reason="malformed"\} 0/);
});

test('hostile input over UDP and TCP is dropped or refused, counted by reason, and the server keeps answering', async (t) => {
  const { agent, port } = await agentWithDns(t);
  await register(agent, { name: 'web', port: 8080 });
  const udp = createSocket('udp4');
  t.after(() => udp.close());
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const replies: Buffer[] = [];
  udp.on('message', (m) => replies.push(m));
  udp.send(Buffer.from([1, 2, 3]), port, '127.0.0.1'); // too short: dropped
  udp.send(Buffer.alloc(2000, 7), port, '127.0.0.1'); // too large: dropped
  udp.send(Buffer.from('abcd0000000100000000000003', 'hex'), port, '127.0.0.1'); // cut name: FORMERR
  await waitFor('the FORMERR answer', () => replies.length >= 1, 5_000);
  assert.equal(replies[0]!.readUInt16BE(2) & 0xf, 1, 'FORMERR');

  // A TCP frame announcing more than the query limit: the connection is closed.
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from([0xff, 0xff, 0, 0])));
    s.on('close', () => resolve(true));
    s.on('error', () => undefined);
  });
  assert.ok(closed);

  assert.deepEqual(rdata(await dig(port, ['web.service.swimd'])), ['127.0.0.1']);
  const metrics = (await call(agent.config.socket, 'GET', '/v1/metrics')).text;
  assert.match(metrics, /swimd_dns_rejected_total\{reason="too_short"\} 1\n/);
  assert.match(metrics, /swimd_dns_rejected_total\{reason="too_large"\} 2\n/);
  assert.match(metrics, /swimd_dns_rejected_total\{reason="malformed"\} 1\n/);
});
