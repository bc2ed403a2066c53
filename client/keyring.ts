import type { KeyringKey } from './contract/json.js';
import { asArray, asObject, bool, str } from './decode.js';

/** Answers of the /v1/keyring routes, decoded from untrusted JSON. */

export function decodeKeyring(v: unknown): KeyringKey[] {
  const o = asObject(v, 'keyring');
  return asArray(o['keys'], 'keyring.keys').map((k, i) => {
    const what = `keyring.keys[${i}]`;
    const e = asObject(k, what);
    return { key: str(e, 'key', what), primary: bool(e, 'primary', what) };
  });
}
