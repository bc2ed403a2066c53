/**
 * Real agents on loopback, driven through signals and the real `swimd` CLI. Assertions are about
 * behaviour; timeouts are generous. The measured times are printed as diagnostics for the record.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MEMBER_STATUSES, type Member, type MemberStatus } from '../client/index.js';
import { PROFILES } from '../protocol/profiles.js';
import { PORT_SEED, runCli, sleep, waitFor, within, withCluster, type Agent, type Cluster } from './helpers/cluster.js';

const N = 5;
const WAIT_MS = 30_000;

/** `swimd members --json` on the agent, through the real executable, decoded and checked. */
async function cliMembers(agent: Agent): Promise<Member[]> {
  const r = await runCli(['members', '--json', '--socket', agent.socket]);
  assert.equal(r.code, 0, `swimd members on ${agent.name}: ${r.stderr}`);
  const parsed: unknown = JSON.parse(r.stdout);
  assert.ok(Array.isArray(parsed));
  return parsed.map((v: unknown) => {
    assert.ok(typeof v === 'object' && v !== null);
    const m = v as Record<string, unknown>;
    assert.equal(typeof m['name'], 'string');
    assert.equal(typeof m['address'], 'string');
    assert.equal(typeof m['port'], 'number');
    assert.equal(typeof m['incarnation'], 'number');
    assert.ok(MEMBER_STATUSES.includes(m['status'] as MemberStatus));
    return m as unknown as Member;
  });
}

/** Every observer's view of `target`, or false while any observer cannot answer or lacks it. */
async function viewsOf(c: Cluster, observers: readonly Agent[], target: string): Promise<Member[] | false> {
  const views = await Promise.all(observers.map(async (o) => (await c.membersOf(o)).find((m) => m.name === target)));
  return views.every((v) => v !== undefined) ? (views as Member[]) : false;
}

/** Waits until every observer lists `target` in a state `ok` accepts; returns the elapsed ms. */
async function untilEveryone(c: Cluster, observers: readonly Agent[], target: string, what: string,
  ok: (m: Member) => boolean): Promise<{ ms: number; views: Member[] }> {
  const started = Date.now();
  const views = await waitFor(`${what} (${target} as seen by ${observers.map((o) => o.name).join(',')})`, async () => {
    const v = await viewsOf(c, observers, target);
    return v !== false && v.every(ok) ? v : false;
  }, WAIT_MS);
  return { ms: Date.now() - started, views };
}

function others(c: Cluster, agent: Agent): Agent[] {
  return c.agents.filter((a) => a !== agent && c.running(a));
}

