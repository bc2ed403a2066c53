import type { Socket } from 'node:net';
import { DAEMON_LIMITS } from '../limits.js';

/** The bounds admission keeps (DAEMON_LIMITS in the daemon; smaller ones in tests). */
export type SlotLimits = Readonly<Record<'streamsInboundMax' | 'streamsInboundWaitingMax' | 'streamsInboundPerAddressMax' | 'streamWaitMs', number>>;

/** What becomes of a connection on arrival. */
export type Admission = 'serve' | 'wait' | 'refuse';

interface Waiting {
  readonly socket: Socket;
  readonly host: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * Admission of inbound push-pull connections. At most streamsInboundMax are served at once; the
 * next streamsInboundWaitingMax wait, unread, in arrival order for a slot, each for at most
 * streamWaitMs, so a cluster whose agents all join through one seed at once is served as fast
 * as the seed can rather than refused and left to retry after seconds of backoff. One remote
 * address holds at most streamsInboundPerAddressMax connections, served and waiting together,
 * so one host cannot take the places every joining agent needs.
 */
export class InboundSlots {
  private readonly active = new Set<Socket>();
  private readonly waiting = new Map<Socket, Waiting>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    /** Serves a connection admitted now or after its wait. */
    private readonly serve: (socket: Socket, host: string) => void,
    /** A waiting connection reached the wait limit (the callback closes it). */
    private readonly onWaitExpired: (socket: Socket) => void,
    private readonly limits: SlotLimits = DAEMON_LIMITS,
  ) {}

  get served(): number {
    return this.active.size;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** A new connection from `host`: served at once, set waiting, or to be refused by the caller. */
  admit(socket: Socket, host: string): Admission {
    if ((this.perAddress.get(host) ?? 0) >= this.limits.streamsInboundPerAddressMax) return 'refuse';
    if (this.active.size < this.limits.streamsInboundMax && this.waiting.size === 0) {
      this.hold(host);
      this.active.add(socket);
      this.serve(socket, host);
      return 'serve';
    }
    if (this.waiting.size >= this.limits.streamsInboundWaitingMax) return 'refuse';
    this.hold(host);
    const timer = setTimeout(() => {
      if (!this.waiting.delete(socket)) return;
      this.release(host);
      this.onWaitExpired(socket);
    }, this.limits.streamWaitMs);
    this.waiting.set(socket, { socket, host, timer });
    // A waiting peer that gives up frees its place (noticed only if the socket reports it).
    socket.once('close', () => this.dropWaiting(socket));
    // An error on a socket nobody reads yet must not go unhandled; serving it attaches the real handler.
    socket.on('error', () => undefined);
    return 'wait';
  }

  /** A served connection closed: its slot goes to the longest-waiting connection still open. */
  done(socket: Socket, host: string): void {
    if (!this.active.delete(socket)) return;
    this.release(host);
    this.promote();
  }

  /** Closes every connection, served or waiting. */
  closeAll(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.socket.destroy();
    }
    this.waiting.clear();
    for (const s of this.active) s.destroy();
  }

  private promote(): void {
    while (this.active.size < this.limits.streamsInboundMax) {
      const first = this.waiting.values().next();
      if (first.done === true) return;
      const w = first.value;
      this.waiting.delete(w.socket);
      clearTimeout(w.timer);
      if (w.socket.destroyed) {
        this.release(w.host);
        continue;
      }
      this.active.add(w.socket);
      this.serve(w.socket, w.host);
    }
  }

  private dropWaiting(socket: Socket): void {
    const w = this.waiting.get(socket);
    if (w === undefined) return;
    this.waiting.delete(socket);
    clearTimeout(w.timer);
    this.release(w.host);
  }

  private hold(host: string): void {
    this.perAddress.set(host, (this.perAddress.get(host) ?? 0) + 1);
  }

  private release(host: string): void {
    const left = (this.perAddress.get(host) ?? 1) - 1;
    if (left > 0) this.perAddress.set(host, left);
    else this.perAddress.delete(host);
  }
}
