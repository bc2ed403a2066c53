import type { Address } from '../../protocol/address.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { errCode } from './net-util.js';
import { StreamServer, type StreamHandler } from './stream-transport.js';
import { type PacketHandler, UdpTransport } from './udp-transport.js';

/**
 * Gossip (UDP) and push-pull (TCP) share one port number, so a member's single advertised address
 * serves both. TCP is bound first; with port 0 the kernel picks it and UDP takes the same number,
 * retrying with a fresh port when that number is already taken for UDP.
 */

export interface BoundPorts {
  readonly stream: StreamServer;
  readonly udp: UdpTransport;
  readonly port: number;
}

export interface BindOptions {
  readonly bind: Address;
  readonly packetBytes: number;
  readonly onPacket: PacketHandler;
  readonly onStream: StreamHandler;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export async function bindPorts(o: BindOptions): Promise<BoundPorts> {
  const attempts = o.bind.port === 0 ? DAEMON_LIMITS.bindPortAttempts : 1;
  for (let i = 1; ; i++) {
    const stream = await StreamServer.listen(o.bind.host, o.bind.port, o.onStream, o.metrics, o.log);
    try {
      const udp = await UdpTransport.bind({
        host: o.bind.host, port: stream.port, maxBytes: o.packetBytes, onPacket: o.onPacket, metrics: o.metrics, log: o.log,
      });
      return { stream, udp, port: stream.port };
    } catch (e) {
      await stream.close();
      if (errCode(e) !== 'EADDRINUSE' || i >= attempts) throw e;
      o.log.debug('udp port taken; trying another', { port: stream.port });
    }
  }
}
