/**
 * Counts what the agents of one worker process put on the wire, and injects send-side loss.
 *
 * The agent owns its sockets, so the meter hooks the two places every byte passes: UdpTransport's
 * send (wrapped once for the whole process; the agents' sends reach it after any envelope, so sizes
 * are wire sizes) and, for push-pull TCP, the sockets Node announces on its diagnostics channels.
 * A datagram dropped by the loss hook is counted as sent: the agent did send it.
 */
import dc from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { UdpTransport } from '../../daemon/net/udp-transport.js';
import type { Address } from '../../protocol/address.js';
import type { TrafficSnapshot } from './ipc.js';
import { sharedNow } from './clock.js';

export class TrafficMeter {
  private udpPackets = 0;
  private udpBytes = 0;
  private dropped = 0;
  private tcpClosedBytes = 0;
  private tcpConnections = 0;
  private readonly tcpOpen = new Set<Socket>();
  private loss = 0;

  /** Installs the hooks; call once per process, before any agent starts. */
  install(): void {
    const original = UdpTransport.prototype.send;
    const meter = this;
    UdpTransport.prototype.send = function send(this: UdpTransport, to: Address, bytes: Uint8Array): void {
      meter.udpPackets++;
      meter.udpBytes += bytes.length;
      if (meter.loss > 0 && Math.random() < meter.loss) {
        meter.dropped++;
        return;
      }
      original.call(this, to, bytes);
    };
    dc.subscribe('net.server.socket', (msg) => this.track((msg as { socket: Socket }).socket, true));
    dc.subscribe('net.client.socket', (msg) => this.track((msg as { socket: Socket }).socket, false));
  }

  setLoss(fraction: number): void {
    this.loss = Math.min(1, Math.max(0, fraction));
  }

  snapshot(): TrafficSnapshot {
    let tcpBytes = this.tcpClosedBytes;
    for (const s of this.tcpOpen) tcpBytes += s.bytesWritten;
    const cpu = process.cpuUsage();
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      at: sharedNow(),
      udpPackets: this.udpPackets,
      udpBytes: this.udpBytes,
      droppedPackets: this.dropped,
      tcpBytes,
      tcpConnections: this.tcpConnections,
    };
  }

  /** Push-pull connections are TCP; the local API's are Unix sockets (no port) and are left out. */
  private track(socket: Socket, connected: boolean): void {
    const adopt = (): void => {
      if (socket.remotePort === undefined) return;
      this.tcpConnections++;
      this.tcpOpen.add(socket);
      socket.once('close', () => {
        this.tcpOpen.delete(socket);
        this.tcpClosedBytes += socket.bytesWritten;
      });
    };
    if (connected) adopt();
    else socket.once('connect', adopt);
  }
}
