/**
 * The wire codec. A datagram is [PROTOCOL_VERSION][type][msgpack body]; the body of a single message
 * is the array of its fields (codec-fields.ts), and the body of a compound (type 9) is an array of
 * parts, each `[typeCode, fields]`, so a whole datagram is one msgpack decode. A push-pull state
 * (type 10) has the same header and travels only over a stream.
 *
 * Decoding never throws: every failure, including anything unforeseen inside msgpackr, comes back as
 * a DecodeError whose reason is a metrics label. Encoding validates the message with the same checks
 * the decoder applies and throws a RangeError on an invalid one, because a packet that every peer
 * would drop is a bug to surface at the sender, not a loss to discover later.
 *
 * The wire uses plain msgpack only: no record extension (it writes definitions that a lossy
 * transport can separate from their uses), no sequential mode, no extension types at all.
 */

import { cursorFields, decodeCursor, decodeServiceFields, serviceFields } from './codec-service.js';
import { Packr, Unpackr, type Options } from 'msgpackr';
import { LIMITS } from './limits.js';
import { CodecError, scanMsgpack } from './codec-scan.js';
import { array, bool, intIn, list } from './codec-check.js';
import { decodeSplitFields, splitFields } from './codec-split.js';
import {
  decodeGossipFields,
  decodeMember,
  gossipCode,
  gossipFields,
  isGossipCode,
  memberFields,
  name,
} from './codec-fields.js';
import {
  MessageType,
  PROTOCOL_VERSION,
  type CompoundMsg,
  type DecodeResult,
  type GossipMsg,
  type PacketMsg,
  type PushPullMsg,
  type StateDigest,
} from './messages.js';

const MSGPACK_OPTIONS: Options = {
  useRecords: false,
  sequential: false,
  structuredClone: false,
  bundleStrings: false,
  moreTypes: false,
  mapsAsObjects: true,
  // Integers beyond 2^53 lose precision as numbers, but every integer field is bounded far below
  // that and is rejected anyway, so nothing a peer sends can surface as a bigint.
  int64AsType: 'number',
};

// Two packers: a push-pull state can be megabytes, and msgpackr keeps its largest output buffer
// for the next call, so streams get their own packer and datagram encoding stays small.
const datagramPackr = new Packr(MSGPACK_OPTIONS);
const streamPackr = new Packr(MSGPACK_OPTIONS);
const unpackr = new Unpackr(MSGPACK_OPTIONS);

const HEADER_BYTES = 2;

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * The msgpack encoding of `[typeCode, fields]` for one gossip message: a compound part. The result
 * is an exact-size copy that shares no memory with the packer, so callers may cache it.
 */
export function encodePart(msg: GossipMsg): Uint8Array {
  const code = checkedGossipCode(msg);
  const fields = gossipFields(msg);
  checkEncodable(() => decodeGossipFields(code, fields, ''));
  return new Uint8Array(datagramPackr.pack([code, fields])); // Buffer#slice would share memory
}

/** Bytes a compound of `partCount` parts adds on top of the parts themselves. */
export function compoundOverhead(partCount: number): number {
  return HEADER_BYTES + arrayHeaderBytes(partCount);
}

/** A compound datagram from parts made by encodePart, concatenated without re-encoding. */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > LIMITS.compoundPartsMax) {
    throw new RangeError(`cannot encode compound: ${parts.length} parts exceed ${LIMITS.compoundPartsMax}`);
  }
  let length = compoundOverhead(parts.length);
  for (const part of parts) length += part.length;
  if (length > LIMITS.packetBytesMax) {
    throw new RangeError(`cannot encode compound: ${length} bytes exceed ${LIMITS.packetBytesMax}`);
  }
  const out = new Uint8Array(length);
  out[0] = PROTOCOL_VERSION;
  out[1] = MessageType.Compound;
  let pos = writeArrayHeader(out, HEADER_BYTES, parts.length);
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** One datagram: a single message, or a compound of several. */
export function encodePacket(msg: PacketMsg): Uint8Array {
  if (msg.type === 'compound') return encodeCompound(msg.parts.map(encodePart));
  const code = checkedGossipCode(msg);
  const fields = gossipFields(msg);
  checkEncodable(() => decodeGossipFields(code, fields, ''));
  return withHeader(code, datagramPackr.pack(fields), LIMITS.packetBytesMax);
}

/**
 * A push-pull state for a stream: header plus `[join, source, members, services, pageFrom,
 * moreAfter, splits, digest, inSync]`; trailing absent fields are left out (an absent field before
 * a present one is nil), so a state without paging, splits or digests is what older agents send.
 */
