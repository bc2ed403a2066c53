/**
 * Keys stay secret from users of the local socket, and the documented way to write a key file gives
 * one the agent's user can read; a key file it cannot read stops start-up with a message that says
 * why and what to do. Real `swimd` processes throughout.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../client/index.js';
import { generateKey, keyFingerprint, parseKey } from '../client/contract/key.js';
import { CLI_PATH, runCli, waitFor, withCluster } from './helpers/cluster.js';
import { writeKeyFile } from './helpers/security.js';

type TestCtx = { after: (fn: () => void | Promise<void>) => void };

/** The unprivileged user the agent runs as in these tests, standing for the unit's `swimd`. */
const AGENT_UID = 65_534;
const asRoot = process.getuid?.() === 0;

function tempDir(t: TestCtx, owner?: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-key-'));
  if (owner !== undefined) chownSync(dir, owner, owner);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Run { readonly code: number; readonly output: string }

/** Runs `swimd agent` (as `uid` when given) until it exits or `ms` pass; killed then. */
function agentRun(dir: string, keyFile: string, uid: number | undefined, ms: number): Promise<Run> {
  const args = [CLI_PATH, 'agent', '--name', 'k', '--bind', '127.0.0.1:0', '--socket', join(dir, 'k.sock'),
    '--data-dir', join(dir, 'data'), '--profile', 'local', '--encrypt-key-file', keyFile];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: ms, ...(uid === undefined ? {} : { uid, gid: uid }) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

test('keyring list and changes show fingerprints, never keys (CLI table, JSON and change messages)', { timeout: 60_000 }, async (t) => {
  const k1 = generateKey();
  const k2 = generateKey();
  const keyFile = writeKeyFile(tempDir(t), 'gossip.key', [k1]);
  await withCluster(t, 1, { extraArgs: ['--encrypt-key-file', keyFile] }, async (c) => {
    const socket = c.agents[0]?.socket ?? '';
    const install = await runCli(['keyring', 'install', k2, '--socket', socket]);
    assert.equal(install.code, 0, install.stderr);
    assert.equal(install.stdout, `installed key ${keyFingerprint(parseKey(k2))}; the agent holds 2 keys\n`);
    const table = await runCli(['keyring', 'list', '--socket', socket]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^FINGERPRINT +PRIMARY\\n${keyFingerprint(parseKey(k1))} +yes\\n${keyFingerprint(parseKey(k2))} +no\\n$`));
    const json = await runCli(['keyring', 'list', '--json', '--socket', socket]);
    assert.deepEqual(JSON.parse(json.stdout), [
      { fingerprint: keyFingerprint(parseKey(k1)), primary: true },
      { fingerprint: keyFingerprint(parseKey(k2)), primary: false },
    ]);
    for (const out of [install.stdout, table.stdout, json.stdout]) {
      assert.ok(!out.includes(k1) && !out.includes(k2), `a key was printed: ${out}`);
    }
    // The fingerprint as an operator computes it from the key: sha256 of the raw bytes, first 16 hex digits.
    assert.match(keyFingerprint(parseKey(k1)), /^[0-9a-f]{16}$/);
  });
});

test('an unreadable key file stops start-up (exit 2) saying whom the agent runs as and what to do', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, asRoot ? AGENT_UID : undefined);
  const keyFile = writeKeyFile(dir, 'gossip.key');
  // As root: a root-owned 0600 file, read by an unprivileged agent, as the unit's User= does.
  if (!asRoot) chmodSync(keyFile, 0o000);
  const r = await agentRun(dir, keyFile, asRoot ? AGENT_UID : undefined, 20_000);
  assert.equal(r.code, 2, r.output);
  const user = asRoot ? 'nobody' : '';
  assert.match(r.output, new RegExp(`encrypt_key_file ${keyFile}: permission denied: the agent runs as user ${user}`));
  assert.match(r.output, /cannot read the key file; the file is owned by uid \d+, gid \d+, mode 0[0-7]{3}/);
  assert.match(r.output, new RegExp(`chown \\S+: ${keyFile} && chmod 600 ${keyFile}`));
});

test('the documented keygen steps make a key the agent user can read', { skip: asRoot ? false : 'needs root to act as the agent user', timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, AGENT_UID);
  const keyFile = join(dir, 'gossip.key');
  // `(umask 077; swimd keygen > /etc/swimd/gossip.key) && chown swimd: /etc/swimd/gossip.key`, with nobody for swimd.
  await new Promise<void>((resolve, reject) => {
    execFile('sh', ['-c', `(umask 077; "${process.execPath}" "${CLI_PATH}" keygen > "${keyFile}") && chown nobody: "${keyFile}"`],
      (err) => (err === null ? resolve() : reject(err)));
  });
  const run = agentRun(dir, keyFile, AGENT_UID, 30_000);
  const client = new Client({ socketPath: join(dir, 'k.sock'), timeoutMs: 2_000 });
  const early = run.then((r) => { throw new Error(`the agent exited (${r.code}): ${r.output}`); });
  const keys = await Promise.race([early, waitFor('the agent to serve its keyring', () => client.keyring(), 20_000)]);
  assert.equal(keys.length, 1);
  await client.leave();
  const done = await run;
  assert.equal(done.code, 0, done.output);
  assert.doesNotMatch(done.output, /accessible by group or others/);
});
