/**
 * A join that fails says why, as far as the joining agent can tell: a closed port is refused, a
 * seed that refuses the request (another cluster label, a key it cannot open, plaintext where it
 * requires encryption) closes without replying, and a reply this agent cannot open is named.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { generateKey } from '../client/contract/key.js';
import { call, startAgent, tempDir } from './helpers/local-agent.js';
import { writeKeyFile } from './helpers/security.js';

interface Failure { readonly seed: string; readonly reason: string }

async function joinFailure(socket: string, seed: string): Promise<string> {
  const r = await call(socket, 'POST', '/v1/join', { addresses: [seed] });
  assert.equal(r.status, 200, r.text);
  const body = r.body as { joined: number; failed: Failure[] };
  assert.equal(body.joined, 0, r.text);
  assert.equal(body.failed.length, 1, r.text);
  return body.failed[0]?.reason ?? '';
}

/** A port that was just free: bound and closed again. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  assert.ok(typeof addr === 'object' && addr !== null);
  return addr.port;
}

test('a join through a closed port says the connection was refused', async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'a' });
  const reason = await joinFailure(a.config.socket, `127.0.0.1:${await closedPort()}`);
  assert.match(reason, /connection refused: nothing listens on that TCP port/);
});

test('a join to another cluster label, or to an encrypted cluster without a key, says the seed closed without replying', async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'a' });
  const other = await startAgent(t, dir, { name: 'other', config: { cluster: 'elsewhere' } });
  const labelled = await joinFailure(a.config.socket, `127.0.0.1:${other.address.port}`);
  assert.match(labelled, /closed the connection without replying: it refused the request \(a different cluster label/);
  const locked = await startAgent(t, dir, { name: 'locked', config: { encrypt_key_file: writeKeyFile(dir, 'k1') } });
  const plain = await joinFailure(a.config.socket, `127.0.0.1:${locked.address.port}`);
  assert.match(plain, /closed the connection without replying/);
  const wrongKey = await startAgent(t, dir, { name: 'wrong', config: { encrypt_key_file: writeKeyFile(dir, 'k2', [generateKey()]) } });
  const wrong = await joinFailure(wrongKey.config.socket, `127.0.0.1:${locked.address.port}`);
  assert.match(wrong, /closed the connection without replying/);
  assert.doesNotMatch(plain + labelled + wrong, /state exchange failed/);
});

test('a reply the joining agent cannot open is named: encrypted while it has no key', async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'a' });
  // Accepts plaintext during a transition, but its replies are sealed.
  const seed = await startAgent(t, dir, { name: 'seed', config: { encrypt_key_file: writeKeyFile(dir, 'k'), encrypt_verify_incoming: false } });
  const reason = await joinFailure(a.config.socket, `127.0.0.1:${seed.address.port}`);
  assert.match(reason, /the seed's reply is encrypted and this agent has no encrypt_key_file/);
});
