import { createHash, randomBytes } from 'node:crypto';

/**
 * Gossip encryption keys as operators and the local API write them: standard base64 of KEY_BYTES
 * bytes, as `swimd keygen` prints them. The client checks a key before sending it to /v1/keyring;
 * the agent parses the same way.
 */

/** AES-256-GCM keys (daemon/security/envelope.ts seals with them). */
export const KEY_BYTES = 32;

export type KeyringErrorCode = 'bad_key' | 'not_installed' | 'primary' | 'full';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(readonly code: KeyringErrorCode, message: string) {
    super(message);
  }
}

/** Standard base64 of exactly KEY_BYTES (32) bytes, as `swimd keygen` prints it. */
const KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

/** Parses a key as written by an operator; the message never repeats the (possibly secret) text. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  if (!KEY_PATTERN.test(t)) {
    throw new KeyringError('bad_key', `expected a key: base64 of ${KEY_BYTES} bytes (44 characters, as printed by \`swimd keygen\`), got ${t.length} characters`);
  }
  const key = Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) throw new KeyringError('bad_key', `expected base64 of ${KEY_BYTES} bytes, got ${key.length} bytes`);
  return key;
}

/** A new random key, as `swimd keygen` prints it. */
export function generateKey(): string {
  return encodeKey(randomBytes(KEY_BYTES));
}

/** Bytes of SHA-256 a fingerprint shows: enough to tell keys apart, nothing of the key itself. */
export const FINGERPRINT_BYTES = 8;

/**
 * How the API and the CLI name a key without revealing it: hex of the first FINGERPRINT_BYTES bytes
 * of the SHA-256 of the raw key (`base64 -d | sha256sum | cut -c1-16` of the key as written).
 */
export function keyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest().subarray(0, FINGERPRINT_BYTES).toString('hex');
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}
