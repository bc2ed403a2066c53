import { timingSafeEqual } from 'node:crypto';
import type { KeyringKey } from '../../client/contract/json.js';
import { keyFingerprint, KeyringError } from '../../client/contract/key.js';
import { DAEMON_LIMITS } from '../limits.js';

/**
 * The gossip keyring: one primary key that encrypts everything sent, and up to
 * DAEMON_LIMITS.keyringKeysMax keys in all, every one of which decrypts. Values are immutable: an
 * operation returns a new keyring, so the transport never sees one half-changed.
 */

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
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

  view(): KeyringKey[] {
    return this.keys.map((k, i) => ({ fingerprint: keyFingerprint(k), primary: i === 0 }));
  }
}