export function encodePushPull(msg: PushPullMsg): Uint8Array {
  const body: unknown[] = [msg.join, msg.source, msg.members.map(memberFields), msg.services.map(serviceFields)];
  const splits = msg.splits ?? [];
  const inSync = msg.inSync === true;
  const tail: unknown[] = [
    cursorFields(msg.pageFrom), cursorFields(msg.moreAfter), splits.length > 0 ? splits.map(splitFields) : null,
    msg.digest === undefined ? null : [msg.digest.a, msg.digest.b], inSync ? true : null,
  ];
  while (tail.length > 0 && tail[tail.length - 1] === null) tail.pop();
  body.push(...tail);
  checkEncodable(() => decodePushPullBody(body));
  return withHeader(MessageType.PushPull, streamPackr.pack(body), LIMITS.streamBytesMax);
}

function checkedGossipCode(msg: GossipMsg): number {
  const code = gossipCode(msg) as number | undefined;
  // Reached only when a caller bypasses the types, e.g. a compound nested in a compound.
  if (code === undefined) throw new RangeError(`cannot encode message of type ${String(msg.type)} here`);
  return code;
}

function checkEncodable(check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (e instanceof CodecError) throw new RangeError(`cannot encode invalid message: ${e.detail}`);
    throw e;
  }
}

function withHeader(code: number, body: Uint8Array, max: number): Uint8Array {
  const length = HEADER_BYTES + body.length;
  if (length > max) throw new RangeError(`cannot encode: ${length} bytes exceed ${max}`);
  const out = new Uint8Array(length);
  out[0] = PROTOCOL_VERSION;
  out[1] = code;
  out.set(body, HEADER_BYTES);
  return out;
}

function arrayHeaderBytes(count: number): number {
  if (count < 16) return 1;
  if (count <= 0xffff) return 3;
  return 5;
}

function writeArrayHeader(out: Uint8Array, pos: number, count: number): number {
  if (count < 16) {
    out[pos] = 0x90 | count;
    return pos + 1;
  }
  out[pos] = 0xdc;
  out[pos + 1] = count >>> 8;
  out[pos + 2] = count & 0xff;
  return pos + 3; // counts above 0xffff are refused before this point (compoundPartsMax)
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decodes one datagram. Never throws. */
export function decodePacket(bytes: Uint8Array): DecodeResult<PacketMsg> {
  return guarded(() => {
    const code = readHeader(bytes, LIMITS.packetBytesMax);
    if (code === MessageType.Compound) return decodeCompound(decodeBody(bytes));
    if (isGossipCode(code)) return decodeGossipFields(code, array(decodeBody(bytes), '', 'body'), '');
    if (code === MessageType.PushPull) {
      throw new CodecError('unknown_type', 'push-pull (type 10) is carried only over a stream');
    }
    throw new CodecError('unknown_type', `message type ${code}`);
  });
}

/** Decodes one push-pull state read from a stream. Never throws. */
export function decodePushPull(bytes: Uint8Array): DecodeResult<PushPullMsg> {
  return guarded(() => {
    const code = readHeader(bytes, LIMITS.streamBytesMax);
    if (code !== MessageType.PushPull) {
      throw new CodecError('unknown_type', `message type ${code} where a push-pull state was expected`);
    }
    return decodePushPullBody(decodeBody(bytes));
  });
}

function guarded<T>(decode: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof CodecError) return { ok: false, reason: e.reason, detail: e.detail };
    // The pre-scan should leave msgpackr nothing to object to; if it still does, it is bad input.
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, reason: 'malformed', detail: `msgpack: ${detail.slice(0, 200)}` };
  }
}

/** Checks size, version and presence of a type byte; returns the type code. */
function readHeader(bytes: Uint8Array, max: number): number {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('malformed', 'input is not a byte array');
  if (bytes.length === 0) throw new CodecError('empty', 'no bytes');
  if (bytes.length > max) throw new CodecError('too_large', `${bytes.length} bytes exceed ${max}`);
  const version = bytes[0] as number;
  if (version !== PROTOCOL_VERSION) {
    throw new CodecError('bad_version', `version ${version}, this agent speaks ${PROTOCOL_VERSION}`);
  }
  if (bytes.length < HEADER_BYTES) throw new CodecError('malformed', 'truncated header: no type byte');
  return bytes[1] as number;
}

/** The msgpack body after the header, structurally checked first, as an untrusted value. */
function decodeBody(bytes: Uint8Array): unknown {
  scanMsgpack(bytes, HEADER_BYTES, bytes.length, LIMITS.decodeDepthMax);
  const value: unknown = unpackr.unpack(bytes.subarray(HEADER_BYTES));
  return value;
}

