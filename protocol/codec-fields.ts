/**
 * Field-level wire mapping: each message's fields as a msgpack array, in the order declared in
 * messages.ts, and the validation of every decoded value. Decoding goes through unknown and only
 * builds a typed message once every field has passed its check; elements past the known fields are
 * ignored, because fields are append-only.
 */

import { LIMITS } from './limits.js';
import { CodecError } from './codec-scan.js';
import {
  MessageType,
  STATUS_BY_CODE,
  StatusCode,
  type GossipMsg,
  type MemberState,
  type MemberStatus,
} from './messages.js';

function badField(path: string, expected: string, got: unknown): CodecError {
  return new CodecError('bad_field', `${path}: expected ${expected}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v === null) return 'nil';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'string') return `string(${Buffer.byteLength(v, 'utf8')} bytes)`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (v instanceof Uint8Array) return `bin(${v.length})`;
  return typeof v;
}

/** Reads element `i` of a decoded array; a missing element reads as undefined and fails its check. */
function at(fields: readonly unknown[], i: number): unknown {
  return i < fields.length ? fields[i] : undefined;
}

function intIn(v: unknown, path: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw badField(path, `integer in [0, ${max}]`, v);
  }
  return v === 0 ? 0 : v; // a float -0 passes the checks above; keep the value canonical
}

export function u32(v: unknown, path: string): number {
  return intIn(v, path, LIMITS.seqMax);
}

function incarnation(v: unknown, path: string): number {
  return intIn(v, path, LIMITS.incarnationMax);
}

function port(v: unknown, path: string): number {
  return intIn(v, path, 65_535);
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw badField(path, 'boolean', v);
  return v;
}

function text(v: unknown, path: string, maxBytes: number, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v, 'utf8') > maxBytes) {
    throw badField(path, `non-empty ${what} of at most ${maxBytes} UTF-8 bytes`, v);
  }
  return v;
}

export function name(v: unknown, path: string): string {
  return text(v, path, LIMITS.nameBytesMax, 'name');
}

function host(v: unknown, path: string): string {
  return text(v, path, LIMITS.addressBytesMax, 'host');
}

export function array(v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v)) throw badField(path, 'array', v);
  return v;
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
  }
}

/** True for the codes that `decodeGossipFields` understands. */
export function isGossipCode(code: number): boolean {
  return code >= MessageType.Ping && code <= MessageType.Leave;
}

/** A gossip message's fields, in wire order. */
export function gossipFields(msg: GossipMsg): unknown[] {
  switch (msg.type) {
    case 'ping':
      return [msg.seq, msg.target, msg.source, msg.sourceHost, msg.sourcePort];
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
      ];
    case 'ack':
    case 'nack':
      return [msg.seq];
    case 'alive':
      return [msg.name, msg.host, msg.port, msg.incarnation];
    case 'suspect':
    case 'dead':
      return [msg.name, msg.incarnation, msg.from];
    case 'leave':
      return [msg.name, msg.incarnation];
  }
}

/**
 * Builds a typed gossip message from a decoded fields array. `code` must satisfy isGossipCode.
 * `prefix` starts the path used in error details, e.g. "parts[3].".
 */
export function decodeGossipFields(code: number, f: readonly unknown[], prefix: string): GossipMsg {
  // Object literals evaluate in order, so the first bad field in wire order is the one reported.
  switch (code) {
    case MessageType.Ping: {
      const p = `${prefix}ping.`;
      return {
        type: 'ping',
        seq: u32(at(f, 0), `${p}seq`),
        target: name(at(f, 1), `${p}target`),
        source: name(at(f, 2), `${p}source`),
        sourceHost: host(at(f, 3), `${p}sourceHost`),
        sourcePort: port(at(f, 4), `${p}sourcePort`),
      };
    }
    case MessageType.PingReq: {
      const p = `${prefix}ping-req.`;
      return {
        type: 'ping-req',
        seq: u32(at(f, 0), `${p}seq`),
        target: name(at(f, 1), `${p}target`),
        targetHost: host(at(f, 2), `${p}targetHost`),
        targetPort: port(at(f, 3), `${p}targetPort`),
        source: name(at(f, 4), `${p}source`),
        sourceHost: host(at(f, 5), `${p}sourceHost`),
        sourcePort: port(at(f, 6), `${p}sourcePort`),
        wantNack: bool(at(f, 7), `${p}wantNack`),
      };
    }
    case MessageType.Ack:
      return { type: 'ack', seq: u32(at(f, 0), `${prefix}ack.seq`) };
    case MessageType.Nack:
      return { type: 'nack', seq: u32(at(f, 0), `${prefix}nack.seq`) };
    case MessageType.Alive: {
      const p = `${prefix}alive.`;
      return {
        type: 'alive',
        name: name(at(f, 0), `${p}name`),
        host: host(at(f, 1), `${p}host`),
        port: port(at(f, 2), `${p}port`),
        incarnation: incarnation(at(f, 3), `${p}incarnation`),
      };
    }
    case MessageType.Suspect:
    case MessageType.Dead: {
      const type = code === MessageType.Suspect ? 'suspect' : 'dead';
      const p = `${prefix}${type}.`;
      return {
        type,
        name: name(at(f, 0), `${p}name`),
        incarnation: incarnation(at(f, 1), `${p}incarnation`),
        from: name(at(f, 2), `${p}from`),
      };
    }
    case MessageType.Leave:
      return {
        type: 'leave',
        name: name(at(f, 0), `${prefix}leave.name`),
        incarnation: incarnation(at(f, 1), `${prefix}leave.incarnation`),
      };
    default:
      throw new CodecError('unknown_type', `${prefix}type ${code} is not a gossip message`);
  }
}

/** One push-pull member, in wire order. */
export function memberFields(m: MemberState): unknown[] {
  return [m.name, m.host, m.port, m.incarnation, StatusCode[m.status]];
}

export function decodeMember(v: unknown, path: string): MemberState {
  const f = array(v, path);
  return {
    name: name(at(f, 0), `${path}.name`),
    host: host(at(f, 1), `${path}.host`),
    port: port(at(f, 2), `${path}.port`),
    incarnation: incarnation(at(f, 3), `${path}.incarnation`),
    status: status(at(f, 4), `${path}.status`),
  };
}

function status(v: unknown, path: string): MemberStatus {
  const code = intIn(v, path, STATUS_BY_CODE.length - 1);
  return STATUS_BY_CODE[code] as MemberStatus;
}