test(`${N} agents: join, SIGKILL, restart, SIGTERM, SIGSTOP/SIGCONT`, { timeout: 240_000 }, async (t) => {
  const timings: string[] = [];
  const record = (line: string): void => {
    timings.push(line);
    t.diagnostic(line);
  };
  const spawnedAt = Date.now();
  await withCluster(t, N, { profile: 'local' }, async (c) => {
    const startedAt = Date.now();
    t.diagnostic(`ports ${c.agents.map((a) => a.port).join(',')} (SWIMD_TEST_SEED=${PORT_SEED})`);

    // All join through n0: every agent lists every agent alive.
    await waitFor('every agent to list all agents alive', async () => {
      const views = await Promise.all(c.agents.map((a) => c.membersOf(a)));
      return views.every((v) => v.length === N && v.every((m) => m.status === 'alive'));
    }, WAIT_MS);
    const convergedAt = Date.now();
    record(`join: all ${N} see each other alive ${convergedAt - startedAt} ms after the last agent started ` +
      `(${convergedAt - spawnedAt} ms after the first was spawned)`);
    for (const a of c.agents) {
      const ms = await cliMembers(a);
      assert.deepEqual(ms.map((m) => m.name).sort(), c.agents.map((x) => x.name).sort(), `members on ${a.name}`);
      assert.ok(ms.every((m) => m.status === 'alive'), `all alive on ${a.name}`);
      const self = ms.find((m) => m.name === a.name);
      assert.equal(self?.port, a.port);
      assert.equal(self?.address, '127.0.0.1');
    }

    // SIGKILL: no goodbye, so the others must detect the failure and agree it is dead.
    const crashed = c.agents[N - 1] as Agent;
    const beforeCrash = (await viewsOf(c, others(c, crashed), crashed.name)) || [];
    c.kill(crashed, 'SIGKILL');
    await crashed.exited;
    const dead = await untilEveryone(c, others(c, crashed), crashed.name, 'dead after SIGKILL', (m) => m.status === 'dead');
    record(`SIGKILL: ${crashed.name} dead everywhere after ${dead.ms} ms`);
    const onSeed = await cliMembers(c.agents[0] as Agent);
    assert.equal(onSeed.find((m) => m.name === crashed.name)?.status, 'dead');
    const deadIncarnation = Math.max(...dead.views.map((m) => m.incarnation), ...beforeCrash.map((m) => m.incarnation));

    // Restart from the same data dir: it must refute its death with a higher incarnation.
    const restartAt = Date.now();
    await c.restart(crashed);
    const back = await untilEveryone(c, c.agents, crashed.name, 'alive again after restart',
      (m) => m.status === 'alive' && m.incarnation > deadIncarnation);
    record(`restart: ${crashed.name} alive everywhere ${Date.now() - restartAt} ms after its restart ` +
      `(incarnation ${deadIncarnation} -> ${back.views[0]?.incarnation})`);
    for (const a of c.agents) {
      const m = (await cliMembers(a)).find((x) => x.name === crashed.name);
      assert.equal(m?.status, 'alive', `restarted member on ${a.name}`);
      assert.ok((m?.incarnation ?? 0) > deadIncarnation);
    }

    // SIGTERM: a graceful leave, then a clean exit.
    const leaving = c.agents[N - 2] as Agent;
    c.kill(leaving, 'SIGTERM');
    const left = await untilEveryone(c, others(c, leaving), leaving.name, 'left after SIGTERM', (m) => m.status === 'left');
    record(`SIGTERM: ${leaving.name} left everywhere after ${left.ms} ms`);
    const exit = await within(leaving.exited, WAIT_MS);
    assert.deepEqual(exit, { code: 0, signal: null }, 'agent exits 0 after SIGTERM');
    for (const a of others(c, leaving)) {
      assert.equal((await cliMembers(a)).find((m) => m.name === leaving.name)?.status, 'left', `left on ${a.name}`);
    }

    // SIGSTOP past the suspicion timeout: the others suspect (or bury) it; after SIGCONT it refutes.
    const paused = c.agents[N - 3] as Agent;
    const live = c.agents.filter((a) => c.running(a)).length;
    const p = PROFILES.local;
    const suspicionMaxMs = p.suspicionMult * Math.max(1, Math.log10(live)) * p.probeIntervalMs * p.suspicionMaxMult;
    const pauseMs = suspicionMaxMs + 4 * p.probeIntervalMs;
    const incBefore = Math.max(...((await viewsOf(c, c.agents.filter((a) => c.running(a)), paused.name)) || []).map((m) => m.incarnation));
    const seen = new Set<MemberStatus>();
    const stoppedAt = Date.now();
    c.kill(paused, 'SIGSTOP');
    try {
      await waitFor(`${paused.name} suspected or declared dead while stopped`, async () => {
        const views = await viewsOf(c, others(c, paused), paused.name);
        if (views === false) return false;
        for (const v of views) seen.add(v.status);
        return views.some((v) => v.status === 'suspect' || v.status === 'dead');
      }, WAIT_MS);
      const noticed = Date.now() - stoppedAt;
      // Keep it stopped past the longest suspicion, noting what the others decide meanwhile.
      while (Date.now() - stoppedAt < pauseMs) {
        const views = await viewsOf(c, others(c, paused), paused.name);
        if (views !== false) for (const v of views) seen.add(v.status);
        await sleep(50);
      }
      record(`SIGSTOP: ${paused.name} first suspected/dead after ${noticed} ms; stopped ${Date.now() - stoppedAt} ms; ` +
        `states seen: ${[...seen].sort().join(',')}`);
    } finally {
      c.kill(paused, 'SIGCONT');
    }
    const contAt = Date.now();
    const resumed = await untilEveryone(c, c.agents.filter((a) => c.running(a)), paused.name, 'alive again after SIGCONT',
      (m) => m.status === 'alive' && m.incarnation > incBefore);
    record(`SIGCONT: ${paused.name} alive everywhere ${Date.now() - contAt} ms after SIGCONT ` +
      `(incarnation ${incBefore} -> ${resumed.views[0]?.incarnation})`);
    assert.ok(seen.has('suspect') || seen.has('dead'));

    // The member that left stays left; nobody else was disturbed.
    for (const a of c.agents.filter((x) => c.running(x))) {
      const ms = await cliMembers(a);
      for (const m of ms) assert.equal(m.status, m.name === leaving.name ? 'left' : 'alive', `${m.name} on ${a.name}`);
    }
  });
  console.log(`integration timings (profile local, ${N} agents):\n  ${timings.join('\n  ')}`);
});

