/** `swimd haproxy`: its flags, `--status` and the systemd unit's command line. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CompanionStatus, DEFAULT_STATUS_FILE, newCounters } from '../companion/haproxy/status.js';
import { runCli } from './helpers/cluster.js';
import { tempDir } from './helpers/local-agent.js';

function status(over: Partial<CompanionStatus> = {}): CompanionStatus {
  return {
    pid: 4242, updated_at: new Date().toISOString(), agent_socket: '/run/swimd/swimd.sock', haproxy_socket: '/run/haproxy/admin.sock',
    haproxy: { reachable: true, pid: 777, last_error: null },
    agent: { last_line_at: new Date().toISOString(), index: 12, synced: true },
    backends: [{
      backend: 'web_servers', service: 'web', slots: 2, used: 2, error: null, unplaced: [], unaddressable: [],
      servers: [
        { slot: 'web1', instance: 'h1/web-a', address: '10.0.0.5', port: 8080, state: 'ready', weight: 256 },
        { slot: 'web2', instance: 'h2/web-b', address: '10.0.0.6', port: 8080, state: 'drain', weight: 256 },
      ],
    }],
    counters: newCounters(),
    ...over,
  };
}

test('swimd haproxy: bad --map values are usage errors; the sockets and a map are required', async () => {
  for (const args of [['--map', 'web'], ['--map', 'web=a b'], ['--map', 'web=x', '--map', 'api=x'], ['--check-interval', '5']]) {
    const r = await runCli(['haproxy', '--haproxy-socket', '/x', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const noSocket = await runCli(['haproxy', '--map', 'web=web_servers']);
  assert.equal(noSocket.code, 1);
  assert.match(noSocket.stderr, /--haproxy-socket PATH is required/);
  const several = await runCli(['haproxy', '--haproxy-socket', '/x', '--map', 'web=a', 'api=b', '--map', 'x=c', '--status', '--status-file', '/nonexistent/s']);
  assert.equal(several.code, 1, `several maps after one --map parse (then --status finds no file): ${several.stderr}`);
  const noMap = await runCli(['haproxy', '--haproxy-socket', '/x']);
  assert.match(noMap.stderr, /at least one --map SERVICE=BACKEND is required/);
});

test('swimd haproxy --status: the table, --json, and exit 1 naming a shortage of slots or an unreachable HAProxy', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'status.json');
  const missing = await runCli(['haproxy', '--status', '--status-file', file]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`no companion status at ${file}`));

  writeFileSync(file, JSON.stringify(status()));
  const ok = await runCli(['haproxy', '--status', '--status-file', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /web_servers\s+web\s+2\s+2\s+0\s+ok/);
  assert.match(ok.stdout, /web_servers\/web2\s+h2\/web-b\s+10\.0\.0\.6:8080\s+drain\s+256/);
  const viaEnv = await runCli(['haproxy', '--status', '--json'], { SWIMD_HAPROXY_STATUS: file });
  assert.equal((JSON.parse(viaEnv.stdout) as { pid: number }).pid, 4242);

  const short = status();
  writeFileSync(file, JSON.stringify({
    ...short,
    haproxy: { reachable: false, pid: 777, last_error: 'ECONNREFUSED' },
    backends: [{ ...short.backends[0], unplaced: [{ instance: 'h3/web-c', address: '10.0.0.7', port: 8080, state: 'ready' }] }],
  }));
  const bad = await runCli(['haproxy', '--status', '--status-file', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /TOO FEW SLOTS/);
  assert.match(bad.stdout, /web_servers\/-\s+h3\/web-c\s+10\.0\.0\.7:8080\s+ready \(NO SLOT\)/);
  assert.match(bad.stdout, /problem: backend web_servers: too few slots \(2\) for 3 instances; not in HAProxy: h3\/web-c/);
  assert.match(bad.stdout, /UNREACHABLE \(ECONNREFUSED\)/);

  writeFileSync(file, JSON.stringify(status({ updated_at: new Date(Date.now() - 120_000).toISOString() })));
  const stale = await runCli(['haproxy', '--status', '--status-file', file]);
  assert.equal(stale.code, 1);
  assert.match(stale.stdout, /problem: the status is 12\d s old: is the companion \(pid 4242\) still running\?/);
});

test("the companion's systemd unit: its command line parses, and its runtime directory holds the default status file", async () => {
  const unit = readFileSync(fileURLToPath(new URL('../../daemon/swimd-haproxy.service', import.meta.url)), 'utf8');
  // systemd joins a line ending in a backslash with the next one.
  const exec = /^ExecStart=(.*)$/m.exec(unit.replace(/\\\n\s*/g, ' '))?.[1] ?? '';
  const [bin, command, ...args] = exec.split(/\s+/).filter((s) => s !== '');
  assert.equal(bin, '/usr/bin/swimd');
  assert.equal(command, 'haproxy');
  // Parsed for real, then stopped short by --status: exit 1 (no status yet), never 2 (a usage error).
  const r = await runCli(['haproxy', ...args, '--status', '--status-file', '/nonexistent/status.json']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no companion status/);
  const runtimeDir = /^RuntimeDirectory=(.*)$/m.exec(unit)?.[1];
  assert.equal(`/run/${runtimeDir}`, dirname(DEFAULT_STATUS_FILE));
  assert.ok(args.includes(`--status-file`) ? args[args.indexOf('--status-file') + 1] === DEFAULT_STATUS_FILE : true);
});
