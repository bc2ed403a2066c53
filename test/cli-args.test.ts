import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli as runInProcess } from '../cli/program.js';
import { runCli } from './helpers/cluster.js';

interface Run { code: number; out: string; err: string }

async function run(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runInProcess(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'swimd-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const missing = join(dir, 'none.sock');

test('--help and --version exit 0 on stdout', async () => {
  const help = await run('--help');
  assert.equal(help.code, 0);
  for (const cmd of ['agent', 'members', 'info', 'join', 'leave']) assert.match(help.out, new RegExp(`\\n  ${cmd} `));
  assert.match(help.out, /Examples:/);
  const v = await run('--version');
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
});

test('every command documents its options and shows examples', async () => {
  for (const cmd of ['agent', 'members', 'info', 'join', 'leave', ...CATALOG_COMMANDS]) {
    const r = await run(cmd, '--help');
    assert.equal(r.code, 0, cmd);
    assert.match(r.out, /Examples?:/, cmd);
    if (cmd !== 'agent') assert.match(r.out, /--socket <path>[\s\S]*--json/, cmd);
  }
  const agent = await run('agent', '--help');
  for (const flag of ['--config', '--name', '--bind', '--advertise', '--join', '--socket', '--data-dir',
    '--profile', '--cluster', '--encrypt-key-file', '--log-level']) {
    assert.ok(agent.out.includes(flag), flag);
  }
});

const CATALOG_COMMANDS = ['services', 'register', 'deregister', 'drain', 'undrain', 'check', 'watch'];

test('catalog commands are offered, and the mutations document --wait', async () => {
  const help = await run('--help');
  for (const cmd of CATALOG_COMMANDS) assert.match(help.out, new RegExp(`\\n  ${cmd} `), cmd);
  for (const cmd of ['register', 'deregister', 'drain', 'undrain']) {
    assert.match((await run(cmd, '--help')).out, /--wait \[duration\][\s\S]*exits 1 and names the members/, cmd);
  }
  const register = (await run('register', '--help')).out;
  for (const flag of ['--name', '--port', '--id', '--address', '--tag', '--meta', '--version', '--weight',
    '--check-http', '--check-tcp', '--check-ttl', '--interval']) {
    assert.ok(register.includes(flag), flag);
  }
});

test('usage errors exit 2 with a one-line reason', async () => {
  const cases: [string[], RegExp][] = [
    [['members', '--status', 'gone'], /argument 'gone' is invalid. Allowed choices are alive, suspect, dead, left/],
    [['join', 'nohost:'], /'nohost:' is invalid.*host:port/],
    [['join', '10.0.0.1:99999'], /'10.0.0.1:99999' is invalid/],
    [['join', '10.0.0.1:0'], /port between 1 and 65535/],
    [['join', '10.0.0.1:1', 'x:y'], /'x:y' is invalid/],
    [['join'], /missing required argument/],
    [['agent', '--bogus'], /unknown option '--bogus'/],
    [['agent', '--profile', 'fast'], /Allowed choices are lan, wan, local/],
    [['agent', '--bind', 'example.com:7946'], /expected an IP address to bind/],
    [['agent', '--join', '127.0.0.1:0'], /port between 1 and 65535/],
    [['agent', '--log-level', 'loud'], /Allowed choices are debug, info, warn, error/],
    [['agent', 'extra'], /too many arguments/],
    [['nosuch'], /unknown command 'nosuch'/],
    [['members', '--sock', 'x'], /unknown option '--sock'/],
    [['register', '--port', '80'], /required option '--name <name>' not specified/],
    [['register', '--name', 'web', '--port', '0'], /'0' is invalid. expected a port/],
    [['register', '--name', 'web', '--port', '80', '--meta', 'novalue'], /expected KEY=VALUE/],
    [['register', '--name', 'web', '--port', '80', '--check-ttl', '10'], /--check-ttl: .*a unit is required/],
    [['register', '--name', 'web', '--port', '80', '--check-ttl', '10s', '--check-tcp', '127.0.0.1:1'], /cannot be used with/],
    [['register', '--name', 'web', '--port', '80', '--check-ttl', '10s', '--interval', '5s'], /--interval applies to --check-http and --check-tcp only/],
    [['register', '--name', 'web', '--port', '80', '--check-http', 'ftp://x'], /--check-http: expected an http:\/\/ or https:\/\/ URL/],
    [['register', '--name', 'web', '--port', '80', '--tag', ''], /--tag: must not be empty/],
    [['drain', '--wait', 'web'], /put the ID before --wait/],
    [['deregister', 'web', '--wait', '10m'], /between 1ms and 5m/],
    [['check', 'ok', 'web'], /Allowed choices are pass, warn, fail/],
    [['watch', '--index', '-3'], /unknown option|is invalid/],
    [['watch', '--retry-for', 'soon'], /expected a duration/],
    [['services', 'a', 'b'], /too many arguments/],
  ];
  for (const [args, reason] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '', args.join(' '));
    assert.match(r.err.split('\n')[0] ?? '', /^swimd: /, args.join(' '));
    assert.match(r.err, reason, args.join(' '));
  }
});

test('a valid HOST:PORT gets past validation (to the missing agent)', async () => {
  for (const addr of ['127.0.0.1:7946', '[::1]:7946', 'seed.example:7000', '10.0.0.1']) {
    const r = await run('join', addr, '--socket', missing);
    assert.equal(r.code, 1, addr);
  }
});

test('no agent on the socket: exit 1 and one line saying so', async () => {
  for (const cmd of [['members'], ['info'], ['leave'], ['join', '127.0.0.1:7946'], ['members', '--json']]) {
    const r = await run(...cmd, '--socket', missing);
    assert.equal(r.code, 1, cmd.join(' '));
    assert.equal(r.out, '');
    assert.equal(r.err, `swimd: no agent listening on ${missing} (is \`swimd agent\` running?)\n`);
  }
});

test('a path that is not a listening socket counts as no agent', async () => {
  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  const r = await run('info', '--socket', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /no agent listening on .*plain-file/);
});

test('the real executable honours SWIMD_SOCKET and --socket wins over it', async () => {
  const viaEnv = await runCli(['members'], { SWIMD_SOCKET: missing });
  assert.equal(viaEnv.code, 1);
  assert.equal(viaEnv.stderr, `swimd: no agent listening on ${missing} (is \`swimd agent\` running?)\n`);
  const other = join(dir, 'other.sock');
  const viaFlag = await runCli(['info', '--socket', other], { SWIMD_SOCKET: missing });
  assert.equal(viaFlag.code, 1);
  assert.match(viaFlag.stderr, new RegExp(`no agent listening on ${other.replace(/[.]/g, '\\.')} `));
});

test('the real executable exits 2 on a usage error', async () => {
  const r = await runCli(['members', '--status', 'zombie']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^swimd: option '--status <status>' argument 'zombie' is invalid/);
});
