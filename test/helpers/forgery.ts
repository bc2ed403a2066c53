/**
 * Forged datagrams for the simulation: well-formed messages, encoded with the real codec, that no
 * member sent. They carry counters at or near the 32-bit ceiling, the values a single packet can
 * use to push a member or a catalog entry to a version its owner can no longer outbid.
 */
import type { Address } from '../../protocol/address.js';
import { encodePacket } from '../../protocol/codec.js';
import { LIMITS } from '../../protocol/limits.js';
import type { GossipMsg, ServiceMsg } from '../../protocol/messages.js';
import type { Rng } from '../../protocol/rng.js';

/** A host no simulated node has (TEST-NET-1): the forger's source address. */
export const FORGER: Address = { host: '192.0.2.66', port: 7946 };

export type ForgeryKind = 'suspect' | 'dead' | 'alive' | 'alive-elsewhere' | 'leave' | 'service' | 'own-echo';
export const FORGERY_KINDS: readonly ForgeryKind[] = ['suspect', 'dead', 'alive', 'alive-elsewhere', 'leave', 'service', 'own-echo'];

/** A counter at the ceiling or a few steps below it. */
export function forgedCounter(rng: Rng): number {
  const max = LIMITS.incarnationMax;
  switch (rng.int(4)) {
    case 0: return max;
    case 1: return max - 1;
    case 2: return max - 2 - rng.int(8);
    default: return max - rng.int(3);
  }
}

export interface Forgery {
  readonly kind: ForgeryKind;
  /** Member name the message is about (for own-echo: the receiver's own name). */
  readonly subject: string;
  readonly counter: number;
  /** Catalog entry id, for service and own-echo. */
  readonly serviceId?: string;
  readonly bytes: Uint8Array;
  /** One line for the schedule's description. */
  readonly text: string;
}

export interface ForgeryTarget {
  readonly subject: string;
  readonly subjectAddress: Address;
  /** A member name to pose as the accuser. */
  readonly accuser: string;
  readonly serviceId: string;
}

export function forge(kind: ForgeryKind, counter: number, t: ForgeryTarget): Forgery {
  let msg: GossipMsg;
  let serviceId: string | undefined;
  switch (kind) {
    case 'suspect':
      msg = { type: 'suspect', name: t.subject, incarnation: counter, from: t.accuser };
      break;
    case 'dead':
      msg = { type: 'dead', name: t.subject, incarnation: counter, from: t.accuser };
      break;
    case 'alive':
      msg = { type: 'alive', name: t.subject, host: t.subjectAddress.host, port: t.subjectAddress.port, incarnation: counter };
      break;
    case 'alive-elsewhere':
      msg = { type: 'alive', name: t.subject, host: FORGER.host, port: FORGER.port, incarnation: counter };
      break;
    case 'leave':
      msg = { type: 'leave', name: t.subject, incarnation: counter };
      break;
    case 'service':
    case 'own-echo':
      serviceId = t.serviceId;
      msg = forgedService(t.subject, t.serviceId, counter);
      break;
  }
  const hex = '0x' + counter.toString(16);
  const text = serviceId === undefined ? `${kind} ${t.subject}@${hex}` : `${kind} ${t.subject}/${serviceId}@${hex}`;
  return { kind, subject: t.subject, counter, ...(serviceId !== undefined ? { serviceId } : {}), bytes: encodePacket(msg), text };
}

function forgedService(owner: string, id: string, rev: number): ServiceMsg {
  return {
    type: 'service', node: owner, id, rev, deleted: false, name: 'forged', address: FORGER.host, port: 6666,
    tags: ['forged'], meta: [], version: '', weight: 1, health: 'passing', draining: false,
  };
}
