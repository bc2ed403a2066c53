import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DAEMON_LIMITS } from '../limits.js';
import { KEY_BYTES } from './envelope.js';

/**
 * The gossip keyring: one primary key that encrypts everything sent, and up to
 * DAEMON_LIMITS.keyringKeysMax keys in all, every one of which decrypts. Values are immutable: an
 * operation returns a new keyring, so the transport never sees one half-changed.
 */

export type KeyringErrorCode = 'bad_key' | 'not_installed' | 'primary' | 'full';

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(readonly code: KeyringErrorCode, message: string) {
    super(message);
  }
}

/** Standard base64 of exactly 32 bytes, as `swimd keygen` prints it. */
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

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface KeyView {
  readonly key: string;
  readonly primary: boolean;
}

export class Keyring {
  /** keys[0] is the primary; the rest in the order installed. */
  private constructor(readonly keys: readonly Buffer[]) {}

  /** A keyring from a primary and secondaries; duplicates collapse, too many keys throw. */
  static of(primary: Buffer, secondaries: readonly Buffer[] = []): Keyring {
    const keys: Buffer[] = [primary];
    for (const k of secondaries) if (!keys.some((have) => same(have, k))) keys.push(k);
    if (keys.length > DAEMON_LIMITS.keyringKeysMax) {
      throw new KeyringError('full', `a keyring holds at most ${DAEMON_LIMITS.keyringKeysMax} keys, got ${keys.length}`);
    }
    return new Keyring(keys);
  }

  get primary(): Buffer {
    return this.keys[0] as Buffer;
  }

  has(key: Uint8Array): boolean {
    return this.keys.some((k) => same(k, key));
  }

  isPrimary(key: Uint8Array): boolean {
    return same(this.primary, key);
  }

  equals(other: Keyring): boolean {
    return this.keys.length === other.keys.length && this.keys.every((k, i) => same(k, other.keys[i] as Buffer));
  }

  /** Adds a key that decrypts; installing a key already present changes nothing. */
  install(key: Buffer): Keyring {
    if (this.has(key)) return this;
    if (this.keys.length >= DAEMON_LIMITS.keyringKeysMax) {
      throw new KeyringError('full', `the keyring already holds ${this.keys.length} keys, the most it may; remove one first`);
    }
    return new Keyring([...this.keys, key]);
  }

  /** Makes an installed key the primary; the old primary stays installed and keeps decrypting. */
  use(key: Buffer): Keyring {
    const i = this.keys.findIndex((k) => same(k, key));
    if (i < 0) throw new KeyringError('not_installed', 'that key is not installed; install it first (on every agent)');
    if (i === 0) return this;
    return new Keyring([this.keys[i] as Buffer, ...this.keys.filter((_, j) => j !== i)]);
  }

  /** Removes a secondary key; the primary cannot be removed, since everything sent is sealed with it. */
  remove(key: Buffer): Keyring {
    const i = this.keys.findIndex((k) => same(k, key));
    if (i < 0) throw new KeyringError('not_installed', 'that key is not installed');
    if (i === 0) throw new KeyringError('primary', 'that key is the primary key; make another key primary (keyring use) before removing it');
    return new Keyring(this.keys.filter((_, j) => j !== i));
  }

  view(): KeyView[] {
    return this.keys.map((k, i) => ({ key: encodeKey(k), primary: i === 0 }));
  }
}
