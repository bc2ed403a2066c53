import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import type { Address } from '../../protocol/address.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { InboundSlots } from './inbound-slots.js';
import { describe, errCode, normalizeHost } from './net-util.js';
import { CLOSED_WITHOUT_REPLY, noReplyInTime, PushPullError } from './push-pull-failure.js';

/**
 * Push-pull streams over TCP. One exchange per connection: the initiator writes one frame, the
 * responder writes one frame back (or closes without one), then both close. A frame is a 4-byte
 * big-endian length followed by that many bytes, at most DAEMON_LIMITS.streamFrameBytesMax (the
 * core's LIMITS.streamBytesMax plus the label header and encryption envelope around it).
 */

const HEADER_BYTES = 4;

export function frame(bytes: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

/**
 * Accumulates one frame from a socket. Memory grows with bytes actually received, not with the
 * length a peer claims, so a lying header costs the peer as much as it costs us.
 */
class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private need: number | null = null;

  /** Whether the frame header (its length) has arrived. */
  get started(): boolean {
    return this.need !== null;
  }

  /** Returns the frame when complete, an error string when the peer broke the rules, else null. */
  push(chunk: Buffer): { done: Buffer } | { error: string } | null {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.need === null) {
      if (this.have < HEADER_BYTES) return null;
      const all = Buffer.concat(this.chunks);
      this.need = all.readUInt32BE(0);
      if (this.need > DAEMON_LIMITS.streamFrameBytesMax) return { error: `frame of ${this.need} bytes exceeds ${DAEMON_LIMITS.streamFrameBytesMax}` };
      this.chunks = [all.subarray(HEADER_BYTES)];
      this.have -= HEADER_BYTES;
    }
    if (this.have < this.need) return null;
    // Bytes after the frame are ignored: one exchange per connection.
    return { done: Buffer.concat(this.chunks).subarray(0, this.need) };
  }
}

/** Handles one request; returns the reply to write, or null to close without one. */
export type StreamHandler = (from: Address, request: Uint8Array) => Uint8Array | null;

export class StreamServer {
  private constructor(
    private readonly server: Server,
    private readonly slots: InboundSlots,
    readonly port: number,
  ) {}

  static async listen(host: string, port: number, handler: StreamHandler, metrics: Metrics, log: Logger): Promise<StreamServer> {
    const refuse = (socket: Socket): void => {
      metrics.stream('in', 'refused');
      socket.destroy();
    };
    const slots: InboundSlots = new InboundSlots(
      (socket, remote) => serve(socket, remote, () => slots.done(socket, remote), handler, metrics, log),
      refuse,
    );
    // Nothing is read from a connection until it is served: a waiting one costs a socket, not a buffer.
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      const admission = slots.admit(socket, normalizeHost(socket.remoteAddress ?? ''));
      if (admission === 'wait') metrics.streamsWaited++;
      if (admission === 'refuse') refuse(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.warn('push-pull listener error', { err }));
    const addr = server.address();
    const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
    return new StreamServer(server, slots, bound);
  }

  async close(): Promise<void> {
    this.slots.closeAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Serves one admitted connection; `closed` gives its slot back. */
function serve(socket: Socket, host: string, closed: () => void, handler: StreamHandler, metrics: Metrics, log: Logger): void {
  const from: Address = { host, port: socket.remotePort ?? 0 };
  // Covers writing the reply too: a peer that never reads it must not keep the slot.
  const deadline = setTimeout(() => {
    fail('deadline exceeded');
    socket.destroy();
  }, DAEMON_LIMITS.streamDeadlineMs);
  const reader = new FrameReader();
  let finished = false;
  // Unauthenticated connections that send nothing give their slot back early.
  const start = setTimeout(() => {
    if (!reader.started) fail('no request in time');
  }, DAEMON_LIMITS.streamRequestStartMs);

  function fail(reason: string): void {
    if (finished) return;
    finished = true;
    metrics.stream('in', 'failed');
    log.debug('push-pull request failed', { from: describe(from), reason });
    socket.destroy();
  }

  socket.on('close', () => {
    clearTimeout(deadline);
    clearTimeout(start);
    closed();
    if (!finished) fail('closed early');
  });
  socket.on('error', (err) => fail(errCode(err)));
  socket.on('data', (chunk: Buffer) => {
    if (finished) return;
    const r = reader.push(chunk);
    if (r === null) return;
    if ('error' in r) return fail(r.error);
    socket.pause();
    let reply: Uint8Array | null;
    try {
      reply = handler(from, r.done);
    } catch (e) {
      log.error('push-pull handler threw', { from: describe(from), err: e });
      return fail('handler error');
    }
    finished = true;
    // A request the handler refused (another cluster, undecryptable, malformed) was not served.
    metrics.stream('in', reply === null ? 'failed' : 'ok');
    if (reply === null) socket.end();
    else socket.end(frame(reply));
  });
  socket.resume();
}

/**
 * One push-pull as the initiator: resolves with the peer's reply, rejects on any failure
 * (connect, deadline, oversized or missing reply). `localHost`, an address this agent is bound to,
 * is the connection's source when `to` is an address of the same family, so that the peer sees the
 * agent at the address its datagrams come from (one of several on a host, or on loopback, would
 * otherwise leave from the kernel's choice and share that address's stream slots).
 */
export function pushPullRequest(to: Address, request: Uint8Array, localHost?: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const fromLocal = localHost !== undefined && isIP(localHost) !== 0 && isIP(localHost) === isIP(to.host);
    const socket = createConnection({ host: to.host, port: to.port, ...(fromLocal ? { localAddress: localHost } : {}) });
    const reader = new FrameReader();
    let settled = false;
    const settle = (err: Error | null, reply?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(reply ?? new Uint8Array(0));
    };
    const deadline = setTimeout(() => settle(noReplyInTime()), DAEMON_LIMITS.streamDeadlineMs);
    socket.on('connect', () => socket.write(frame(request)));
    socket.on('error', (err) => settle(err));
    socket.on('close', () => settle(new PushPullError(CLOSED_WITHOUT_REPLY)));
    socket.on('data', (chunk: Buffer) => {
      const r = reader.push(chunk);
      if (r === null) return;
      if ('error' in r) settle(new PushPullError(`the seed's reply is malformed: ${r.error}`));
      else settle(null, r.done);
    });
  });
}
