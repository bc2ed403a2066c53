/**
 * A closed-loop UDP load generator: `concurrency` queries in flight, each answered query replaced by
 * the next at once, spread over a few sockets. Counts answers (by id) per second; a query with no
 * answer within timeoutMs is counted lost and replaced.
 */
import { createSocket, type Socket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';

export interface UdpLoadResult {
  readonly answered: number;
  readonly lost: number;
  readonly seconds: number;
  readonly qps: number;
  /** Answers whose header said anything but NOERROR, or that had no answer records. */
  readonly unexpected: number;
}

const SOCKETS = 4;
const TIMEOUT_MS = 1_000;

export async function udpLoad(port: number, name: string, type: 'A' | 'SRV', concurrency: number, seconds: number,
  onSecond: (qps: number) => void = () => undefined): Promise<UdpLoadResult> {
  const sockets: Socket[] = [];
  for (let i = 0; i < SOCKETS; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    sockets.push(s);
  }
  const pending = new Map<number, { socket: Socket; sentAt: number }>();
  let nextId = 1;
  let answered = 0;
  let lost = 0;
  let unexpected = 0;
  let running = true;
  const template = (id: number): Buffer => dnsPacket.encode({ type: 'query', id, questions: [{ name, type }] });

  const send = (socket: Socket): void => {
    if (!running) return;
    let id = nextId;
    // Ids are 16 bits: skip ones still in flight.
    while (pending.has(id)) id = (id % 65535) + 1;
    nextId = (id % 65535) + 1;
    pending.set(id, { socket, sentAt: Date.now() });
    socket.send(template(id), port, '127.0.0.1');
  };
  for (const s of sockets) {
    s.on('message', (msg) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = pending.get(id);
      if (p === undefined) return;
      pending.delete(id);
      answered++;
      // rcode in the low four bits, answer count at offset 6.
      if ((msg.readUInt16BE(2) & 0xf) !== 0 || msg.readUInt16BE(6) === 0) unexpected++;
      send(p.socket);
    });
  }
  const started = Date.now();
  for (let i = 0; i < concurrency; i++) send(sockets[i % SOCKETS]!);
  let lastCount = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const [id, p] of pending) {
      if (now - p.sentAt > TIMEOUT_MS) {
        pending.delete(id);
        lost++;
        send(p.socket);
      }
    }
    onSecond(answered - lastCount);
    lastCount = answered;
  }, 1_000);
  await new Promise((r) => setTimeout(r, seconds * 1_000));
  running = false;
  clearInterval(ticker);
  const elapsed = (Date.now() - started) / 1_000;
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return { answered, lost, seconds: elapsed, qps: Math.round(answered / elapsed), unexpected };
}
