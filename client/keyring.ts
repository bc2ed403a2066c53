import type { KeyringKey } from './contract/json.js';
import { keyFingerprint, parseKey } from './contract/key.js';
import { asArray, asObject, badResponse, bool, str } from './decode.js';

/** Answers of the /v1/keyring routes, decoded from untrusted JSON. */

export function decodeKeyring(v: unknown): KeyringKey[] {
  const o = asObject(v, 'keyring');
  return asArray(o['keys'], 'keyring.keys').map((k, i) => {
    const what = `keyring.keys[${i}]`;
    const e = asObject(k, what);
    return { fingerprint: fingerprintOf(e, what), primary: bool(e, 'primary', what) };
  });
}

/** An agent from before fingerprints sends the key itself: it is reduced to its fingerprint here, never kept. */
function fingerprintOf(e: Readonly<Record<string, unknown>>, what: string): string {
  if (e['fingerprint'] !== undefined || typeof e['key'] !== 'string') return str(e, 'fingerprint', what);
  try {
    return keyFingerprint(parseKey(e['key']));
  } catch {
    throw badResponse(`${what}.key is not a key`);
  }
}
