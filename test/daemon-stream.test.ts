import assert from 'node:assert/strict';
import { connect, createConnection, type Socket } from 'node:net';
import { test } from 'node:test';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';
import { frame, pushPullRequest, StreamServer } from '../daemon/net/stream-transport.js';

type TestCtx = { after: (fn: () => void | Promise<void>) => void };

async function server(t: TestCtx, reply: (req: Uint8Array) => Uint8Array | null) {
  const metrics = new Metrics();
  const s = await StreamServer.listen('127.0.0.1', 0, (_from, req) => reply(req), metrics, silentLogger());
  t.after(() => s.close());
  return { s, metrics };
}

/**
 * Opens streamsInboundMax connections that send nothing, each from its own loopback address
 * (`prefix`.1, .2, ...) so that the per-address cap does not apply first.
 */
async function holdEverySlot(t: TestCtx, port: number, prefix: string): Promise<Socket[]> {
  const held: Socket[] = [];
  t.after(() => held.forEach((c) => c.destroy()));
  for (let i = 0; i < DAEMON_LIMITS.streamsInboundMax; i++) {
    const c = createConnection({ host: '127.0.0.1', port, localAddress: `${prefix}.${i + 1}` });
    c.on('error', () => undefined);
    await new Promise((r) => c.once('connect', r));
    held.push(c);
  }
  return held;
}

function closed(sock: Socket): Promise<void> {
  return new Promise((r) => sock.once('close', () => r()));
}

test('one framed request, one framed reply', async (t) => {
  const { s, metrics } = await server(t, (req) => Uint8Array.from([...req].reverse()));
  const reply = await pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...reply], [3, 2, 1]);
  const big = new Uint8Array(1 << 20).fill(7);
  assert.equal((await pushPullRequest({ host: '127.0.0.1', port: s.port }, big)).length, big.length);
  assert.equal(metrics.streams.get('in\u0000ok'), 2);
});

test('no reply and refused connections reject the request', async (t) => {
  const { s } = await server(t, () => null);
  await assert.rejects(pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1])), /closed the connection without replying/);
  await s.close();
  await assert.rejects(pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1])), /ECONNREFUSED/);
});

test('a frame header above the limit is cut off before any body is read', async (t) => {
  let served = 0;
  const { s, metrics } = await server(t, () => { served++; return null; });
  const sock = connect(s.port, '127.0.0.1');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(DAEMON_LIMITS.streamFrameBytesMax + 1, 0);
  sock.on('error', () => undefined);
  sock.write(header);
  await closed(sock);
  assert.equal(served, 0);
  assert.equal(metrics.streams.get('in\u0000failed'), 1);
});

test('connections beyond the concurrent-stream cap wait for a slot and are then served', async (t) => {
  const { s, metrics } = await server(t, () => new Uint8Array([9]));
  const idle = await holdEverySlot(t, s.port, '127.0.1');
  await new Promise((r) => setTimeout(r, 20));
  let answered = false;
  const extra = pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1])).then((reply) => {
    answered = true;
    return reply;
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false, 'every slot is held: the request waits');
  assert.equal(metrics.streamsWaited, 1);
  assert.equal(metrics.streams.get('in\u0000refused'), undefined, 'waiting is not refusing');
  // Once a slot frees, the waiting request is served.
  idle.pop()?.destroy();
  assert.deepEqual([...(await extra)], [9]);
});

test('a request waits for a slot no longer than streamWaitMs, then the connection is closed unanswered', async (t) => {
  const { s, metrics } = await server(t, () => new Uint8Array([9]));
  const idle = await holdEverySlot(t, s.port, '127.0.4');
  // The held connections send a frame header and then dribble, so that the request-start deadline
  // does not free their slots before the wait runs out.
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1000, 0);
  for (const c of idle) c.write(header);
  const drip = setInterval(() => { for (const c of idle) if (!c.destroyed) c.write(Buffer.from([0])); }, 500);
  t.after(() => clearInterval(drip));
  const started = Date.now();
  // Closed unread: a reset (the request sits unread in the socket) or a plain close.
  await assert.rejects(pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1])), /ECONNRESET|closed the connection without replying/);
  const waited = Date.now() - started;
  assert.ok(waited >= DAEMON_LIMITS.streamWaitMs - 100 && waited < DAEMON_LIMITS.streamDeadlineMs, `closed after ${waited} ms`);
  assert.equal(metrics.streams.get('in\u0000refused'), 1);
});

test('a push-pull leaves from the local address it is given, so the peer sees that address', async (t) => {
  const metrics = new Metrics();
  const seen: string[] = [];
  const s = await StreamServer.listen('127.0.0.1', 0, (from) => { seen.push(from.host); return new Uint8Array(0); }, metrics, silentLogger());
  t.after(() => s.close());
  await pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1]), '127.0.5.9');
  // An address of the other family is not used as the source (it could not be).
  await pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([1]), '::1');
  assert.deepEqual(seen, ['127.0.5.9', '127.0.0.1']);
});

test('one address holds at most streamsInboundPerAddressMax streams; other addresses are still served', async (t) => {
  const { s, metrics } = await server(t, () => new Uint8Array(0));
  const idle: Socket[] = [];
  t.after(() => idle.forEach((c) => c.destroy()));
  const from = (localAddress: string): Socket => {
    const c = createConnection({ host: '127.0.0.1', port: s.port, localAddress });
    c.on('error', () => undefined);
    return c;
  };
  for (let i = 0; i < DAEMON_LIMITS.streamsInboundPerAddressMax; i++) {
    const c = from('127.0.2.1');
    await new Promise((r) => c.once('connect', r));
    idle.push(c);
  }
  await new Promise((r) => setTimeout(r, 20));
  const extra = from('127.0.2.1');
  extra.write(frame(new Uint8Array([1])));
  await closed(extra);
  assert.equal(metrics.streams.get('in\u0000refused'), 1);
  assert.equal((await pushPullRequest({ host: '127.0.0.1', port: s.port }, new Uint8Array([5]))).length, 0);
  // Once one of its streams ends, the address is served again.
  idle.pop()?.destroy();
  await new Promise((r) => setTimeout(r, 20));
  const again = from('127.0.2.1');
  const reply = new Promise<number>((resolve) => {
    let n = 0;
    again.on('data', (b: Buffer) => { n += b.length; });
    again.on('close', () => resolve(n));
  });
  again.write(frame(new Uint8Array([1])));
  assert.equal(await reply, 4, 'an empty framed reply');
});

test('a connection that sends no request gives its slot back before one that has started its request', async (t) => {
  const { s, metrics } = await server(t, () => null);
  // The one that started its request connects first: with a single overall deadline it would be
  // cut off first; with the request-start deadline the silent one goes long before.
  const started = connect(s.port, '127.0.0.1');
  started.on('error', () => undefined);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(16, 0);
  started.write(header);
  await new Promise((r) => setTimeout(r, 50));
  const silent = connect(s.port, '127.0.0.1');
  silent.on('error', () => undefined);
  let startedClosed = false;
  started.once('close', () => { startedClosed = true; });
  await closed(silent);
  assert.equal(startedClosed, false, 'the silent connection must be closed while the started one is still served');
  assert.equal(metrics.streams.get('in\u0000failed'), 1);
  started.destroy();
});
