import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LIMITS } from '../../protocol/limits.js';
import { MessageType, PROTOCOL_VERSION } from '../../protocol/messages.js';
import { KEY_BYTES } from '../../client/contract/key.js';

/**
 * The two layers the daemon puts around what the core produces, for datagrams and push-pull
 * payloads alike:
 *
 *   labelled  [version][15][label length u8][label][inner]       (omitted for the cluster "default")
 *   encrypted [version][13][12-byte nonce][AES-256-GCM ciphertext][16-byte tag]
 *
 * The label is outermost and in clear, so a packet from another cluster is recognised, and named
 * in the log, without trying any key. The envelope's additional authenticated data is its own two
 * header bytes followed by [label length][label] of the sender's cluster, whether or not the label
 * travelled, so a sealed packet cannot be replayed into a cluster with another label even when both
 * share a key. There is no key id: a receiver tries its keys, primary first, and the keyring is
 * bounded (DAEMON_LIMITS.keyringKeysMax), which bounds the work a forged envelope can cause.
 */

export { KEY_BYTES };
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const HEADER_BYTES = 2;
const LABEL_HEADER_BYTES = 3;
export const ENVELOPE_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

/** The cluster an unlabelled packet belongs to, and so the one label never sent. */
export const DEFAULT_CLUSTER = 'default';

/** Why bytes failed to unwrap; each is a label of swimd_packets_rejected_total. */
export type UnwrapReason = 'empty' | 'malformed' | 'bad_version' | 'bad_label';

export type Peeled =
  | { readonly ok: true; readonly label: string; readonly inner: Uint8Array }
  | { readonly ok: false; readonly reason: UnwrapReason };

function labelBytes(label: string): Buffer {
  const b = Buffer.from(label, 'utf8');
  if (b.length === 0 || b.length > LIMITS.clusterLabelBytesMax) {
    throw new RangeError(`cluster label must be 1-${LIMITS.clusterLabelBytesMax} bytes, got ${b.length}`);
  }
  return b;
}

/** Bytes addLabel() adds for this label. */
export function labelOverhead(label: string): number {
  return label === DEFAULT_CLUSTER ? 0 : LABEL_HEADER_BYTES + labelBytes(label).length;
}

export function addLabel(label: string, inner: Uint8Array): Uint8Array {
  if (label === DEFAULT_CLUSTER) return inner;
  const l = labelBytes(label);
  const out = new Uint8Array(LABEL_HEADER_BYTES + l.length + inner.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = MessageType.Labelled;
  out[2] = l.length;
  out.set(l, LABEL_HEADER_BYTES);
  out.set(inner, LABEL_HEADER_BYTES + l.length);
  return out;
}

/** Checks the version byte, then takes off the label header if there is one. */
export function peelLabel(bytes: Uint8Array): Peeled {
  const head = checkHeader(bytes);
  if (head !== null) return { ok: false, reason: head };
  if (bytes[1] !== MessageType.Labelled) return { ok: true, label: DEFAULT_CLUSTER, inner: bytes };
  const len = bytes[2];
  if (len === undefined || len === 0 || len > LIMITS.clusterLabelBytesMax || bytes.length < LABEL_HEADER_BYTES + len) {
    return { ok: false, reason: 'bad_label' };
  }
  const inner = bytes.subarray(LABEL_HEADER_BYTES + len);
  // One label per packet: a nested one is a forgery, not something a sender produces.
  if (checkHeader(inner) !== null || inner[1] === MessageType.Labelled) return { ok: false, reason: 'bad_label' };
  const label = Buffer.from(bytes.buffer, bytes.byteOffset + LABEL_HEADER_BYTES, len).toString('utf8');
  return { ok: true, label, inner };
}

/** The version byte every packet starts with; null when it is there and right. */
export function checkHeader(bytes: Uint8Array): UnwrapReason | null {
  if (bytes.length === 0) return 'empty';
  if (bytes[0] !== PROTOCOL_VERSION) return 'bad_version';
  if (bytes.length < HEADER_BYTES) return 'malformed';
  return null;
}

export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_BYTES && bytes[0] === PROTOCOL_VERSION && bytes[1] === MessageType.Encrypted;
}

function additionalData(label: string): Buffer {
  const l = labelBytes(label);
  return Buffer.concat([Buffer.from([PROTOCOL_VERSION, MessageType.Encrypted, l.length]), l]);
}

/** Encrypts `plain` under `key` for cluster `label`. The nonce is random unless a test supplies one. */
export function seal(key: Uint8Array, label: string, plain: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Uint8Array {
  if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes, got ${key.length}`);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes, got ${nonce.length}`);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(label));
  const body = cipher.update(plain);
  const last = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(ENVELOPE_OVERHEAD + plain.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = MessageType.Encrypted;
  out.set(nonce, HEADER_BYTES);
  out.set(body, HEADER_BYTES + NONCE_BYTES);
  out.set(last, HEADER_BYTES + NONCE_BYTES + body.length);
  out.set(tag, out.length - TAG_BYTES);
  return out;
}

/**
 * Decrypts an envelope with the first of `keys` that authenticates it; null when none does (wrong
 * key, other cluster, or any bit of header, nonce, ciphertext or tag changed).
 */
export function unseal(keys: readonly Uint8Array[], label: string, envelope: Uint8Array): Uint8Array | null {
  if (!isEnvelope(envelope) || envelope.length < ENVELOPE_OVERHEAD) return null;
  const nonce = envelope.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const body = envelope.subarray(HEADER_BYTES + NONCE_BYTES, envelope.length - TAG_BYTES);
  const tag = envelope.subarray(envelope.length - TAG_BYTES);
  const aad = additionalData(label);
  for (const key of keys) {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = decipher.update(body);
    try {
      const tail = decipher.final();
      return tail.length === 0 ? new Uint8Array(head) : new Uint8Array(Buffer.concat([head, tail]));
    } catch {
      // Authentication failed with this key; try the next.
    }
  }
  return null;
}
