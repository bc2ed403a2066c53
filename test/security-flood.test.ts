/**
 * Hostile input against real agents on loopback: a 30-second flood of junk datagrams, forged and
 * replayed membership messages, slow and endless push-pull streams, and an oversized push-pull
 * state. The agents must keep answering, keep their members alive (or have the owner's view win),
 * and account for what they refused.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import type { Member } from '../client/index.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { Metrics } from '../daemon/metrics.js';
import { SecureChannel } from '../daemon/security/channel.js';
import { frame } from '../daemon/net/stream-transport.js';
import { silentLogger } from '../daemon/log.js';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import { memberFields } from '../protocol/codec-fields.js';
import { LIMITS } from '../protocol/limits.js';
import { isNewer } from '../protocol/serial.js';
import { MessageType, PROTOCOL_VERSION, type PacketMsg } from '../protocol/messages.js';
import { PORT_SEED, sleep, waitFor, within, withCluster, type Agent, type Cluster } from './helpers/cluster.js';
import { MemberMonitor, rejected, sample, total } from './helpers/security.js';
import { mulberry32 } from './helpers/rng.js';

const FLOOD_MS = 30_000;
/** Datagrams per batch and pause between batches: about 5,000 a second at most. */
const BATCH = 50;
const BATCH_PAUSE_MS = 10;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

function agentAt(c: Cluster, i: number): Agent {
  const a = c.agents[i];
  assert.ok(a !== undefined);
  return a;
}

async function memberOf(observer: Agent, name: string): Promise<Member | undefined> {
  return (await observer.client.members()).find((m) => m.name === name);
}

/** Kernel drops of the UDP socket bound to 127.0.0.1:port (last column of /proc/net/udp). */
function kernelDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    const line = readFileSync('/proc/net/udp', 'utf8').split('\n').find((l) => l.trim().split(/\s+/)[1]?.endsWith(hex));
    return line === undefined ? 0 : Number(line.trim().split(/\s+/).at(-1));
  } catch {
    return 0;
  }
}

type JunkKind = 'random' | 'truncated' | 'random_body' | 'forged_envelope' | 'other_cluster' | 'bad_label' | 'oversized' | 'bad_fields';
const KINDS: readonly JunkKind[] = ['random', 'truncated', 'random_body', 'forged_envelope', 'other_cluster', 'bad_label', 'oversized', 'bad_fields'];

/**
 * A pool of junk datagrams, every one of which an agent of the default cluster without encryption
 * must refuse: whatever the channel and the decoder would accept is left out of the pool.
 */
