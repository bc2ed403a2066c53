/**
 * Unit tests of the transport security layer: the envelope, the cluster label, the keyring and its
 * persistence, the channel's accept/refuse decisions, the rate-limited notices and the keyring API.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../cli/program.js';
import type { AgentApi } from '../daemon/api/agent-api.js';
import { keyringRoutes } from '../daemon/api/routes-keyring.js';
import { ApiServer } from '../daemon/api/server.js';
import { Client, isClientError } from '../client/index.js';
import { ConfigError } from '../daemon/config/config.js';
import { encodeKey, generateKey, keyFingerprint, KeyringError, parseKey } from '../client/contract/key.js';
import { Keyring } from '../daemon/security/keyring.js';
import { KeyringStore, readKeyFile } from '../daemon/security/keyring-store.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { Logger, silentLogger } from '../daemon/log.js';
import { Metrics } from '../daemon/metrics.js';
import { RejectNotices } from '../daemon/security/reject-notices.js';
import { type KeyringHolder, SecureChannel } from '../daemon/security/channel.js';
import {
  addLabel, DEFAULT_CLUSTER, ENVELOPE_OVERHEAD, NONCE_BYTES, peelLabel, seal, TAG_BYTES, unseal,
} from '../daemon/security/envelope.js';
import { encodePacket } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import { MessageType, PROTOCOL_VERSION } from '../protocol/messages.js';

type TestCtx = { after: (fn: () => void | Promise<void>) => void };

const PEER = { host: '10.0.0.9', port: 7946 };
const PING = encodePacket({ type: 'ping', seq: 7, target: 'b', source: 'a', sourceHost: '10.0.0.1', sourcePort: 7946 });

function key(): Buffer {
  return randomBytes(32);
}

function holder(ring: Keyring): KeyringHolder {
  return { current: ring };
}

interface Opts {
  cluster?: string;
  ring?: Keyring | null;
  verifyIncoming?: boolean;
  verifyOutgoing?: boolean;
  lines?: string[];
}

function channel(o: Opts = {}): { ch: SecureChannel; metrics: Metrics } {
  const metrics = new Metrics();
  const lines = o.lines ?? [];
  const ring = o.ring === undefined ? null : o.ring;
  const ch = new SecureChannel({
    cluster: o.cluster ?? DEFAULT_CLUSTER,
    keyring: ring === null ? null : holder(ring),
    verifyIncoming: o.verifyIncoming ?? true,
    verifyOutgoing: o.verifyOutgoing ?? true,
    metrics,
    log: new Logger('debug', { write: (l: string) => lines.push(l) }),
    clock: () => 0,
  });
  return { ch, metrics };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

function tempDir(t: TestCtx): string {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-sec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- Envelope ---------------------------------------------------------------------------------

test('envelope: seal and unseal round trip, layout [version][13][nonce][ciphertext][tag]', () => {
  const k = key();
  const nonce = randomBytes(NONCE_BYTES);
  const env = seal(k, 'prod', PING, nonce);
  assert.equal(env.length, PING.length + ENVELOPE_OVERHEAD);
  assert.equal(env[0], PROTOCOL_VERSION);
  assert.equal(env[1], MessageType.Encrypted);
  assert.deepEqual(env.subarray(2, 2 + NONCE_BYTES), new Uint8Array(nonce));
  assert.notDeepEqual(env.subarray(2 + NONCE_BYTES, 2 + NONCE_BYTES + PING.length), PING, 'body is not in clear');
  assert.deepEqual(unseal([k], 'prod', env), PING);
  // Empty payloads and large (stream-sized) ones too.
  assert.deepEqual(unseal([k], 'prod', seal(k, 'prod', new Uint8Array(0))), new Uint8Array(0));
  const big = randomBytes(1 << 20);
  assert.deepEqual(unseal([k], 'prod', seal(k, 'prod', big)), new Uint8Array(big));
  // Two seals of the same bytes differ (fresh nonce each time).
  assert.notDeepEqual(seal(k, 'prod', PING), seal(k, 'prod', PING));
});

test('envelope: any changed bit of header, nonce, ciphertext or tag, or another label (AAD), is refused', () => {
  const k = key();
  const env = seal(k, 'prod', PING);
  const regions: [string, number][] = [
    ['type byte (AAD)', 1],
    ['nonce', 2],
    ['nonce end', 2 + NONCE_BYTES - 1],
    ['ciphertext', 2 + NONCE_BYTES],
    ['ciphertext end', env.length - TAG_BYTES - 1],
    ['tag', env.length - TAG_BYTES],
    ['tag end', env.length - 1],
  ];
  for (const [what, at] of regions) assert.equal(unseal([k], 'prod', flip(env, at)), null, what);
  assert.equal(unseal([k], 'prod2', env), null, 'label bound as AAD');
  assert.equal(unseal([k], 'prod', env.subarray(0, env.length - 1)), null, 'truncated');
  assert.equal(unseal([k], 'prod', env.subarray(0, ENVELOPE_OVERHEAD - 1)), null, 'shorter than the overhead');
  assert.equal(unseal([key()], 'prod', env), null, 'wrong key');
  assert.deepEqual(unseal([key(), key(), k], 'prod', env), PING, 'any installed key decrypts');
});

test('label header: absent for "default", [version][15][len][label] otherwise; malformed ones refused', () => {
  assert.equal(addLabel(DEFAULT_CLUSTER, PING), PING);
  const labelled = addLabel('prod', PING);
  assert.deepEqual([...labelled.subarray(0, 3)], [PROTOCOL_VERSION, MessageType.Labelled, 4]);
  const p = peelLabel(labelled);
  assert.ok(p.ok);
  assert.equal(p.label, 'prod');
  assert.deepEqual(p.inner, PING);
  const plain = peelLabel(PING);
  assert.ok(plain.ok && plain.label === DEFAULT_CLUSTER);
  const bad = (bytes: number[], reason: string): void => {
    const r = peelLabel(Uint8Array.from(bytes));
    assert.ok(!r.ok, JSON.stringify(bytes));
    assert.equal(r.reason, reason, JSON.stringify(bytes));
  };
  bad([], 'empty');
  bad([9, 1], 'bad_version');
  bad([PROTOCOL_VERSION], 'malformed');
  bad([PROTOCOL_VERSION, MessageType.Labelled], 'bad_label');
  bad([PROTOCOL_VERSION, MessageType.Labelled, 0, PROTOCOL_VERSION, 1], 'bad_label');
  bad([PROTOCOL_VERSION, MessageType.Labelled, 5, 0x61, 0x62], 'bad_label');
  bad([PROTOCOL_VERSION, MessageType.Labelled, LIMITS.clusterLabelBytesMax + 1, ...new Array<number>(80).fill(0x61)], 'bad_label');
  bad([PROTOCOL_VERSION, MessageType.Labelled, 1, 0x61], 'bad_label');
  bad([...addLabel('a', addLabel('b', PING))], 'bad_label');
});

// ---- Channel ----------------------------------------------------------------------------------

test('channel: encrypted round trip with a label; overhead is what wrap adds', () => {
  const ring = Keyring.of(key());
  const { ch } = channel({ cluster: 'prod', ring });
  const wire = ch.wrap(PING);
  assert.equal(wire.length, PING.length + ch.overhead);
  assert.equal(ch.overhead, 3 + 4 + ENVELOPE_OVERHEAD);
  const r = ch.unwrap(wire);
  assert.ok(r.ok);
  assert.deepEqual(r.bytes, PING);
  // Without a keyring and with the default label, nothing is added at all.
  const { ch: bare } = channel();
  assert.equal(bare.overhead, 0);
  assert.equal(bare.wrap(PING), PING);
});

test('channel: wrong key, tampering, plaintext, other cluster and envelopes without keys are refused and counted', () => {
  const k1 = key();
  const lines: string[] = [];
  const { ch, metrics } = channel({ cluster: 'prod', ring: Keyring.of(k1), lines });
  const other = channel({ cluster: 'prod', ring: Keyring.of(key()) }).ch;
  const cases: [string, Uint8Array, string][] = [
    ['wrong key', other.wrap(PING), 'decrypt_failed'],
    ['tampered tag', flip(ch.wrap(PING), ch.wrap(PING).length - 1), 'decrypt_failed'],
    ['plaintext', addLabel('prod', PING), 'plaintext'],
    ['unlabelled plaintext (cluster default)', PING, 'cluster_mismatch'],
    ['other cluster, same key', channel({ cluster: 'staging', ring: Keyring.of(k1) }).ch.wrap(PING), 'cluster_mismatch'],
    // The clear label rewritten to ours: the AAD still names the sender's cluster.
    ['relabelled', addLabel('prod', seal(k1, 'staging', PING)), 'decrypt_failed'],
    ['sealed envelope inside', addLabel('prod', seal(k1, 'prod', seal(k1, 'prod', PING))), 'malformed'],
    ['junk', Uint8Array.from([0xde, 0xad]), 'bad_version'],
  ];
  for (const [what, bytes, reason] of cases) {
    const r = ch.unwrap(bytes);
    assert.ok(!r.ok, what);
    assert.equal(r.reason, reason, what);
    assert.equal(ch.open(PEER, bytes, 'udp'), null, what);
  }
  for (const [what, , reason] of cases) assert.ok((metrics.rejected.get(reason) ?? 0) >= 1, `${what} counted as ${reason}`);
  const noKeys = channel({ cluster: 'prod' });
  const r = noKeys.ch.unwrap(ch.wrap(PING));
  assert.ok(!r.ok && r.reason === 'encrypted_no_key');
  assert.ok(lines.length > 0 && lines.every((l) => JSON.parse(l).level === 'warn'));
});

test('channel: secondary keys decrypt, the primary encrypts', () => {
  const [k1, k2] = [key(), key()];
  const oldSender = channel({ ring: Keyring.of(k1) }).ch;
  const newSender = channel({ ring: Keyring.of(k2) }).ch;
  const receiver = channel({ ring: Keyring.of(k2, [k1]) }).ch;
  assert.ok(receiver.unwrap(oldSender.wrap(PING)).ok, 'secondary key decrypts');
  assert.ok(receiver.unwrap(newSender.wrap(PING)).ok, 'primary key decrypts');
  assert.ok(oldSender.unwrap(receiver.wrap(PING)).ok === false, 'receiver encrypts with its primary (k2)');
});

test('channel: transition mode accepts both (verify_incoming false) and sends plaintext (verify_outgoing false)', () => {
  const k = key();
  const ring = Keyring.of(k);
  const tolerant = channel({ cluster: 'prod', ring, verifyIncoming: false, verifyOutgoing: false }).ch;
  const strict = channel({ cluster: 'prod', ring }).ch;
  const plainPeer = channel({ cluster: 'prod' }).ch;
  assert.ok(tolerant.unwrap(plainPeer.wrap(PING)).ok, 'plaintext accepted');
  assert.ok(tolerant.unwrap(strict.wrap(PING)).ok, 'encrypted accepted');
  const sent = tolerant.wrap(PING);
  assert.deepEqual(sent, addLabel('prod', PING), 'sent in plaintext, still labelled');
  assert.ok(plainPeer.unwrap(sent).ok);
  assert.equal(strict.unwrap(sent).ok, false, 'a strict agent refuses it');
  // Encrypted but still forged or foreign input stays refused in transition mode.
  assert.equal(tolerant.unwrap(channel({ cluster: 'prod', ring: Keyring.of(key()) }).ch.wrap(PING)).ok, false);
  assert.equal(tolerant.unwrap(channel({ cluster: 'other' }).ch.wrap(PING)).ok, false);
});

test('channel: one log line per peer and reason, however many packets', () => {
  const lines: string[] = [];
  const { ch, metrics } = channel({ cluster: 'prod', lines });
  const foreign = channel({ cluster: 'staging' }).ch.wrap(PING);
  for (let i = 0; i < 1000; i++) ch.open(PEER, foreign, 'udp');
  for (let i = 0; i < 100; i++) ch.open({ host: '10.0.0.10', port: 1 }, foreign, 'udp');
  assert.equal(metrics.rejected.get('cluster_mismatch'), 1100);
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(first['cluster'], 'staging');
  assert.equal(first['ours'], 'prod');
  assert.equal(first['peer'], '10.0.0.9:7946');
});

test('reject notices: per-key interval and a global budget per interval', () => {
  let now = 0;
  const n = new RejectNotices(() => now);
  let emitted = 0;
  let lastSuppressed = 0;
  const emit = (s: number): void => { emitted++; lastSuppressed = s; };
  n.note('a', emit);
  n.note('a', emit);
  assert.equal(emitted, 1);
  for (let i = 0; i < 100; i++) n.note(`k${i}`, emit);
  assert.equal(emitted, DAEMON_LIMITS.rejectLogLinesMax);
  now += DAEMON_LIMITS.rejectLogIntervalMs;
  n.note('a', emit);
  assert.equal(emitted, DAEMON_LIMITS.rejectLogLinesMax + 1);
  assert.equal(lastSuppressed, 100 - (DAEMON_LIMITS.rejectLogLinesMax - 1));
});

// ---- Keyring ----------------------------------------------------------------------------------

test('keyring: parse, install, use, remove; the primary cannot be removed; bounded size', () => {
  const text = generateKey();
  assert.equal(encodeKey(parseKey(text)), text);
  assert.equal(parseKey(` ${text}\n`).length, 32);
  for (const bad of ['', 'abc', text.slice(0, -2), `${text}A`, Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64')]) {
    assert.throws(() => parseKey(bad), (e: unknown) => e instanceof KeyringError && e.code === 'bad_key', JSON.stringify(bad));
  }
  const [k1, k2] = [key(), key()];
  let r = Keyring.of(k1);
  r = r.install(k2);
  assert.equal(r.install(k2), r, 'installing twice changes nothing');
  assert.deepEqual(r.view().map((v) => v.primary), [true, false]);
  assert.throws(() => r.remove(k1), (e: unknown) => e instanceof KeyringError && e.code === 'primary');
  assert.throws(() => r.use(key()), (e: unknown) => e instanceof KeyringError && e.code === 'not_installed');
  r = r.use(k2);
  assert.ok(r.isPrimary(k2) && r.has(k1));
  r = r.remove(k1);
  assert.equal(r.keys.length, 1);
  let full = Keyring.of(k1);
  for (let i = 1; i < DAEMON_LIMITS.keyringKeysMax; i++) full = full.install(key());
  assert.throws(() => full.install(key()), (e: unknown) => e instanceof KeyringError && e.code === 'full');
});

test('key file: first key primary, comments skipped, a readable-by-others file warns, bad files are config errors', (t) => {
  const dir = tempDir(t);
  const [a, b] = [generateKey(), generateKey()];
  const file = join(dir, 'key');
  writeFileSync(file, `# gossip keys\n${a}\n\n${b}\n`, { mode: 0o600 });
  const lines: string[] = [];
  const log = new Logger('info', { write: (l: string) => lines.push(l) });
  const ring = readKeyFile(file, log);
  assert.deepEqual(ring.view(), [{ fingerprint: keyFingerprint(parseKey(a)), primary: true }, { fingerprint: keyFingerprint(parseKey(b)), primary: false }]);
  assert.equal(lines.length, 0);
  chmodSync(file, 0o644);
  readKeyFile(file, log);
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /accessible by group or others.*"mode":"0644"/);
  const fails = (content: string, pattern: RegExp): void => {
    writeFileSync(file, content);
    assert.throws(() => readKeyFile(file, silentLogger()), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
  };
  fails('', /no key in the file/);
  fails('not-a-key\n', /key 1: expected a key/);
  fails('x'.repeat(DAEMON_LIMITS.keyFileBytesMax + 1), /larger than/);
  assert.throws(() => readKeyFile(join(dir, 'missing'), silentLogger()), /cannot read: ENOENT/);
});

test('keyring store: seeded from the key file once, persisted 0600, changes survive a reopen, bad files stop the start', async (t) => {
  const dir = tempDir(t);
  const [k1, k2] = [key(), key()];
  const store = await KeyringStore.open(dir, Keyring.of(k1), silentLogger());
  const path = join(dir, 'keyring.json');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await store.install(encodeKey(k2));
  await store.use(encodeKey(k2));
  await store.remove(encodeKey(k1));
  assert.deepEqual(store.list(), [{ fingerprint: keyFingerprint(k2), primary: true }]);
  // A restart with the old key file: the persisted keyring wins.
  const lines: string[] = [];
  const again = await KeyringStore.open(dir, Keyring.of(k1), new Logger('info', { write: (l: string) => lines.push(l) }));
  assert.deepEqual(again.list(), [{ fingerprint: keyFingerprint(k2), primary: true }]);
  assert.ok(lines.some((l) => l.includes('takes precedence')));
  await assert.rejects(again.remove(encodeKey(k2)), (e: unknown) => e instanceof KeyringError && e.code === 'primary');
  // Concurrent changes are applied one at a time, none lost.
  const extra = [key(), key(), key()].map(encodeKey);
  await Promise.all(extra.map((k) => again.install(k)));
  assert.equal(again.list().length, 4);
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { secondary: string[] }).secondary.length, 3);
  writeFileSync(path, '{"format":1,"primary":"nope","secondary":[]}');
  await assert.rejects(KeyringStore.open(dir, Keyring.of(k1), silentLogger()), /keyring file .* is unusable/);
});

// ---- API --------------------------------------------------------------------------------------

test('keyring routes: list, install, use, remove, with errors mapped to 4xx', async (t) => {
  const dir = tempDir(t);
  const k1 = key();
  const store = await KeyringStore.open(dir, Keyring.of(k1), silentLogger());
  const withRing: Pick<AgentApi, 'keyring'> = { keyring: () => store };
  const without: Pick<AgentApi, 'keyring'> = { keyring: () => null };
  const socketPath = join(dir, 'a.sock');
  const api = await ApiServer.start({ socketPath, routes: keyringRoutes(withRing as AgentApi), metrics: new Metrics(), log: silentLogger() });
  t.after(() => api.close());
  const client = new Client({ socketPath });
  const k2 = generateKey();
  assert.equal((await client.keyring()).length, 1);
  assert.equal((await client.keyringChange('install', k2)).length, 2);
  const used = await client.keyringChange('use', k2);
  assert.deepEqual(used[0], { fingerprint: keyFingerprint(parseKey(k2)), primary: true });
  assert.ok(!JSON.stringify(used).includes(k2), 'no answer carries a key');
  const status = async (p: Promise<unknown>): Promise<number | undefined> => {
    try {
      await p;
      return 200;
    } catch (e) {
      assert.ok(isClientError(e));
      return e.status;
    }
  };
  assert.equal(await status(client.keyringChange('remove', k2)), 409, 'the primary cannot be removed');
  assert.equal(await status(client.keyringChange('use', generateKey())), 404);
  assert.equal(await status(client.keyringChange('install', 'short')), 400);
  assert.equal(used.find((k) => !k.primary)?.fingerprint, keyFingerprint(k1));
  const old = encodeKey(k1);
  assert.equal((await client.keyringChange('remove', old)).length, 1);

  const socket2 = join(dir, 'b.sock');
  const api2 = await ApiServer.start({ socketPath: socket2, routes: keyringRoutes(without as AgentApi), metrics: new Metrics(), log: silentLogger() });
  t.after(() => api2.close());
  assert.equal(await status(new Client({ socketPath: socket2 }).keyring()), 409, 'encryption off');
});

test('cli: keygen prints a usable key; a malformed key is a usage error before any agent is asked', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => { out.push(s); }, err: (s: string) => { err.push(s); } };
  assert.equal(await runCli(['keygen'], io), 0);
  assert.equal(parseKey(out.join('')).length, 32);
  assert.equal(await runCli(['keyring', 'install', 'not-a-key', '--socket', '/nonexistent/x.sock'], io), 2);
  assert.match(err.join(''), /expected a key: base64 of 32 bytes/);
  assert.equal(await runCli(['keyring', 'list', '--socket', '/nonexistent/x.sock'], io), 1, 'no agent: operation failed');
});
