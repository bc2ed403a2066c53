/**
 * Field-level wire mapping: each message's fields as a msgpack array, in the order declared in
 * messages.ts, and the validation of every decoded value. Decoding goes through unknown and only
 * builds a typed message once every field has passed its check; elements past the known fields are
 * ignored, because fields are append-only.
 */

import { LIMITS } from './limits.js';
import { array, at, bool, intIn, text } from './codec-check.js';
import { CodecError } from './codec-scan.js';
import { confirmFields, decodeConfirmFields, decodeConfirmRequestFields, decodeServiceFields, serviceFields } from './codec-service.js';
import {
  decodeSplitConfirmFields, decodeSplitConfirmRequestFields, decodeSplitFields, splitConfirmFields, splitConfirmRequestFields, splitFields,
} from './codec-split.js';
import {
  MessageType,
  STATUS_BY_CODE,
  type AckMsg,
  type PingMsg,
  StatusCode,
  type GossipMsg,
  type MemberState,
  type MemberStatus,
  type PingReqMsg,
} from './messages.js';

/** Ring positions are unsigned 32-bit (ring.ts). */
const RING_MAX = 0xffff_ffff;

function seq(v: unknown, prefix: string, field: string): number {
  return intIn(v, prefix, field, LIMITS.seqMax);
}

function incarnation(v: unknown, prefix: string, field: string): number {
  return intIn(v, prefix, field, LIMITS.incarnationMax);
}

function port(v: unknown, prefix: string, field: string): number {
  return intIn(v, prefix, field, 65_535);
}

export function name(v: unknown, prefix: string, field: string): string {
  return text(v, prefix, field, LIMITS.nameBytesMax, 'name');
}

function host(v: unknown, prefix: string, field: string): string {
  return text(v, prefix, field, LIMITS.addressBytesMax, 'host');
}

/** The wire code of a gossip message's type. */
export function gossipCode(msg: GossipMsg): number {
  switch (msg.type) {
    case 'ping':
      return MessageType.Ping;
    case 'ping-req':
      return MessageType.PingReq;
    case 'ack':
      return MessageType.Ack;
    case 'nack':
      return MessageType.Nack;
    case 'alive':
      return MessageType.Alive;
    case 'suspect':
      return MessageType.Suspect;
    case 'dead':
      return MessageType.Dead;
    case 'leave':
      return MessageType.Leave;
    case 'service':
      return MessageType.Service;
    case 'confirm':
      return MessageType.Confirm;
    case 'confirm-request':
      return MessageType.ConfirmRequest;
    case 'split':
      return MessageType.Split;
    case 'split-confirm-request':
      return MessageType.SplitConfirmRequest;
    case 'split-confirm':
      return MessageType.SplitConfirm;
    case 'relay':
      return MessageType.Relay;
    case 'have':
      return MessageType.Have;
    case 'want':
      return MessageType.Want;
  }
}

/** True for the codes that `decodeGossipFields` understands. */
export function isGossipCode(code: number): boolean {
  return (code >= MessageType.Ping && code <= MessageType.Leave) || code === MessageType.Service ||
    code === MessageType.Confirm || code === MessageType.ConfirmRequest ||
    code === MessageType.Split || code === MessageType.SplitConfirmRequest || code === MessageType.SplitConfirm ||
    code === MessageType.Relay || code === MessageType.Have || code === MessageType.Want;
}

/** A gossip message's fields, in wire order. */
export function gossipFields(msg: GossipMsg): unknown[] {
  switch (msg.type) {
    case 'ping':
      return [msg.seq, msg.target, msg.source, msg.sourceHost, msg.sourcePort, ...(msg.uptimeMs === undefined ? [] : [msg.uptimeMs])];
    case 'ping-req':
      return [
        msg.seq,
        msg.target,
        msg.targetHost,
        msg.targetPort,
        msg.source,
        msg.sourceHost,
        msg.sourcePort,
        msg.wantNack,
        ...(msg.budgetMs === undefined ? [] : [msg.budgetMs]),
      ];
    case 'ack':
      return msg.uptimeMs === undefined ? [msg.seq] : [msg.seq, msg.uptimeMs];
    case 'nack':
      return [msg.seq];
    case 'alive':
      return [msg.name, msg.host, msg.port, msg.incarnation];
    case 'suspect':
    case 'dead':
      return [msg.name, msg.incarnation, msg.from];
    case 'leave':
      return [msg.name, msg.incarnation];
    case 'service':
      return serviceFields(msg);
    case 'confirm':
    case 'confirm-request':
      return confirmFields(msg);
    case 'split':
      return splitFields(msg);
    case 'split-confirm-request':
      return splitConfirmRequestFields(msg);
    case 'split-confirm':
      return splitConfirmFields(msg);
    case 'relay':
      return [msg.lo, msg.hi];
    case 'have':
    case 'want':
      return [msg.node, msg.id, msg.rev];
  }
}

/**
 * Builds a typed gossip message from a decoded fields array. `code` must satisfy isGossipCode.
 * `prefix` starts the path used in error details, e.g. "parts[3].".
 */
