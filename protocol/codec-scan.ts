/**
 * A structural pre-scan of untrusted msgpack, run before msgpackr sees the bytes.
 *
 * msgpackr is a general-purpose decoder: it recurses once per nesting level, it understands extension
 * types (records, structured clone, typed arrays, RegExp, Error, bundled strings) and it maps invalid
 * UTF-8 to U+FFFD. None of that belongs on the wire, and some of it is dangerous with hostile input.
 * The scan walks the encoding once without allocating and admits only the plain subset the protocol
 * uses — nil, booleans, integers, floats, str (valid UTF-8), bin, arrays and maps — with every length
 * checked against the bytes that remain and nesting bounded, so that the decode that follows is
 * bounded in both stack and memory by the input's length.
 */

import { isUtf8 } from 'node:buffer';
import type { DecodeErrorReason } from './messages.js';

/** Internal failure carried up to the codec's single catch, which turns it into a DecodeError. */
export class CodecError extends Error {
  constructor(
    readonly reason: DecodeErrorReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'CodecError';
  }
}

function malformed(detail: string): CodecError {
  return new CodecError('malformed', detail);
}

/**
 * Checks that `bytes[start..end)` holds exactly one msgpack value of the admitted subset, nested at
 * most `maxDepth` containers deep (the outermost container is depth 1). Throws CodecError otherwise.
 */
export function scanMsgpack(bytes: Uint8Array, start: number, end: number, maxDepth: number): void {
  if (start >= end) throw malformed('missing msgpack body');
  const scanner = new Scanner(bytes, end, maxDepth);
  const stop = scanner.value(start, 0);
  if (stop !== end) throw malformed(`${end - stop} trailing bytes after the msgpack body`);
}

class Scanner {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly end: number,
    private readonly maxDepth: number,
  ) {}

  /** Returns the offset just past the value that starts at `pos`. */
  value(pos: number, depth: number): number {
    const token = this.byte(pos);
    const p = pos + 1;
    if (token <= 0x7f || token >= 0xe0) return p; // positive and negative fixint
    if (token <= 0x8f) return this.map(p, token & 0x0f, depth);
    if (token <= 0x9f) return this.array(p, token & 0x0f, depth);
    if (token <= 0xbf) return this.str(p, token & 0x1f);
    switch (token) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        return p;
      case 0xc4:
        return this.blob(p + 1, this.uint(p, 1));
      case 0xc5:
        return this.blob(p + 2, this.uint(p, 2));
      case 0xc6:
        return this.blob(p + 4, this.uint(p, 4));
      case 0xca:
        return this.skip(p, 4);
      case 0xcb:
        return this.skip(p, 8);
      case 0xcc:
      case 0xd0:
        return this.skip(p, 1);
      case 0xcd:
      case 0xd1:
        return this.skip(p, 2);
      case 0xce:
      case 0xd2:
        return this.skip(p, 4);
      case 0xcf:
      case 0xd3:
        return this.skip(p, 8);
      case 0xd9:
        return this.str(p + 1, this.uint(p, 1));
      case 0xda:
        return this.str(p + 2, this.uint(p, 2));
      case 0xdb:
        return this.str(p + 4, this.uint(p, 4));
      case 0xdc:
        return this.array(p + 2, this.uint(p, 2), depth);
      case 0xdd:
        return this.array(p + 4, this.uint(p, 4), depth);
      case 0xde:
        return this.map(p + 2, this.uint(p, 2), depth);
      case 0xdf:
        return this.map(p + 4, this.uint(p, 4), depth);
      case 0xc1:
        throw malformed(`reserved msgpack byte 0xc1 at offset ${pos}`);
      default:
        // 0xc7–0xc9 and 0xd4–0xd8: extension types carry nothing the protocol defines.
        throw malformed(`msgpack extension type at offset ${pos}`);
    }
  }

  private array(pos: number, count: number, depth: number): number {
    this.enter(depth, pos);
    // Every element takes at least one byte: a count beyond what remains can never be satisfied.
    if (count > this.end - pos) throw malformed(`array claims ${count} elements, ${this.end - pos} bytes remain`);
    let p = pos;
    for (let i = 0; i < count; i++) p = this.value(p, depth + 1);
    return p;
  }

  private map(pos: number, count: number, depth: number): number {
    this.enter(depth, pos);
    if (count > (this.end - pos) / 2) throw malformed(`map claims ${count} entries, ${this.end - pos} bytes remain`);
    let p = pos;
    for (let i = 0; i < count; i++) {
      p = this.value(this.key(p, depth + 1), depth + 1);
    }
    return p;
  }

  /**
   * Map keys become object property names, which msgpackr refuses for containers and bin; refuse
   * them here so that everything msgpackr is handed decodes.
   */
  private key(pos: number, depth: number): number {
    const token = this.byte(pos);
    const container = (token >= 0x80 && token <= 0x9f) || (token >= 0xdc && token <= 0xdf);
    const bin = token >= 0xc4 && token <= 0xc6;
    if (container || bin) throw malformed(`map key at offset ${pos} is not a string, number, boolean or nil`);
    return this.value(pos, depth);
  }

  private str(pos: number, length: number): number {
    const stop = this.blob(pos, length);
    // Names and hosts are nearly always ASCII; a byte loop beats a subarray and a native call.
    let i = pos;
    while (i < stop && (this.bytes[i] as number) < 0x80) i++;
    if (i < stop && !isUtf8(this.bytes.subarray(i, stop))) {
      throw malformed(`string at offset ${pos} is not valid UTF-8`);
    }
    return stop;
  }

  private blob(pos: number, length: number): number {
    if (length > this.end - pos) throw malformed(`length ${length} at offset ${pos} runs past the end`);
    return pos + length;
  }

  private skip(pos: number, length: number): number {
    if (length > this.end - pos) throw malformed(`truncated number at offset ${pos}`);
    return pos + length;
  }

  private enter(depth: number, pos: number): void {
    if (depth + 1 > this.maxDepth) throw malformed(`nesting deeper than ${this.maxDepth} at offset ${pos}`);
  }

  private byte(pos: number): number {
    if (pos >= this.end) throw malformed('truncated msgpack value');
    return this.bytes[pos] as number;
  }

  /** Big-endian unsigned integer of `size` bytes at `pos`. */
  private uint(pos: number, size: number): number {
    if (size > this.end - pos) throw malformed(`truncated length at offset ${pos}`);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + (this.bytes[pos + i] as number);
    return n;
  }
}