// Error-path prefixes for compound parts, built once rather than per part decoded.
const PART_PREFIXES: readonly string[] = Array.from({ length: LIMITS.compoundPartsMax }, (_, i) => `parts[${i}].`);

function decodeCompound(body: unknown): CompoundMsg {
  const raw = array(body, '', 'compound');
  if (raw.length > LIMITS.compoundPartsMax) {
    throw new CodecError('too_many', `compound of ${raw.length} parts exceeds ${LIMITS.compoundPartsMax}`);
  }
  const parts: GossipMsg[] = [];
  for (let i = 0; i < raw.length; i++) {
    const prefix = PART_PREFIXES[i] as string; // i < compoundPartsMax, checked above
    const part = array(raw[i], prefix, 'part');
    const code = part[0];
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xff) {
      throw new CodecError('bad_field', `${prefix}type: expected a message type code in [0, 255]`);
    }
    if (code === MessageType.Compound) throw new CodecError('bad_field', `${prefix}part: compound inside a compound`);
    if (code === MessageType.PushPull) throw new CodecError('bad_field', `${prefix}part: push-pull inside a compound`);
    // Types this agent does not know come from newer agents: skip them, keep the rest.
    if (!isGossipCode(code)) continue;
    parts.push(decodeGossipFields(code, array(part[1], prefix, 'fields'), prefix));
  }
  return { type: 'compound', parts };
}

function decodePushPullBody(body: unknown): PushPullMsg {
  const f = array(body, '', 'push-pull');
  const join = bool(f[0], '', 'push-pull.join');
  const source = name(f[1], '', 'push-pull.source');
  const raw = array(f[2], '', 'push-pull.members');
  if (raw.length > LIMITS.pushPullMembersMax) {
    throw new CodecError('too_many', `${raw.length} members exceed ${LIMITS.pushPullMembersMax}`);
  }
  const members = raw.map((m, i) => decodeMember(m, `push-pull.members[${i}]`));
  // Appended field: an older agent sends none.
  const rawServices = f.length > 3 ? array(f[3], '', 'push-pull.services') : [];
  if (rawServices.length > LIMITS.servicesMax) {
    throw new CodecError('too_many', `${rawServices.length} services exceed ${LIMITS.servicesMax}`);
  }
  const services = rawServices.map((e, i) => {
    const prefix = `push-pull.services[${i}].`;
    return decodeServiceFields(array(e, prefix, 'entry'), prefix);
  });
  // Appended fields: paging cursors, absent from older agents (and nil when unused).
  const pageFrom = decodeCursor(f[4], '', 'push-pull.pageFrom');
  const moreAfter = decodeCursor(f[5], '', 'push-pull.moreAfter');
  // Appended field: the sender's splits, absent from older agents.
  const rawSplits = f.length > 6 && f[6] !== null ? list(f[6], '', 'push-pull.splits', LIMITS.splitsMax) : [];
  const splits = rawSplits.map((e, i) => {
    const prefix = `push-pull.splits[${i}].`;
    return decodeSplitFields(array(e, prefix, 'split'), prefix);
  });
  // Appended fields: a periodic request's digest, and a reply's "in sync"; absent from older agents.
  const digest = decodeDigest(f[7]);
  const inSync = f.length > 8 && f[8] !== null ? bool(f[8], '', 'push-pull.inSync') : false;
  // An in-sync reply stands for the state it leaves out: one that carries some is malformed.
  if (inSync && (members.length > 0 || services.length > 0 || splits.length > 0)) {
    throw new CodecError('bad_field', 'push-pull.inSync: an in-sync reply carries no state');
  }
  const msg: PushPullMsg = { type: 'push-pull', join, source, members, services, ...(splits.length === 0 ? {} : { splits }) };
  if (pageFrom === undefined && moreAfter === undefined && digest === undefined && !inSync) return msg;
  return {
    ...msg,
    ...(pageFrom === undefined ? {} : { pageFrom }),
    ...(moreAfter === undefined ? {} : { moreAfter }),
    ...(digest === undefined ? {} : { digest }),
    ...(inSync ? { inSync } : {}),
  };
}

/** A state digest: two unsigned 32-bit lanes (absent or nil: none). */
function decodeDigest(v: unknown): StateDigest | undefined {
  if (v === null || v === undefined) return undefined;
  const f = array(v, '', 'push-pull.digest');
  if (f.length !== 2) throw new CodecError('bad_field', `push-pull.digest: expected 2 lanes, got ${f.length}`);
  return { a: intIn(f[0], '', 'push-pull.digest.a', 0xffff_ffff), b: intIn(f[1], '', 'push-pull.digest.b', 0xffff_ffff) };
}