function junkPool(size: number, seed: number): { bytes: Buffer; kind: JunkKind }[] {
  const rnd = mulberry32(seed);
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const int = (n: number): number => Math.floor(rnd() * n);
  const valid: PacketMsg[] = [
    { type: 'ping', seq: 1, target: 'n0', source: 'n9', sourceHost: '127.0.0.1', sourcePort: 9 },
    { type: 'alive', name: 'ghost', host: '127.0.0.1', port: 9, incarnation: 5 },
    { type: 'compound', parts: [{ type: 'ack', seq: 4 }, { type: 'suspect', name: 'n1', incarnation: 1, from: 'n9' }] },
  ];
  const encoded = valid.map((m) => Buffer.from(encodePacket(m)));
  const make = (kind: JunkKind): Buffer => {
    switch (kind) {
      case 'random': return bytes(1 + int(1400));
      case 'truncated': {
        const p = encoded[int(encoded.length)] as Buffer;
        return p.subarray(0, 1 + int(p.length - 1));
      }
      case 'random_body': return Buffer.concat([Buffer.from([PROTOCOL_VERSION, 1 + int(14)]), bytes(int(600))]);
      case 'forged_envelope': return Buffer.concat([Buffer.from([PROTOCOL_VERSION, MessageType.Encrypted]), bytes(30 + int(300))]);
      case 'other_cluster': return Buffer.concat([Buffer.from([PROTOCOL_VERSION, MessageType.Labelled, 5]), Buffer.from('other'), encoded[0] as Buffer]);
      case 'bad_label': return Buffer.concat([Buffer.from([PROTOCOL_VERSION, MessageType.Labelled, 65 + int(190)]), bytes(int(100))]);
      case 'oversized': return bytes(1500 + int(2000));
      case 'bad_fields': {
        // Well-formed msgpack with values out of range: port 70000, negative incarnation, huge seq.
        const bodies: [number, unknown[]][] = [
          [MessageType.Alive, ['ghost', '127.0.0.1', 70_000, 1]],
          [MessageType.Alive, ['ghost', '127.0.0.1', 9, -1]],
          [MessageType.Ping, [2 ** 40, 'n0', 'x', '127.0.0.1', 9]],
          [MessageType.Dead, ['', 1, 'x']],
        ];
        const [code, body] = bodies[int(bodies.length)] as [number, unknown[]];
        return Buffer.concat([Buffer.from([PROTOCOL_VERSION, code]), packr.pack(body)]);
      }
    }
  };
  const check = new SecureChannel({
    cluster: 'default', keyring: null, verifyIncoming: true, verifyOutgoing: true,
    metrics: new Metrics(), log: silentLogger(), clock: () => 0,
  });
  const pool: { bytes: Buffer; kind: JunkKind }[] = [];
  while (pool.length < size) {
    const kind = KINDS[pool.length % KINDS.length] as JunkKind;
    const b = make(kind);
    const opened = check.unwrap(b);
    if (b.length <= LIMITS.packetBytesDefault && opened.ok && decodePacket(opened.bytes).ok) continue;
    pool.push({ bytes: b, kind });
  }
  return pool;
}

function udpSocket(): Promise<UdpSocket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function sendTo(s: UdpSocket, port: number, bytes: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => s.send(bytes, port, '127.0.0.1', (err) => resolve(err === null)));
}

async function sendMsg(s: UdpSocket, to: Agent, msg: PacketMsg, times = 1): Promise<void> {
  const bytes = encodePacket(msg);
  for (let i = 0; i < times; i++) await sendTo(s, to.port, bytes);
}