export function decodeGossipFields(code: number, f: readonly unknown[], prefix: string): GossipMsg {
  // Object literals evaluate in order, so the first bad field in wire order is the one reported.
  const x = prefix;
  switch (code) {
    case MessageType.Ping: {
      const ping: PingMsg = {
        type: 'ping',
        seq: seq(at(f, 0), x, 'ping.seq'),
        target: name(at(f, 1), x, 'ping.target'),
        source: name(at(f, 2), x, 'ping.source'),
        sourceHost: host(at(f, 3), x, 'ping.sourceHost'),
        sourcePort: port(at(f, 4), x, 'ping.sourcePort'),
      };
      return f.length > 5 ? { ...ping, uptimeMs: intIn(f[5], x, 'ping.uptimeMs', LIMITS.uptimeMsMax) } : ping;
    }
    case MessageType.PingReq: {
      const req: PingReqMsg = {
        type: 'ping-req',
        seq: seq(at(f, 0), x, 'ping-req.seq'),
        target: name(at(f, 1), x, 'ping-req.target'),
        targetHost: host(at(f, 2), x, 'ping-req.targetHost'),
        targetPort: port(at(f, 3), x, 'ping-req.targetPort'),
        source: name(at(f, 4), x, 'ping-req.source'),
        sourceHost: host(at(f, 5), x, 'ping-req.sourceHost'),
        sourcePort: port(at(f, 6), x, 'ping-req.sourcePort'),
        wantNack: bool(at(f, 7), x, 'ping-req.wantNack'),
      };
      return f.length > 8 ? { ...req, budgetMs: intIn(f[8], x, 'ping-req.budgetMs', LIMITS.probeBudgetMsMax) } : req;
    }
    case MessageType.Ack: {
      const ack: AckMsg = { type: 'ack', seq: seq(at(f, 0), x, 'ack.seq') };
      return f.length > 1 ? { ...ack, uptimeMs: intIn(f[1], x, 'ack.uptimeMs', LIMITS.uptimeMsMax) } : ack;
    }
    case MessageType.Nack:
      return { type: 'nack', seq: seq(at(f, 0), x, 'nack.seq') };
    case MessageType.Alive:
      return {
        type: 'alive',
        name: name(at(f, 0), x, 'alive.name'),
        host: host(at(f, 1), x, 'alive.host'),
        port: port(at(f, 2), x, 'alive.port'),
        incarnation: incarnation(at(f, 3), x, 'alive.incarnation'),
      };
    case MessageType.Suspect:
      return {
        type: 'suspect',
        name: name(at(f, 0), x, 'suspect.name'),
        incarnation: incarnation(at(f, 1), x, 'suspect.incarnation'),
        from: name(at(f, 2), x, 'suspect.from'),
      };
    case MessageType.Dead:
      return {
        type: 'dead',
        name: name(at(f, 0), x, 'dead.name'),
        incarnation: incarnation(at(f, 1), x, 'dead.incarnation'),
        from: name(at(f, 2), x, 'dead.from'),
      };
    case MessageType.Leave:
      return {
        type: 'leave',
        name: name(at(f, 0), x, 'leave.name'),
        incarnation: incarnation(at(f, 1), x, 'leave.incarnation'),
      };
    case MessageType.Service:
      return decodeServiceFields(f, x);
    case MessageType.Confirm:
      return decodeConfirmFields(f, x);
    case MessageType.ConfirmRequest:
      return decodeConfirmRequestFields(f, x);
    case MessageType.Split:
      return decodeSplitFields(f, x);
    case MessageType.SplitConfirmRequest:
      return decodeSplitConfirmRequestFields(f, x);
    case MessageType.SplitConfirm:
      return decodeSplitConfirmFields(f, x);
    case MessageType.Relay:
      return { type: 'relay', lo: intIn(at(f, 0), x, 'relay.lo', RING_MAX), hi: intIn(at(f, 1), x, 'relay.hi', RING_MAX) };
    case MessageType.Have:
    case MessageType.Want: {
      const t = code === MessageType.Have ? 'have' : 'want';
      return {
        type: t,
        node: name(at(f, 0), x, `${t}.node`),
        id: text(at(f, 1), x, `${t}.id`, LIMITS.serviceIdBytesMax, 'id'),
        rev: incarnation(at(f, 2), x, `${t}.rev`),
      };
    }
    default:
      throw new CodecError('unknown_type', `${prefix}type ${code} is not a gossip message`);
  }
}

/** One push-pull member, in wire order. */
export function memberFields(m: MemberState): unknown[] {
  const f: unknown[] = [m.name, m.host, m.port, m.incarnation, StatusCode[m.status]];
  if (m.ageMs !== undefined) f.push(m.ageMs);
  return f;
}

/** `prefix` locates the member in error details, e.g. "push-pull.members[12]". */
export function decodeMember(v: unknown, prefix: string): MemberState {
  const f = array(v, prefix, '');
  const m: MemberState = {
    name: name(at(f, 0), prefix, '.name'),
    host: host(at(f, 1), prefix, '.host'),
    port: port(at(f, 2), prefix, '.port'),
    incarnation: incarnation(at(f, 3), prefix, '.incarnation'),
    status: status(at(f, 4), prefix, '.status'),
  };
  // Appended field: absent from older agents; nil stands for absent, so later fields can follow it.
  const age = at(f, 5);
  if (age === undefined || age === null) return m;
  return { ...m, ageMs: intIn(age, prefix, '.ageMs', LIMITS.memberAgeMsMax) };
}

function status(v: unknown, prefix: string, field: string): MemberStatus {
  const code = intIn(v, prefix, field, STATUS_BY_CODE.length - 1);
  return STATUS_BY_CODE[code] as MemberStatus;
}
