/**
 * Checks of decoded values, shared by the wire mapping (codec-fields.ts, codec-service.ts) and the
 * catalog's checks of local specs (catalog.ts). A failed wire check throws a CodecError naming the
 * field's path and what it held.
 */
import { CodecError } from './codec-scan.js';

// Paths in error details are a prefix ("parts[3].") plus a literal field name ("ping.seq"), joined
// only when a check fails: building them eagerly for every field would dominate decode time.
export function badField(prefix: string, field: string, expected: string, got: unknown): CodecError {
  return new CodecError('bad_field', `${prefix}${field}: expected ${expected}, got ${describe(got)}`);
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
export function at(fields: readonly unknown[], i: number): unknown {
  return i < fields.length ? fields[i] : undefined;
}

export function intIn(v: unknown, prefix: string, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw badField(prefix, field, `integer in [0, ${max}]`, v);
  }
  return v === 0 ? 0 : v; // a float -0 passes the checks above; keep the value canonical
}

export function bool(v: unknown, prefix: string, field: string): boolean {
  if (typeof v !== 'boolean') throw badField(prefix, field, 'boolean', v);
  return v;
}

/** What is wrong with `v` as a string of at most `maxBytes` UTF-8 bytes, or undefined when nothing is. */
export function textFault(v: unknown, maxBytes: number, allowEmpty: boolean): 'not_string' | 'empty' | 'too_long' | undefined {
  if (typeof v !== 'string') return 'not_string';
  if (!allowEmpty && v.length === 0) return 'empty';
  // A string never has fewer UTF-8 bytes than UTF-16 units, so short ones skip the byte count.
  if (v.length * 3 > maxBytes && Buffer.byteLength(v, 'utf8') > maxBytes) return 'too_long';
  return undefined;
}

/** A string of at most `maxBytes` UTF-8 bytes; `what` names it in the error ("name", "host", "string"). */
export function text(v: unknown, prefix: string, field: string, maxBytes: number, what: string, allowEmpty = false): string {
  if (textFault(v, maxBytes, allowEmpty) !== undefined) {
    throw badField(prefix, field, `${allowEmpty ? '' : 'non-empty '}${what} of at most ${maxBytes} UTF-8 bytes`, v);
  }
  return v as string;
}

export function array(v: unknown, prefix: string, field: string): readonly unknown[] {
  if (!Array.isArray(v)) throw badField(prefix, field, 'array', v);
  return v;
}

/** An array of at most `max` items. */
export function list(v: unknown, prefix: string, field: string, max: number): readonly unknown[] {
  const a = array(v, prefix, field);
  if (a.length > max) throw new CodecError('too_many', `${prefix}${field}: ${a.length} items exceed ${max}`);
  return a;
}
