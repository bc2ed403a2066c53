/**
 * Every error answer of every route, asked for through the client against a real agent: each must
 * reach the caller as the agent's own message in a typed ClientError (or NotConfirmedError), never
 * as a failure to decode the answer. One case runs the `swimd` executable, as an operator would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, ClientError, NotConfirmedError, type CheckStatus, type MemberStatus } from '../client/index.js';
import { notConfirmed } from '../client/catalog.js';
import { generateKey } from '../client/contract/key.js';
import { runCli } from './helpers/cluster.js';
import { startAgent, tempDir } from './helpers/local-agent.js';
import { writeKeyFile } from './helpers/security.js';

/** What an error answer must look like once the client has it. */
async function refused(p: Promise<unknown>, status: number, message: RegExp, code: ClientError['code'] = 'http'): Promise<ClientError> {
  let caught: unknown = null;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ClientError, `expected a ClientError, got ${String(caught)}`);
  assert.notEqual(caught.code, 'bad_response', `the answer did not decode: ${caught.message}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status, caught.message);
  assert.match(caught.message, message);
  // The message is the agent's own, taken from the body.
  const body = caught.body as Record<string, unknown>;
  assert.equal(body['error'], caught.message);
  return caught;
}

test('core routes: members, join, unknown endpoints and methods answer typed errors', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const c = new Client({ socketPath: agent.config.socket });
  await refused(c.members({ status: 'gone' as MemberStatus }), 400, /^status: expected one of/);
  await refused(c.join([]), 400, /^addresses: expected a non-empty array/);
  await refused(c.join(['not an address']), 400, /^addresses\[0\]: /);
  await refused(c.join(Array.from({ length: 1000 }, (_, i) => `127.0.0.1:${1000 + i}`)), 400, /^addresses: at most \d+ per join/);
  // DELETE /v1/services/ is DELETE /v1/services: the route exists for GET and PUT only.
  await refused(c.deregister(''), 405, /^method DELETE not allowed on \/v1\/services\/; allowed: GET, PUT/);
  await refused(c.check('web', 'unknown' as CheckStatus), 404, /^no such endpoint: POST \/v1\/checks\/web\/unknown/);
});

test('watch: a refused request is the agent\'s error, not retried', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const c = new Client({ socketPath: agent.config.socket });
  await refused((async () => {
    for await (const _ of c.watch({ index: -1 })) { /* none */ }
  })(), 400, /^index: expected the index of the last line received/);
});

test('keyring routes: encryption off, bad key, not installed, primary', async (t) => {
  const dir = tempDir(t);
  const plain = await startAgent(t, dir, { name: 'plain' });
  const off = new Client({ socketPath: plain.config.socket });
  await refused(off.keyring(), 409, /^encryption is not enabled on this agent/);
  await refused(off.keyringChange('install', generateKey()), 409, /^encryption is not enabled/);

  const primary = generateKey();
  const keyFile = writeKeyFile(dir, 'gossip.key', [primary]);
  const sealed = await startAgent(t, dir, { name: 'sealed', config: { encrypt_key_file: keyFile } });
  const on = new Client({ socketPath: sealed.config.socket });
  await refused(on.keyringChange('install', 'short'), 400, /^expected a key: base64 of 32 bytes/);
  await refused(on.keyringChange('use', generateKey()), 404, /^that key is not installed; install it first/);
  await refused(on.keyringChange('remove', generateKey()), 404, /^that key is not installed/);
  await refused(on.keyringChange('remove', primary), 409, /^that key is the primary key/);
});

test('service routes: 400 fields and waits, 404 unknown ids, 409 conflicts, 413 too large', async (t) => {
  const agent = await startAgent(t, tempDir(t), { config: { services: [{ name: 'cfg', port: 7000 }] } });
  const c = new Client({ socketPath: agent.config.socket });
  const e = await refused(c.register({ name: 'web', port: 0 }), 400, /port/);
  assert.equal((e.body as Record<string, unknown>)['field'], 'port');
  await refused(c.register({ name: 'web', port: 80 }, { wait: 'soon' }), 400, /^wait: /);
  await refused(c.register({ name: 'web', port: 80, meta: { big: 'x'.repeat(70_000) } }), 413, /^request body larger than \d+ bytes/);
  await refused(c.register({ name: 'cfg', port: 7001 }), 409, /is defined in the config file/);
  await refused(c.deregister('cfg'), 409, /is defined in the config file/);
  for (const op of [() => c.deregister('nope'), () => c.drain('nope'), () => c.undrain('nope'), () => c.deregister('nope', { wait: '1s' }), () => c.check('nope', 'pass')]) {
    await refused(op(), 404, /^no service instance "nope" is registered on this node/);
  }
  await c.register({ name: 'web', port: 80 });
  await refused(c.check('web', 'pass'), 409, /check/);
  await c.register({ name: 'job', port: 81, check: { ttl: '30s' } });
  await refused(c.check('job', 'warn', 'n'.repeat(10_000)), 400, /note/);
});

test('register --wait whose check never passes: NotConfirmedError with the agent\'s words, from the client and the CLI', async (t) => {
  const agent = await startAgent(t, tempDir(t));
  const socket = agent.config.socket;
  const c = new Client({ socketPath: socket });
  const e = await refused(c.register({ name: 'worker', port: 9000, check: { ttl: '30s' } }, { wait: '300ms' }), 504,
    /^registered worker, but its check has not passed within 300ms: no member routes to it yet$/, 'not_confirmed');
  assert.ok(e instanceof NotConfirmedError);
  assert.equal(e.id, 'worker');
  assert.equal(e.outcome.passing, false);
  assert.equal(e.outcome.confirmed, 0);
  assert.deepEqual(e.outcome.pending, []);

  const cli = await runCli(['register', '--name', 'worker2', '--port', '9001', '--check-ttl', '30s', '--wait', '300ms', '--socket', socket]);
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /^swimd: registered worker2, but its check has not passed within 300ms: no member routes to it yet\n$/);
  const json = await runCli(['register', '--name', 'worker3', '--port', '9002', '--check-ttl', '30s', '--wait', '300ms', '--json', '--socket', socket]);
  assert.equal(json.code, 1, json.stderr);
  const printed = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(printed['id'], 'worker3');
  assert.match(String(printed['error']), /its check has not passed/);
});

test('a wait that times out on a peer: NotConfirmedError naming it', async (t) => {
  const dir = tempDir(t);
  const a = await startAgent(t, dir, { name: 'a', profile: 'lan' });
  const b = await startAgent(t, dir, { name: 'b', profile: 'lan' });
  assert.equal((await a.join([`127.0.0.1:${b.address.port}`])).joined, 1);
  await b.stop();
  const c = new Client({ socketPath: a.config.socket });
  const e = await refused(c.register({ name: 'web', port: 80 }, { wait: '300ms' }), 504, /^not confirmed by 1 member within 300ms: b$/, 'not_confirmed');
  assert.ok(e instanceof NotConfirmedError);
  assert.deepEqual(e.outcome.pending, ['b']);
  assert.equal(e.outcome.passing, undefined);
});

test('a wait answer the client cannot read keeps the agent\'s message; an older agent\'s check timeout still decodes', () => {
  const oldCheckTimeout = {
    id: 'worker', error: 'registered worker, but its check has not passed within 5s: no member routes to it yet',
    pending: [], excluded: [], confirmed: 0, wait: { done: false, passing: false, timeout_ms: 5000, excluded: [] },
  };
  const decoded = notConfirmed(new ClientError('http', oldCheckTimeout.error, { status: 504, body: oldCheckTimeout }));
  assert.ok(decoded instanceof NotConfirmedError, decoded.message);
  assert.equal(decoded.outcome.elapsedMs, 5000);
  assert.equal(decoded.outcome.passing, false);

  const garbled = { id: 'web', error: 'not confirmed by 1 member within 1s: b', pending: ['b'], wait: { done: 'no' } };
  const kept = notConfirmed(new ClientError('http', garbled.error, { status: 504, body: garbled }));
  assert.equal(kept.code, 'http');
  assert.equal(kept.message, garbled.error);
});