test('junk flood: 30 s of junk datagrams; the API answers, members stay alive, every refusal is counted', { timeout: 120_000 }, async (t) => {
  const pool = junkPool(4096, PORT_SEED);
  await withCluster(t, 3, { profile: 'lan', extraArgs: ['--log-level', 'info'] }, async (c) => {
    const target = agentAt(c, 0);
    await waitFor('3 alive everywhere', async () => {
      const views = await Promise.all(c.agents.map((a) => a.client.members()));
      return views.every((v) => v.filter((m) => m.status === 'alive').length === 3);
    });
    const sock = await udpSocket();
    t.after(() => sock.close());
    const before = await rejected(target.client);
    const suspBefore = await Promise.all(c.agents.map(async (a) => sample(await a.client.metrics(), 'swimd_suspicions_raised_total')));
    const dropsBefore = kernelDrops(target.port);
    const monitor = new MemberMonitor(c.agents.map((a) => ({ name: a.name, client: a.client })), 3, 250);
    const info = { polls: 0, failures: 0, maxMs: 0 };
    let flooding = true;
    const infoLoop = (async () => {
      while (flooding) {
        const started = Date.now();
        try {
          await target.client.info();
          info.maxMs = Math.max(info.maxMs, Date.now() - started);
        } catch {
          info.failures++;
        }
        info.polls++;
        await sleep(200);
      }
    })();
    const sentByKind = new Map<JunkKind, number>();
    let sent = 0;
    let sendErrors = 0;
    let next = 0;
    const started = Date.now();
    try {
      // Bounded: stops by itself after FLOOD_MS however fast the sends go.
      while (Date.now() - started < FLOOD_MS) {
        const batch = Array.from({ length: BATCH }, () => pool[next++ % pool.length] as { bytes: Buffer; kind: JunkKind });
        const results = await Promise.all(batch.map((j) => sendTo(sock, target.port, j.bytes)));
        results.forEach((ok, i) => {
          if (!ok) return void sendErrors++;
          sent++;
          const kind = (batch[i] as { kind: JunkKind }).kind;
          sentByKind.set(kind, (sentByKind.get(kind) ?? 0) + 1);
        });
        await sleep(BATCH_PAUSE_MS);
      }
    } finally {
      flooding = false;
      await infoLoop;
      await monitor.stop();
    }
    const elapsed = Date.now() - started;
    await sleep(1_000);
    const after = await rejected(target.client);
    const drops = kernelDrops(target.port) - dropsBefore;
    const delta = new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as [string, number]).filter(([, v]) => v > 0));
    const refused = total(delta);
    t.diagnostic(`flood: sent ${sent} junk datagrams in ${elapsed} ms (${Math.round(sent / (elapsed / 1000))}/s, ${sendErrors} send errors); ` +
      `by kind ${JSON.stringify(Object.fromEntries(sentByKind))}`);
    t.diagnostic(`agent refused ${refused} (${JSON.stringify(Object.fromEntries(delta))}), kernel dropped ${drops}; ` +
      `/v1/info: ${info.polls} polls, ${info.failures} failures, slowest ${info.maxMs} ms; member polls ${monitor.polls}, problems ${monitor.problems.length}`);
    assert.ok(sent >= 30_000, `at least 1,000 a second were sent (${sent})`);
    assert.equal(info.failures, 0, '/v1/info answered throughout');
    assert.ok(info.polls >= 50, `/v1/info polled ${info.polls} times`);
    assert.ok(info.maxMs < 2_000, `/v1/info answered within 2 s (slowest ${info.maxMs} ms)`);
    assert.deepEqual(monitor.problems, [], 'every agent saw all 3 alive at every poll');
    // Every datagram that reached the socket was refused and counted; the rest the kernel dropped.
    assert.ok(refused <= sent, `no more refusals (${refused}) than junk sent (${sent})`);
    assert.ok(refused + drops >= Math.floor(sent * 0.99), `refused ${refused} + dropped ${drops} account for the ${sent} sent`);
    for (const reason of ['too_large', 'cluster_mismatch', 'bad_label', 'encrypted_no_key', 'bad_version', 'malformed', 'bad_field']) {
      assert.ok((delta.get(reason) ?? 0) > 0, `refusals counted as ${reason}`);
    }
    const lines = readFileSync(target.logFile, 'utf8').split('\n').filter((l) => l.includes('dropping'));
    assert.ok(lines.length <= 2, `a handful of log lines, not one per packet (${lines.length})`);
    const suspAfter = await Promise.all(c.agents.map(async (a) => sample(await a.client.metrics(), 'swimd_suspicions_raised_total')));
    t.diagnostic(`suspicions raised during the flood: ${suspAfter.map((v, i) => v - (suspBefore[i] ?? 0)).join(',')}`);
  });
});

