import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../config/config.js';
import type { KeyringKey } from '../../client/contract/json.js';
import { encodeKey, KeyringError, parseKey } from '../../client/contract/key.js';
import { Keyring } from './keyring.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { Logger } from '../log.js';
import { writeAtomic } from '../store/persistence.js';

/**
 * Where the keyring comes from and where it is kept.
 *
 * encrypt_key_file turns encryption on and seeds the keyring on first start: one key per line, the
 * first the primary, blank lines and lines starting with # ignored. From then on the keyring lives
 * in <data_dir>/keyring.json (mode 0600, written atomically), which takes precedence over the key
 * file, so keys installed, promoted or removed at run time survive a restart. Deleting keyring.json
 * makes the next start seed from the key file again.
 */

const KEYRING_FILE = 'keyring.json';
const FORMAT = 1;

/** Reads encrypt_key_file; every problem is a ConfigError naming the file. */
export function readKeyFile(path: string, log: Logger): Keyring {
  const fail = (reason: string): never => {
    throw new ConfigError(`encrypt_key_file ${path}: ${reason}`);
  };
  let text = '';
  try {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) fail('not a regular file');
      if (st.size > DAEMON_LIMITS.keyFileBytesMax) fail(`file is ${st.size} bytes, larger than the ${DAEMON_LIMITS.keyFileBytesMax}-byte limit`);
      // Anyone who can read the key can read and forge all gossip.
      if ((st.mode & 0o077) !== 0) {
        log.warn('encrypt_key_file is accessible by group or others; restrict it with chmod 600', {
          path, mode: (st.mode & 0o777).toString(8).padStart(4, '0'),
        });
      }
      const buf = Buffer.alloc(st.size);
      const n = readSync(fd, buf, 0, st.size, 0);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EPERM') fail(permissionDenied(path));
    fail(`cannot read: ${err.code ?? err.message}`);
  }
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) fail('no key in the file; generate one with `swimd keygen`');
  try {
    const keys = lines.map((l, i) => {
      try {
        return parseKey(l);
      } catch (err) {
        throw new KeyringError('bad_key', `key ${i + 1}: ${(err as Error).message}`);
      }
    });
    return Keyring.of(keys[0] as Buffer, keys.slice(1));
  } catch (e) {
    if (e instanceof KeyringError) return fail(e.message);
    throw e;
  }
}

/** Whom the agent runs as, and who may read the file, so that the fix is plain from the message alone. */
function permissionDenied(path: string): string {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  let user = `uid ${uid}`;
  try {
    user = `${userInfo().username} (uid ${uid}, gid ${gid})`;
  } catch {
    // No passwd entry for this uid: the number is all there is.
  }
  let file = '';
  try {
    const st = statSync(path);
    file = `; the file is owned by uid ${st.uid}, gid ${st.gid}, mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch {
    file = '; a directory on the way to it cannot be searched';
  }
  const name = user.split(' ')[0] ?? user;
  return `permission denied: the agent runs as user ${user} and cannot read the key file${file}. ` +
    `Make it readable by that user only, e.g. \`chown ${name === 'uid' ? uid : name}: ${path} && chmod 600 ${path}\``;
}

/** The running keyring: changes are persisted first, then take effect, one at a time. */
export class KeyringStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly dir: string, private ring: Keyring) {}

  /**
   * Loads <dir>/keyring.json, or creates it from `seed` (the key file) when there is none. A file
   * that exists but cannot be used stops the start: falling back to the key file could silently
   * bring back a key that was rotated out.
   */
  static async open(dir: string, seed: Keyring, log: Logger): Promise<KeyringStore> {
    const path = join(dir, KEYRING_FILE);
    const persisted = await load(path);
    if (persisted === null) {
      await save(dir, seed);
      log.info('keyring created from encrypt_key_file', { path, keys: seed.keys.length });
      return new KeyringStore(dir, seed);
    }
    if (!persisted.has(seed.primary)) {
      log.warn('the keyring in data_dir takes precedence over encrypt_key_file, whose primary key it does not hold; update the key file after a rotation', { path });
    }
    log.info('keyring loaded', { path, keys: persisted.keys.length });
    return new KeyringStore(dir, persisted);
  }

  get current(): Keyring {
    return this.ring;
  }

  list(): KeyringKey[] {
    return this.ring.view();
  }

  install(key: string): Promise<KeyringKey[]> {
    return this.change((r) => r.install(parseKey(key)));
  }

  use(key: string): Promise<KeyringKey[]> {
    return this.change((r) => r.use(parseKey(key)));
  }

  remove(key: string): Promise<KeyringKey[]> {
    return this.change((r) => r.remove(parseKey(key)));
  }

  private change(op: (r: Keyring) => Keyring): Promise<KeyringKey[]> {
    const run = async (): Promise<KeyringKey[]> => {
      const next = op(this.ring);
      if (!next.equals(this.ring)) {
        await save(this.dir, next);
        this.ring = next;
      }
      return this.ring.view();
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

async function save(dir: string, ring: Keyring): Promise<void> {
  const [primary, ...secondary] = ring.keys.map(encodeKey);
  await writeAtomic(dir, KEYRING_FILE, JSON.stringify({ format: FORMAT, primary, secondary }) + '\n');
}

async function load(path: string): Promise<Keyring | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return null;
    throw unusable(path, err.code ?? err.message);
  }
  if (buf.length > DAEMON_LIMITS.keyringFileBytesMax) throw unusable(path, `${buf.length} bytes, larger than ${DAEMON_LIMITS.keyringFileBytesMax}`);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw unusable(path, 'invalid JSON');
  }
  const o = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const { primary, secondary } = o;
  if (o['format'] !== FORMAT || typeof primary !== 'string' || !Array.isArray(secondary) || !secondary.every((s) => typeof s === 'string')) {
    throw unusable(path, 'unexpected content');
  }
  try {
    return Keyring.of(parseKey(primary), (secondary as string[]).map(parseKey));
  } catch (e) {
    if (e instanceof KeyringError) throw unusable(path, e.message);
    throw e;
  }
}

function unusable(path: string, reason: string): Error {
  return new Error(`keyring file ${path} is unusable (${reason}); fix it, or remove it to seed the keyring from encrypt_key_file again`);
}
