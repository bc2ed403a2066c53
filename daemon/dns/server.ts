import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { Address } from '../../protocol/address.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { DnsView } from './answer.js';
import { DnsMetrics } from './metrics.js';
import { handleMessage, type MessageConfig, type DnsTransport } from './message.js';

/**
 * The DNS listeners: UDP and TCP on one address and port (`dns_addr`). Each query is answered
 * synchronously from the agent's view as it is at that moment. UDP answers are cut to the client's
 * EDNS0 size (512 without it) with TC set; TCP answers are whole, up to 65535 bytes, and a TCP
 * connection may carry several queries (RFC 7766), bounded in count, idle time and unread output.
 */

export interface DnsServerOptions {
  readonly address: Address;
  readonly view: DnsView;
  readonly config: MessageConfig;
  readonly log: Logger;
}

export class DnsServer {
  readonly metrics = new DnsMetrics();
  private readonly connections = new Set<Socket>();
  /** Rotates where each answer's list starts, so first-address clients spread over instances. */
  private turn = 0;

  private constructor(
    private readonly opts: DnsServerOptions,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly address: Address,
  ) {}

  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    let lastError: unknown = null;
    // Port 0: the UDP socket picks the port and TCP must get the same one; retry if it is taken.
    const attempts = opts.address.port === 0 ? DAEMON_LIMITS.bindPortAttempts : 1;
    for (let i = 0; i < attempts; i++) {
      const udp = createSocket({ type: isIPv6(opts.address.host) ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: opts.address.host, port: opts.address.port, exclusive: true }, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        throw e;
      }
      const port = udp.address().port;
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: opts.address.host, port, exclusive: true }, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        tcp.close();
        lastError = e;
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && opts.address.port === 0) continue;
        throw e;
      }
      const server = new DnsServer(opts, udp, tcp, { host: opts.address.host, port });
      server.serve();
      return server;
    }
    throw lastError instanceof Error ? lastError : new Error('no port free for both UDP and TCP');
  }

  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]).then(() => undefined);
  }

  metricsText(): string {
    return this.metrics.text();
  }

  private answer(bytes: Buffer, transport: DnsTransport): Buffer | null {
    this.turn = (this.turn + 1) % 0x7fffffff;
    let handled;
    try {
      handled = handleMessage(bytes, transport, this.opts.view, this.opts.config, this.turn);
    } catch (err) {
      // A defect, not input: logged, and the client gets nothing rather than the agent failing.
      this.opts.log.error('dns query failed', { err });
      this.metrics.record(transport, { kind: 'answered', rcode: 'SERVFAIL', truncated: false });
      return null;
    }
    this.metrics.record(transport, handled.outcome);
    return handled.reply;
  }

  private serve(): void {
    this.udp.on('message', (msg, rinfo) => {
      const reply = this.answer(msg, 'udp');
      if (reply === null) return;
      this.udp.send(reply, rinfo.port, rinfo.address, (err) => {
        if (err !== null && err !== undefined) this.metrics.sendErrors++;
      });
    });
    this.udp.on('error', (err) => this.opts.log.warn('dns udp socket error', { err }));
    this.tcp.on('connection', (socket) => this.connection(socket));
    this.tcp.on('error', (err) => this.opts.log.warn('dns tcp listener error', { err }));
  }

  private connection(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.connections.size >= DAEMON_LIMITS.dnsTcpConnectionsMax) {
      this.metrics.tcpRefused++;
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.setNoDelay(true);
    socket.setTimeout(DAEMON_LIMITS.dnsTcpIdleMs, () => {
      this.metrics.tcpClosedIdle++;
      socket.destroy();
    });
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (length > DAEMON_LIMITS.dnsQueryBytesMax) {
          this.metrics.record('tcp', { kind: 'rejected', reason: 'too_large', answered: false });
          socket.destroy();
          return;
        }
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const reply = this.answer(message, 'tcp');
        if (reply === null) continue;
        const framed = Buffer.allocUnsafe(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
        if (socket.writableLength > DAEMON_LIMITS.dnsTcpWriteBufferBytesMax) {
          this.metrics.tcpClosedSlowReader++;
          socket.destroy();
          return;
        }
      }
      // Keep only what a frame still needs, never a reference into a large chunk.
      if (pending.length > 0) pending = Buffer.from(pending);
    });
  }
}