test('protocol abuse on a cluster without encryption: forged, replayed and inflated membership messages; slow, endless and oversized streams', { timeout: 180_000 }, async (t) => {
  await withCluster(t, 3, { profile: 'local' }, async (c) => {
    const [n0, n1, n2] = [agentAt(c, 0), agentAt(c, 1), agentAt(c, 2)];
    const everyone = [n0, n1, n2];
    await waitFor('3 alive everywhere', async () => {
      const views = await Promise.all(everyone.map((a) => a.client.members()));
      return views.every((v) => v.filter((m) => m.status === 'alive').length === 3);
    });
    const sock = await udpSocket();
    t.after(() => sock.close());
    /** Waits until every agent sees n1 alive at its real port with an incarnation above `above`. */
    const ownerWins = async (what: string, above: number, timeoutMs = 30_000): Promise<number> => {
      const started = Date.now();
      await waitFor(what, async () => {
        const views = await Promise.all(everyone.map((o) => memberOf(o, n1.name)));
        return views.every((m) => m !== undefined && m.status === 'alive' && m.port === n1.port && m.incarnation > above);
      }, timeoutMs);
      return Date.now() - started;
    };
    const inc = async (): Promise<number> => (await memberOf(n1, n1.name))?.incarnation ?? 0;

    await t.test('a forged suspect about n1, sent to n0, is refuted by n1 before anyone declares it dead', async () => {
      const i = await inc();
      const monitor = new MemberMonitor([{ name: n2.name, client: n2.client }], 3, 20);
      await sendMsg(sock, n0, { type: 'suspect', name: n1.name, incarnation: i, from: 'mallory' });
      const ms = await ownerWins('n1 refutes the forged suspicion', i);
      await monitor.stop();
      assert.ok(!monitor.problems.some((p) => p.problem.includes('=dead')), 'nobody declared n1 dead');
      t.diagnostic(`forged suspect (1 datagram): refuted, everyone sees n1 alive at incarnation > ${i} after ${ms} ms`);
    });

    await t.test('a forged dead about n1, sent to n0, is refuted by n1', async () => {
      const i = await inc();
      await sendMsg(sock, n0, { type: 'dead', name: n1.name, incarnation: i, from: 'mallory' });
      const ms = await ownerWins('n1 refutes the forged death', i);
      t.diagnostic(`forged dead (1 datagram): refuted, everyone sees n1 alive at incarnation > ${i} after ${ms} ms`);
    });

    await t.test('replayed old alive messages (older or equal incarnation, another port) change nothing', async () => {
      const views = async (): Promise<string> => JSON.stringify(await Promise.all(everyone.map(async (o) =>
        (await o.client.members()).map((m) => `${m.name}@${m.port}#${m.incarnation}:${m.status}`).sort())));
      const i = await inc();
      assert.ok(i > 1);
      const before = await views();
      for (const incarnation of [1, i - 1, i]) {
        for (const to of [n0, n2]) await sendMsg(sock, to, { type: 'alive', name: n1.name, host: '127.0.0.1', port: 9, incarnation }, 100);
      }
      await sleep(1_000);
      assert.equal(await views(), before);
      t.diagnostic('replayed alive (600 datagrams at incarnations 1, current-1, current): no member changed');
    });

    await t.test('alive for n1 with a higher incarnation from someone else: at its address accepted (SWIM) and outbid by n1; at another address refused', async () => {
      // Same address: only the number is inflated; n1 hears it by gossip and outbids it.
      const i = await inc();
      await sendMsg(sock, n0, { type: 'alive', name: n1.name, host: '127.0.0.1', port: n1.port, incarnation: i + 1000 });
      const ms = await ownerWins('n1 outbids the inflated incarnation', i + 1000);
      t.diagnostic(`inflated incarnation ${i} -> ${i + 1000} (1 datagram): n1 refuted to > ${i + 1000} after ${ms} ms`);
      // Another address: refused outright while n1 is alive (one name, one live address), and counted.
      const j = await inc();
      const conflicts = async (): Promise<number> => sample(await n0.client.metrics(), 'swimd_name_conflicts_total', '{about="member"}');
      const before = await conflicts();
      await sendMsg(sock, n0, { type: 'alive', name: n1.name, host: '127.0.0.1', port: 9, incarnation: j + 1000 });
      await waitFor('n0 counts the refused claim', async () => (await conflicts()) > before, 10_000);
      const seen = await Promise.all(everyone.map((o) => memberOf(o, n1.name)));
      assert.ok(seen.every((m) => m !== undefined && m.status === 'alive' && m.port === n1.port && m.incarnation < j + 1000),
        `nobody took the claim: ${JSON.stringify(seen)}`);
      t.diagnostic(`hijack to port 9 at incarnation ${j + 1000} (1 datagram): refused and counted, n1 stays at its port`);
    });

    await t.test('incarnations at the top of the range and far ahead: n1 stays alive everywhere, the implausible one is counted, and n1 still starts after a restart', async () => {
      /** Every agent sees n1 alive at its real port and at n1's own incarnation. */
      const settledOn = async (what: string): Promise<number> => {
        let own = 0;
        await waitFor(what, async () => {
          own = await inc();
          const views = await Promise.all(everyone.map((o) => memberOf(o, n1.name)));
          return views.every((m) => m !== undefined && m.status === 'alive' && m.port === n1.port && m.incarnation === own);
        }, 30_000);
        return own;
      };
      const i = await inc();
      const monitor = new MemberMonitor(everyone.filter((a) => a !== n1).map((a) => ({ name: a.name, client: a.client })), 3, 20);
      // One datagram: a suspect at 0xffffffff, straight to n1. Its refutation used to be 2^32, which
      // no longer encodes: n1 could not send again and was dead everywhere for good.
      await sendMsg(sock, n1, { type: 'suspect', name: n1.name, incarnation: LIMITS.incarnationMax, from: 'mallory' });
      await sleep(1_000);
      const afterTop = await settledOn('n1 alive everywhere after the suspect at 0xffffffff');
      // A suspect far ahead of what n0 holds: refused and counted.
      const before = await rejected(n0.client);
      const far = (afterTop + 2 ** 31 - 1) % 2 ** 32;
      await sendMsg(sock, n0, { type: 'suspect', name: n1.name, incarnation: far, from: 'mallory' });
      await waitFor('the implausible accusation is counted', async () =>
        ((await rejected(n0.client)).get('implausible_incarnation') ?? 0) > (before.get('implausible_incarnation') ?? 0), 10_000);
      // The same value straight to n1: it outbids it (across the top of the range if need be) and
      // everyone takes its answer.
      await sendMsg(sock, n1, { type: 'dead', name: n1.name, incarnation: far, from: 'mallory' });
      const outbid = await settledOn('n1 outbids the far accusation everywhere');
      await monitor.stop();
      assert.ok(isNewer(outbid, far), `n1 now at ${outbid}, newer than ${far}`);
      assert.ok(!monitor.problems.some((p) => p.problem.includes('=dead')), `nobody saw n1 dead: ${JSON.stringify(monitor.problems)}`);
      // A restart starts from the persisted value and comes back alive everywhere.
      c.kill(n1, 'SIGTERM');
      await n1.exited;
      await c.restart(n1);
      const restarted = await settledOn('n1 alive everywhere after its restart');
      assert.ok(isNewer(restarted, outbid), `restarted at ${restarted}, after ${outbid}`);
      t.diagnostic(`incarnation ${i}: suspect at 0xffffffff to n1 -> ${afterTop}; suspect at ${far} to n0 refused as implausible_incarnation; ` +
        `dead at ${far} to n1 -> outbid at ${outbid}; after a restart ${restarted}`);
    });

    await t.test('a push-pull stream that dribbles is cut off at the stream deadline; extra connections are refused', async () => {
      const before = sample(await n0.client.metrics(), 'swimd_push_pull_streams_total', '{direction="in",result="refused"}');
      const conns = DAEMON_LIMITS.streamsInboundMax + 4;
      const started = Date.now();
      const closedAt: number[] = [];
      const socks: Socket[] = [];
      for (let k = 0; k < conns; k++) {
        const s = connect(n0.port, '127.0.0.1');
        s.on('error', () => undefined);
        socks.push(s);
        s.once('close', () => closedAt.push(Date.now() - started));
      }
      const header = Buffer.alloc(4);
      header.writeUInt32BE(1000, 0);
      for (const s of socks) s.write(header);
      const drip = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write(Buffer.from([0])); }, 500);
      try {
        await waitFor('every slow stream closed', () => closedAt.length === conns, DAEMON_LIMITS.streamDeadlineMs + 10_000, 100);
      } finally {
        clearInterval(drip);
        socks.forEach((s) => s.destroy());
      }
      closedAt.sort((a, b) => a - b);
      const refusedNow = sample(await n0.client.metrics(), 'swimd_push_pull_streams_total', '{direction="in",result="refused"}') - before;
      const early = closedAt.filter((ms) => ms < 2_000).length;
      const last = closedAt.at(-1) ?? 0;
      t.diagnostic(`slowloris: ${conns} connections dripping 1 byte/500 ms: ${early} refused at once (${refusedNow} counted), ` +
        `the rest cut off after ${closedAt[early]}-${last} ms (deadline ${DAEMON_LIMITS.streamDeadlineMs} ms)`);
      assert.ok(early >= conns - DAEMON_LIMITS.streamsInboundMax, 'connections beyond the cap are refused at once');
      assert.ok(refusedNow >= conns - DAEMON_LIMITS.streamsInboundMax);
      assert.ok(last >= DAEMON_LIMITS.streamDeadlineMs - 500 && last <= DAEMON_LIMITS.streamDeadlineMs + 3_000, `cut off at the deadline (${last} ms)`);
    });

    await t.test('an endless push-pull stream is read up to its size cap only; a larger declared frame is refused unread', async () => {
      const before = await rejected(n0.client);
      // Declares the largest frame allowed, then never stops sending.
      const s = connect(n0.port, '127.0.0.1');
      s.on('error', () => undefined);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(DAEMON_LIMITS.streamFrameBytesMax, 0);
      let written = 0;
      let ended = false;
      const started = Date.now();
      s.once('end', () => { ended = true; });
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(header);
      const chunk = Buffer.alloc(64 * 1024, 0xab);
      while (!ended && !s.destroyed && Date.now() - started < DAEMON_LIMITS.streamDeadlineMs + 5_000) {
        if (!s.write(chunk)) await within(new Promise((r) => s.once('drain', r)), 200);
        written += chunk.length;
      }
      const endedMs = Date.now() - started;
      s.destroy();
      const after = await rejected(n0.client);
      assert.ok(ended, 'the agent ended the stream once it had the whole frame');
      assert.ok(endedMs < DAEMON_LIMITS.streamDeadlineMs, `ended at the size cap (${endedMs} ms), not at the deadline`);
      assert.ok(total(after) > total(before), 'the junk frame was refused and counted');
      t.diagnostic(`endless stream: agent read its ${DAEMON_LIMITS.streamFrameBytesMax}-byte cap and closed after ${endedMs} ms; ` +
        `${written} bytes offered by then; refused as ${JSON.stringify([...after].filter(([k, v]) => v !== before.get(k)))}`);

      const big = connect(n0.port, '127.0.0.1');
      big.on('error', () => undefined);
      const h2 = Buffer.alloc(4);
      h2.writeUInt32BE(DAEMON_LIMITS.streamFrameBytesMax + 1, 0);
      const t2 = Date.now();
      big.write(h2);
      await new Promise<void>((r) => big.once('close', () => r()));
      t.diagnostic(`declared ${DAEMON_LIMITS.streamFrameBytesMax + 1} bytes: closed after ${Date.now() - t2} ms, nothing read`);
      assert.ok(Date.now() - t2 < 2_000);
    });

    await t.test('a push-pull state with more members than the limit is refused whole', async () => {
      const before = await rejected(n0.client);
      const members = Array.from({ length: LIMITS.pushPullMembersMax + 1 }, (_, k) =>
        memberFields({ name: `m${k}`, host: '127.0.0.1', port: 10_000 + (k % 50_000), incarnation: 1, status: 'alive' }));
      const body = packr.pack([true, 'mallory', members, []]);
      const payload = Buffer.concat([Buffer.from([PROTOCOL_VERSION, MessageType.PushPull]), body]);
      const s = connect(n0.port, '127.0.0.1');
      s.on('error', () => undefined);
      let reply = 0;
      s.on('data', (d: Buffer) => { reply += d.length; });
      s.write(frame(payload));
      await new Promise<void>((r) => s.once('close', () => r()));
      const after = await rejected(n0.client);
      assert.equal(reply, 0, 'no reply');
      assert.equal((after.get('too_many') ?? 0) - (before.get('too_many') ?? 0), 1);
      assert.equal((await n0.client.members()).length, 3, 'no member was added');
      t.diagnostic(`push-pull with ${members.length} members (${payload.length} bytes): refused as too_many, no reply, still 3 members`);
    });

    // After all of it, the cluster is whole.
    await waitFor('3 alive everywhere at the end', async () => {
      const views = await Promise.all(everyone.map((a) => a.client.members()));
      return views.every((v) => v.filter((m) => m.status === 'alive').length === 3);
    });
  });
});
