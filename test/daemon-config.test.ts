import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AgentConfig, type AgentFlags, ConfigError, diffConfig, resolveConfig } from '../daemon/config/config.js';
import type { Platform } from '../client/contract/paths.js';

const PLATFORM: Platform = {
  hostname: 'host-a', isRoot: false, homedir: '/home/u', tmpdir: '/tmp', cwd: '/work/dir', runExists: true,
};

/** A temp dir removed when the test ends, pass or fail. */
function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeConfig(dir: string, body: unknown, name = 'swimd.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}

function resolveWith(flags: AgentFlags, env: Record<string, string> = {}, platform: Platform = PLATFORM): AgentConfig {
  return resolveConfig(flags, env, platform);
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

test('defaults without a config file', () => {
  const c = resolveWith({});
  assert.equal(c.configFile, null);
  assert.equal(c.name, 'host-a');
  assert.deepEqual(c.bind, { host: '0.0.0.0', port: 7946 });
  assert.equal(c.advertise, null);
  assert.deepEqual(c.join, []);
  assert.equal(c.socket, '/tmp/swimd.sock');
  assert.equal(c.dataDir, '/home/u/.local/state/swimd');
  assert.equal(c.profile, 'lan');
  assert.equal(c.cluster, 'default');
  assert.equal(c.encryptKeyFile, null);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.packetBytes, 1400);
});

test('default socket and data dir follow root, systemd and XDG', () => {
  const root = resolveWith({}, {}, { ...PLATFORM, isRoot: true });
  assert.equal(root.socket, '/run/swimd/swimd.sock');
  assert.equal(root.dataDir, '/var/lib/swimd');
  const noRun = resolveWith({}, {}, { ...PLATFORM, isRoot: true, runExists: false });
  assert.equal(noRun.socket, '/tmp/swimd.sock');
  const systemd = resolveWith({}, { RUNTIME_DIRECTORY: '/run/swimd', STATE_DIRECTORY: '/var/lib/swimd' });
  assert.equal(systemd.socket, '/run/swimd/swimd.sock');
  assert.equal(systemd.dataDir, '/var/lib/swimd');
  const xdg = resolveWith({}, { XDG_RUNTIME_DIR: '/run/user/1000', XDG_STATE_HOME: '/home/u/state' });
  assert.equal(xdg.socket, '/run/user/1000/swimd.sock');
  assert.equal(xdg.dataDir, '/home/u/state/swimd');
});

test('every field is read from the file', (t) => {
  const dir = tempDir(t);
  const path = writeConfig(dir, {
    name: 'n1', bind: '127.0.0.1:8000', advertise: '10.0.0.1:9000', join: ['10.0.0.2', 'seed.example:7000'],
    socket: '/tmp/x.sock', data_dir: '/var/tmp/swimd', profile: 'wan', cluster: 'prod-1',
    encrypt_key_file: '/etc/swimd/key', log_level: 'debug', packet_bytes: 1200,
  });
  const c = resolveWith({ config: path });
  assert.equal(c.configFile, path);
  assert.equal(c.name, 'n1');
  assert.deepEqual(c.bind, { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(c.advertise, { host: '10.0.0.1', port: 9000 });
  assert.deepEqual(c.join, ['10.0.0.2', 'seed.example:7000']);
  assert.equal(c.socket, '/tmp/x.sock');
  assert.equal(c.dataDir, '/var/tmp/swimd');
  assert.equal(c.profile, 'wan');
  assert.equal(c.cluster, 'prod-1');
  assert.equal(c.encryptKeyFile, '/etc/swimd/key');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.packetBytes, 1200);
});

test('flags override the file; SWIMD_SOCKET only overrides the default socket', (t) => {
  const dir = tempDir(t);
  const withSocket = writeConfig(dir, { name: 'file', bind: '127.0.0.1:8000', join: ['10.0.0.9:1'], socket: '/tmp/file.sock', log_level: 'warn' }, 'a.json');
  const withoutSocket = writeConfig(dir, { name: 'file' }, 'b.json');
  const env = { SWIMD_SOCKET: '/tmp/env.sock' };

  const flagged = resolveWith({
    config: withSocket, name: 'flag', bind: '127.0.0.1:9000', join: ['10.0.0.1:2', '10.0.0.3:3'],
    socket: 'rel/flag.sock', logLevel: 'error', dataDir: 'data',
  }, env);
  assert.equal(flagged.name, 'flag');
  assert.deepEqual(flagged.bind, { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(flagged.join, ['10.0.0.1:2', '10.0.0.3:3'], 'a --join list replaces the file list');
  assert.equal(flagged.socket, '/work/dir/rel/flag.sock', 'relative flag paths resolve against cwd');
  assert.equal(flagged.dataDir, '/work/dir/data');
  assert.equal(flagged.logLevel, 'error');

  assert.equal(resolveWith({ config: withSocket }, env).socket, '/tmp/file.sock', 'file beats SWIMD_SOCKET');
  assert.equal(resolveWith({ config: withoutSocket }, env).socket, '/tmp/env.sock', 'SWIMD_SOCKET beats the default');
  assert.equal(resolveWith({}, { SWIMD_SOCKET: '' }).socket, '/tmp/swimd.sock', 'empty SWIMD_SOCKET is ignored');
});

test('a relative --config path resolves against cwd', (t) => {
  const dir = tempDir(t);
  writeConfig(dir, { name: 'rel' });
  assert.equal(resolveWith({ config: 'swimd.json' }, {}, { ...PLATFORM, cwd: dir }).name, 'rel');
});

test('every invalid field names the file, the field and the reason', (t) => {
  const dir = tempDir(t);
  const cases: [string, unknown, RegExp][] = [
    ['name', '', /expected a non-empty name/],
    ['name', 'has space', /no spaces or control characters, got "has space"/],
    ['name', 'x'.repeat(129), /at most 128 bytes, got 129/],
    ['name', 7, /expected a string, got number 7/],
    ['bind', 'abc', /expected host:port, got "abc"/],
    ['bind', 'localhost:7946', /expected an IP address to bind, got host "localhost"/],
    ['bind', '1.2.3.4:70000', /expected host:port, got "1.2.3.4:70000"/],
    ['advertise', '0.0.0.0:7946', /unspecified address/],
    ['advertise', 'host.example:1', /expected an IP address other members can reach/],
    ['advertise', '10.0.0.1:0', /between 1 and 65535, got 0/],
    ['join', '10.0.0.1:7946', /expected an array of "host:port" strings, got "10.0.0.1:7946"/],
    ['join', ['10.0.0.1:1', 'a:b:c:d:'], /element 1: expected host:port/],
    ['join', Array.from({ length: 65 }, (_, i) => `10.0.0.${i}:1`), /at most 64 seeds, got 65/],
    ['socket', 'relative.sock', /expected an absolute path, got "relative.sock"/],
    ['socket', '/' + 'x'.repeat(120), /at most 107 bytes/],
    ['data_dir', 42, /expected a string, got number 42/],
    ['data_dir', 'var/lib', /expected an absolute path/],
    ['profile', 'fast', /expected one of lan, wan, local, got "fast"/],
    ['cluster', 'bad name', /got "bad name"/],
    ['encrypt_key_file', null, /expected a string, got null/],
    ['log_level', 'verbose', /expected one of debug, info, warn, error, got "verbose"/],
    ['packet_bytes', 100, /integer between 512 and 65507, got number 100/],
    ['packet_bytes', '1400', /integer between 512 and 65507, got "1400"/],
    ['packet_bytes', 1400.5, /got number 1400.5/],
  ];
  for (const [field, value, reason] of cases) {
    const path = writeConfig(dir, { [field]: value });
    const msg = configError(() => resolveWith({ config: path }));
    assert.ok(msg.startsWith(`config ${path}: field "${field}": `), `${field}=${JSON.stringify(value)} -> ${msg}`);
    assert.match(msg, reason, `${field}=${JSON.stringify(value)}`);
  }
});

test('the documented example message', (t) => {
  const path = writeConfig(tempDir(t), { bind: 'abc' });
  assert.equal(configError(() => resolveWith({ config: path })), `config ${path}: field "bind": expected host:port, got "abc"`);
});

test('unknown fields are errors, with a hint for near misses', (t) => {
  const dir = tempDir(t);
  const msg = configError(() => resolveWith({ config: writeConfig(dir, { dataDir: '/x' }) }));
  assert.match(msg, /field "dataDir": unknown field \(did you mean "data_dir"\?\)/);
  assert.match(configError(() => resolveWith({ config: writeConfig(dir, { colour: 'blue' }) })), /field "colour": unknown field; known fields: name, bind/);
});

test('unreadable, malformed and non-object files', (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.json');
  assert.equal(configError(() => resolveWith({ config: missing })), `config ${missing}: cannot read: ENOENT`);
  const bad = writeConfig(dir, '{"name": ', 'bad.json');
  assert.match(configError(() => resolveWith({ config: bad })), new RegExp(`^config ${bad}: invalid JSON: `));
  const arr = writeConfig(dir, '[1,2]', 'arr.json');
  assert.equal(configError(() => resolveWith({ config: arr })), `config ${arr}: expected a JSON object at the top level`);
  const big = writeConfig(dir, ' '.repeat(1024 * 1024 + 1), 'big.json');
  assert.match(configError(() => resolveWith({ config: big })), /larger than the 1048576-byte limit/);
});

test('invalid flags, env and defaults say where the value came from', () => {
  assert.equal(configError(() => resolveWith({ bind: 'abc' })), 'flag --bind: expected host:port, got "abc"');
  assert.match(configError(() => resolveWith({ logLevel: 'loud' })), /^flag --log-level: expected one of/);
  assert.match(configError(() => resolveWith({ join: ['ok:1', ''] })), /^flag --join: element 1: /);
  assert.match(configError(() => resolveWith({ dataDir: '' })), /^flag --data-dir: expected a path/);
  assert.match(configError(() => resolveWith({}, { SWIMD_SOCKET: '/' + 'y'.repeat(200) })), /^env SWIMD_SOCKET: expected a path of at most 107 bytes/);
  assert.match(configError(() => resolveWith({}, {}, { ...PLATFORM, hostname: 'bad host' })), /^default name \(host name "bad host"\): /);
});

test('IPv6 bind and advertise without a port', () => {
  const c = resolveWith({ bind: '[::]:7000', advertise: 'fd00::1' });
  assert.deepEqual(c.bind, { host: '::', port: 7000 });
  assert.deepEqual(c.advertise, { host: 'fd00::1', port: null });
});

test('diffConfig separates reloadable changes from restart-only ones', () => {
  const a = resolveWith({});
  const b = resolveWith({ logLevel: 'debug', join: ['10.0.0.1:1'], bind: '127.0.0.1:1' });
  const d = diffConfig(a, b);
  assert.deepEqual(d.reloadable.map((c) => c.field), ['join', 'log_level']);
  assert.deepEqual(d.restartRequired, [{ field: 'bind', from: '0.0.0.0:7946', to: '127.0.0.1:1' }]);
  assert.deepEqual(diffConfig(a, resolveWith({})), { reloadable: [], restartRequired: [] });
});