test('bad start-up input fails with a clear message and a non-zero exit', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swimd-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'a.sock');

  const badField = join(dir, 'bad-field.json');
  writeFileSync(badField, JSON.stringify({ bind: 7946 }));
  const r1 = await runCli(['agent', '--config', badField, '--socket', socket]);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr, new RegExp(`${badField.replace(/[.]/g, '\\.')}.*bind`));

  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"name": "x",');
  const r2 = await runCli(['agent', '--config', badJson, '--socket', socket]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /bad\.json.*JSON/);

  const unknownField = join(dir, 'unknown.json');
  writeFileSync(unknownField, JSON.stringify({ dataDir: '/tmp/x' }));
  const r3 = await runCli(['agent', '--config', unknownField, '--socket', socket]);
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /dataDir.*data_dir/);

  const missing = await runCli(['agent', '--config', join(dir, 'absent.json'), '--socket', socket]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /absent\.json.*ENOENT/);

  const flag = await runCli(['agent', '--no-such-flag']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown option '--no-such-flag'/);

  const noAgent = await runCli(['members', '--socket', socket]);
  assert.equal(noAgent.code, 1);
  assert.equal(noAgent.stderr, `swimd: no agent listening on ${socket} (is \`swimd agent\` running?)\n`);
});

/** One raw HTTP/1.1 exchange over the socket, so requests no well-behaved client sends can be made. */
function rawHttp(socket: string, head: string, body: Buffer | string = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    const chunks: Buffer[] = [];
    conn.on('data', (c: Buffer) => chunks.push(c));
    // The agent may refuse before reading the whole body; the write then fails, the answer stands.
    conn.on('error', () => undefined);
    conn.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m === null) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    conn.write(head);
    conn.end(body);
  });
}

test('the API answers 400 to malformed JSON, 413 to oversized bodies, and keeps serving', { timeout: 60_000 }, async (t) => {
  await withCluster(t, 1, { profile: 'local' }, async (c) => {
    const a = c.agents[0] as Agent;
    const post = (body: string, extra = ''): string =>
      `POST /v1/join HTTP/1.1\r\nHost: swimd\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

    for (const body of ['{"addresses": [', 'not json at all', '']) {
      const r = await rawHttp(a.socket, post(body), body);
      assert.equal(r.status, 400, `body ${JSON.stringify(body)}`);
      assert.match(JSON.parse(r.body).error, /./);
    }
    const wrongShape = await rawHttp(a.socket, post('{"addresses": "127.0.0.1:1"}'), '{"addresses": "127.0.0.1:1"}');
    assert.equal(wrongShape.status, 400);

    const big = JSON.stringify({ addresses: Array.from({ length: 8000 }, (_, i) => `127.0.0.1:${1000 + i}`) });
    assert.ok(big.length > 64 * 1024);
    const declared = await rawHttp(a.socket, post(big), big);
    assert.equal(declared.status, 413);
    assert.match(JSON.parse(declared.body).error, /./);
    const chunked = await rawHttp(a.socket,
      'POST /v1/join HTTP/1.1\r\nHost: swimd\r\nContent-Type: application/json\r\nConnection: close\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n', `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    assert.equal(chunked.status, 413);

    const info = await a.client.info();
    assert.equal(info.name, a.name);
    const r = await runCli(['info', '--json', '--socket', a.socket]);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).name, a.name);
  });
});
