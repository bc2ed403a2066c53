import type { RemoteInfo } from 'node:dgram';
import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import type { Address } from '../../protocol/address.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { isIPv6Host, normalizeHost } from './net-util.js';

/**
 * The gossip datagram socket. Datagrams are received through the `message` callback given to
 * createSocket: dgram-as-promised's recv()/iterate() add a listener per call and lose whatever
 * arrives between calls.
 */

export type PacketHandler = (from: Address, bytes: Uint8Array) => void;

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  /** Larger datagrams are dropped and counted as rejected "too_large". */
  readonly maxBytes: number;
  readonly onPacket: PacketHandler;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class UdpTransport {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  private constructor(
    private readonly socket: SocketAsPromised,
    private readonly v6: boolean,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    readonly port: number,
  ) {}

  static async bind(opts: UdpOptions): Promise<UdpTransport> {
    const v6 = isIPv6Host(opts.host);
    let transport: UdpTransport | null = null;
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      if (transport === null || transport.closing) return;
      if (msg.length > opts.maxBytes) {
        opts.metrics.reject('too_large');
        return;
      }
      opts.metrics.packetsIn++;
      opts.metrics.bytesIn += msg.length;
      opts.onPacket({ host: normalizeHost(rinfo.address), port: rinfo.port }, msg);
    };
    // ipv6Only false: a socket bound to :: also serves IPv4 peers.
    const socket = DgramAsPromised.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false }, onMessage);
    socket.socket.on('error', (err) => opts.log.warn('udp socket error', { err }));
    try {
      const bound = await socket.bind(opts.port, opts.host);
      transport = new UdpTransport(socket, v6, opts.metrics, opts.log, bound.port);
      return transport;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  /** Fire and forget: the protocol tolerates loss, so a failed send is counted, not retried. */
  send(to: Address, bytes: Uint8Array): void {
    if (this.closing) return;
    if (this.inFlight.size >= DAEMON_LIMITS.udpSendsInFlightMax) {
      this.metrics.sendErrors++;
      return;
    }
    const host = this.v6 && !isIPv6Host(to.host) ? `::ffff:${to.host}` : to.host;
    if (!this.v6 && isIPv6Host(to.host)) {
      this.metrics.sendErrors++;
      this.log.debug('cannot send to an IPv6 address from an IPv4 socket', { to: to.host });
      return;
    }
    this.metrics.packetsOut++;
    this.metrics.bytesOut += bytes.length;
    const p: Promise<unknown> = this.socket.send(bytes, to.port, host).catch((err: unknown) => {
      this.metrics.sendErrors++;
      this.log.debug('udp send failed', { to: `${to.host}:${to.port}`, err });
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once every datagram handed to send() has left (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    await this.flush();
    this.closing = true;
    await this.socket.close();
  }
}
