/**
 * A value in a registration (API body, config file entry, saved state) that is wrong. `field` is a
 * path into the registration ("check.http", "tags[2]") so each caller can say where it came from.
 */
export class FieldError extends Error {
  override readonly name = 'FieldError';

  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** A short description of an untrusted value for error messages (never the whole value). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? `${typeof v} ${String(v)}` : typeof v;
}
