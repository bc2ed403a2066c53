import type { Address } from '../../protocol/address.js';
import { MessageType } from '../../protocol/messages.js';
import type { DatagramSender, PushPullFn } from '../driver.js';
import type { Keyring } from './keyring.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { describe } from '../net/net-util.js';
import { PushPullError } from '../net/push-pull-failure.js';
import { RejectNotices } from './reject-notices.js';
import type { StreamHandler } from '../net/stream-transport.js';
import type { PacketHandler } from '../net/udp-transport.js';
import {
  addLabel, checkHeader, ENVELOPE_OVERHEAD, isEnvelope, labelOverhead, peelLabel, seal, unseal, type UnwrapReason,
} from './envelope.js';

/**
 * Sits between the sockets and the driver: everything the core sends is labelled and (with a
 * keyring) sealed on the way out; everything received is checked on the way in, and only what
 * belongs to this cluster, and is encrypted when it must be, reaches the core. The core and the
 * simulator never see either layer.
 */

export interface KeyringHolder {
  readonly current: Keyring;
}

export interface ChannelOptions {
  readonly cluster: string;
  /** null: encryption is off. */
  readonly keyring: KeyringHolder | null;
  /** With a keyring: refuse input that is not encrypted. False only while a cluster turns encryption on. */
  readonly verifyIncoming: boolean;
  /** With a keyring: encrypt what is sent. False only while a cluster turns encryption on. */
  readonly verifyOutgoing: boolean;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: () => number;
}

export type Via = 'udp' | 'push-pull';

/** Every reason is a label of swimd_packets_rejected_total. */
export type RejectReason = UnwrapReason | 'cluster_mismatch' | 'encrypted_no_key' | 'decrypt_failed' | 'plaintext';

export type Unwrapped =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly reason: RejectReason; readonly label?: string };

/** Rejections that point at a misconfiguration an operator should hear about (rate-limited). */
const NOTICES: Partial<Record<RejectReason, string>> = {
  cluster_mismatch: 'dropping input from another cluster',
  decrypt_failed: 'dropping input that no installed key decrypts (a peer with other keys, or tampered)',
  plaintext: 'dropping unencrypted input: encryption is on (encrypt_verify_incoming false accepts it during a transition)',
  encrypted_no_key: 'dropping encrypted input: this agent has no encrypt_key_file',
};

/** Why a push-pull reply was refused: the initiator can tell these apart, unlike a refused request. */
const REPLY_REFUSED: Partial<Record<RejectReason, string>> = {
  cluster_mismatch: 'the seed belongs to another cluster (its reply carries a different cluster label)',
  decrypt_failed: 'the seed\'s reply is encrypted with a key this agent does not hold',
  plaintext: 'the seed\'s reply is unencrypted and this agent requires encryption',
  encrypted_no_key: 'the seed\'s reply is encrypted and this agent has no encrypt_key_file',
};

export class SecureChannel {
  /** Bytes wrap() adds at most; the core's packet budget is reduced by it. */
  readonly overhead: number;
  private readonly notices: RejectNotices;

  constructor(private readonly o: ChannelOptions) {
    this.overhead = labelOverhead(o.cluster) + (o.keyring === null ? 0 : ENVELOPE_OVERHEAD);
    this.notices = new RejectNotices(o.clock);
  }

  /** What goes on the wire for a packet or stream payload the core produced. */
  wrap(plain: Uint8Array): Uint8Array {
    const k = this.o.keyring;
    const inner = k !== null && this.o.verifyOutgoing ? seal(k.current.primary, this.o.cluster, plain) : plain;
    return addLabel(this.o.cluster, inner);
  }

  /** The core's bytes inside what arrived, or why they are refused. No side effects. */
  unwrap(bytes: Uint8Array): Unwrapped {
    const peeled = peelLabel(bytes);
    if (!peeled.ok) return peeled;
    if (peeled.label !== this.o.cluster) return { ok: false, reason: 'cluster_mismatch', label: peeled.label };
    const inner = peeled.inner;
    const k = this.o.keyring;
    if (isEnvelope(inner)) {
      if (k === null) return { ok: false, reason: 'encrypted_no_key' };
      const plain = unseal(k.current.keys, this.o.cluster, inner);
      if (plain === null) return { ok: false, reason: 'decrypt_failed' };
      // A sender seals a plain packet; layers inside the envelope are not something it produces.
      const bad = checkHeader(plain);
      if (bad !== null) return { ok: false, reason: bad };
      if (plain[1] === MessageType.Encrypted || plain[1] === MessageType.Labelled) return { ok: false, reason: 'malformed' };
      return { ok: true, bytes: plain };
    }
    if (k !== null && this.o.verifyIncoming) return { ok: false, reason: 'plaintext' };
    return { ok: true, bytes: inner };
  }

  /** unwrap(), counting a refusal and telling the operator about the ones that matter. */
  open(from: Address, bytes: Uint8Array, via: Via): Uint8Array | null {
    const r = this.unwrap(bytes);
    if (r.ok) return r.bytes;
    this.o.metrics.reject(r.reason);
    const msg = NOTICES[r.reason];
    if (msg !== undefined) {
      // Stream sources use ephemeral ports, so a peer is its host there; a gossip socket is host:port.
      const peer = via === 'udp' ? describe(from) : from.host;
      this.notices.note(`${r.reason}|${via}|${peer}|${r.label ?? ''}`, (suppressed) => {
        this.o.log.warn(msg, {
          peer, via, reason: r.reason,
          ...(r.label === undefined ? {} : { cluster: r.label, ours: this.o.cluster }),
          ...(suppressed > 0 ? { other_lines_suppressed: suppressed } : {}),
          note: `logged once per peer and reason per minute; all are counted in swimd_packets_rejected_total{reason="${r.reason}"}`,
        });
      });
    }
    return null;
  }

  /** The datagram handler that only passes this cluster's (decrypted) packets on. */
  packets(handler: PacketHandler): PacketHandler {
    return (from, bytes) => {
      const inner = this.open(from, bytes, 'udp');
      if (inner !== null) handler(from, inner);
    };
  }

  /** The push-pull handler: a refused request is closed without a reply; replies are wrapped. */
  streams(handler: StreamHandler): StreamHandler {
    return (from, bytes) => {
      const inner = this.open(from, bytes, 'push-pull');
      if (inner === null) return null;
      const reply = handler(from, inner);
      return reply === null ? null : this.wrap(reply);
    };
  }

  sender(udp: DatagramSender): DatagramSender {
    return { send: (to, bytes) => udp.send(to, this.wrap(bytes)) };
  }

  /** Push-pull as the initiator: the request is wrapped, and a reply this cluster would refuse fails it. */
  pushPull(request: PushPullFn): PushPullFn {
    return async (to, bytes) => {
      const reply = await request(to, this.wrap(bytes));
      const r = this.unwrap(reply);
      if (r.ok) return r.bytes;
      this.open(to, reply, 'push-pull');
      throw new PushPullError(REPLY_REFUSED[r.reason] ?? `the seed's reply was refused (${r.reason})`);
    };
  }
}
