/**
 * The service catalog across 5 real agents on loopback (lan profile), driven through the real
 * `swimd` executable: --wait as a propagation barrier, HTTP and TTL checks, watch streams and their
 * resume by index, and a --wait that cannot complete because a member is stopped. Assertions are
 * about behaviour; the measured times are printed as diagnostics.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { ServiceEntry, WatchEvent } from '../client/index.js';
import { CLI_PATH, PORT_SEED, runCli, waitFor, within, withCluster, type Agent, type Cluster } from './helpers/cluster.js';

const N = 5;
const WAIT_MS = 30_000;

interface Seen {
  readonly at: number;
  readonly event: WatchEvent;
  readonly text: string;
}

/** A watch stream on one agent, in this process, recording when each line arrived. */
class Watcher {
  readonly lines: Seen[] = [];
  failure: unknown = null;
  private readonly ctl = new AbortController();
  private readonly done: Promise<void>;

  constructor(readonly agent: Agent, index?: number) {
    this.done = (async () => {
      try {
        for await (const l of agent.client.watchLines({ signal: this.ctl.signal, ...(index === undefined ? {} : { index }) })) {
          this.lines.push({ at: performance.now(), event: l.event, text: l.text });
        }
      } catch (e) {
        this.failure = e;
      }
    })();
  }

  /** The first line (in arrival order) that `match` accepts, waiting for it if need be. */
  until(what: string, match: (e: WatchEvent) => boolean): Promise<Seen> {
    return waitFor(`${what} on the watch of ${this.agent.name}`, () => {
      if (this.failure !== null) throw this.failure;
      return this.lines.find((l) => match(l.event)) ?? false;
    }, WAIT_MS, 5);
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.done;
  }
}

function serviceEvent(id: string, event: string): (e: WatchEvent) => boolean {
  return (e) => e.type === 'service' && e.service.id === id && e.event === event;
}

async function find(agent: Agent, id: string): Promise<ServiceEntry | undefined> {
  return (await agent.client.services()).find((s) => s.id === id);
}

/** Waits until every agent shows the instance in a state `ok` accepts; returns the elapsed ms. */
async function everywhere(c: Cluster, id: string, what: string, ok: (s: ServiceEntry | undefined) => boolean): Promise<number> {
  const started = performance.now();
  await waitFor(`${id} ${what} on every agent`, async () => {
    const views = await Promise.all(c.agents.filter((a) => c.running(a)).map((a) => find(a, id)));
    return views.every(ok);
  }, WAIT_MS, 10);
  return Math.round(performance.now() - started);
}

async function cli(agent: Agent, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const r = await runCli([...args, '--socket', agent.socket]);
  return { ...r, ms: Math.round(performance.now() - started) };
}

const ms = (n: number): string => `${Math.round(n)} ms`;

test(`${N} agents: catalog changes with --wait, checks, watch`, { timeout: 300_000 }, async (t) => {
  const timings: string[] = [];
  const record = (line: string): void => {
    timings.push(line);
    t.diagnostic(line);
  };
  await withCluster(t, N, { profile: 'lan' }, async (c) => {
    t.diagnostic(`ports ${c.agents.map((a) => a.port).join(',')} (SWIMD_TEST_SEED=${PORT_SEED})`);
    const [A, B, C, D, E] = c.agents as [Agent, Agent, Agent, Agent, Agent];
    await waitFor('every agent to list all agents alive', async () => {
      const views = await Promise.all(c.agents.map((a) => c.membersOf(a)));
      return views.every((v) => v.length === N && v.every((m) => m.status === 'alive'));
    }, WAIT_MS);
    const watchers = c.agents.map((a) => new Watcher(a));
    await Promise.all(watchers.map((w) => w.until('the snapshot', (e) => e.type === 'snapshot')));
    const watchOf = (a: Agent): Watcher => watchers[c.agents.indexOf(a)] as Watcher;

    // register --wait on A: listed on every agent, E included, the moment the command returns.
    const reg = await cli(A, 'register', '--name', 'web', '--id', 'web-1', '--port', '8080', '--tag', 'v1',
      '--meta', 'zone=a', '--version', '1.0', '--wait', '10s', '--json');
    assert.equal(reg.code, 0, reg.stderr);
    const regStartedAt = performance.now() - reg.ms;
    for (const a of [E, ...c.agents]) {
      const s = await find(a, 'web-1');
      assert.equal(s?.node, A.name, `web-1 on ${a.name} when register --wait returned`);
      assert.deepEqual([s?.port, s?.tags, s?.meta, s?.version, s?.health], [8080, ['v1'], { zone: 'a' }, '1.0', 'passing']);
    }
    const regWait = (JSON.parse(reg.stdout) as { wait: { elapsed_ms: number; confirmed: number } }).wait;
    assert.equal(regWait.confirmed, N - 1);
    const arrivals = await Promise.all(watchers.map((w) => w.until('web-1 registered', serviceEvent('web-1', 'registered'))));
    record(`register --wait (CLI process, start to exit): ${ms(reg.ms)}; barrier inside the agent: ${regWait.elapsed_ms} ms`);
    record(`register on ${A.name} -> watch line on every agent: ${arrivals.map((s, i) => `${c.agents[i]?.name} ${ms(s.at - regStartedAt)}`).join(', ')} ` +
      '(measured from the CLI start, so node start-up is included)');

    // The same through the client library, so that process start-up is not in the numbers.
    const t0 = performance.now();
    const api = await A.client.register({ name: 'api', id: 'api-1', port: 9090 }, { wait: '10s' });
    const apiWaited = performance.now() - t0;
    assert.equal(api.wait?.done, true);
    const apiSeen = await Promise.all(watchers.map((w) => w.until('api-1 registered', serviceEvent('api-1', 'registered'))));
    const delays = apiSeen.map((s) => s.at - t0);
    record(`register via the client (${A.name}): --wait returned after ${ms(apiWaited)} (barrier ${api.wait?.elapsedMs} ms); ` +
      `watch delivery: on ${A.name} ${ms(delays[0] ?? NaN)}, slowest agent ${ms(Math.max(...delays))} after the call`);

    // drain and undrain --wait: E shows the change when the command returns.
    const drain = await cli(A, 'drain', 'web-1', '--wait', '10s');
    assert.equal(drain.code, 0, drain.stderr);
    assert.match(drain.stdout, new RegExp(`^drained web-1; confirmed by all ${N - 1} other alive members in \\d+ ms\\n$`));
    for (const a of c.agents) assert.equal((await find(a, 'web-1'))?.draining, true, `draining on ${a.name}`);
    await Promise.all(watchers.map((w) => w.until('web-1 drained', serviceEvent('web-1', 'drained'))));
    record(`drain --wait (CLI): ${ms(drain.ms)}`);
    const undrain = await cli(A, 'undrain', 'web-1', '--wait');
    assert.equal(undrain.code, 0, undrain.stderr);
    for (const a of c.agents) assert.equal((await find(a, 'web-1'))?.draining, false, `undrained on ${a.name}`);

    // deregister --wait: gone from E when the command returns.
    const dereg = await cli(A, 'deregister', 'api-1', '--wait', '10s');
    assert.equal(dereg.code, 0, dereg.stderr);
    for (const a of c.agents) assert.equal(await find(a, 'api-1'), undefined, `api-1 gone from ${a.name}`);
    await Promise.all(watchers.map((w) => w.until('api-1 deregistered', serviceEvent('api-1', 'deregistered'))));
    record(`deregister --wait (CLI): ${ms(dereg.ms)}`);

    // An HTTP check on B against a local server: passing while it answers, critical on every agent once it stops.
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const checked = await cli(B, 'register', '--name', 'shop', '--id', 'shop-1', '--port', '7070', '--check-http', url, '--interval', '1s');
    assert.equal(checked.code, 0, checked.stderr);
    await everywhere(c, 'shop-1', 'passing', (s) => s?.health === 'passing');
    const stoppedAt = performance.now();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await everywhere(c, 'shop-1', 'critical after its server stopped', (s) => s?.health === 'critical');
    const critical = await watchOf(E).until('shop-1 critical', (e) => serviceEvent('shop-1', 'health')(e) && e.type === 'service' && e.service.health === 'critical');
    record(`http check (interval 1s, 2 failures to turn critical): server stopped -> critical on all ${N}: ${ms(performance.now() - stoppedAt)}; ` +
      `on ${E.name}'s watch ${ms(critical.at - stoppedAt)}`);

    // A TTL check on C: passing once reported, critical everywhere when the report is not renewed.
    const ttl = await cli(C, 'register', '--name', 'worker', '--id', 'worker-1', '--port', '6060', '--check-ttl', '1s');
    assert.equal(ttl.code, 0, ttl.stderr);
    const pass = await cli(C, 'check', 'pass', 'worker-1', '--note', 'all good');
    assert.equal(pass.code, 0, pass.stderr);
    const reportedAt = performance.now();
    assert.match(pass.stdout, /^worker-1: reported pass; health passing\n$/);
    await everywhere(c, 'worker-1', 'passing', (s) => s?.health === 'passing');
    await everywhere(c, 'worker-1', 'critical after its TTL ran out', (s) => s?.health === 'critical');
    record(`ttl check (1s): last report -> critical on all ${N}: ${ms(performance.now() - reportedAt)}`);

    // Resume by index: a second watch on D from an index in the middle sees exactly what followed it.
    const dWatch = watchOf(D);
    const events = (): Seen[] => dWatch.lines.filter((l) => l.event.type === 'service' || l.event.type === 'member');
    const from = events().find((l) => serviceEvent('web-1', 'drained')(l.event));
    assert.ok(from !== undefined);
    await D.client.register({ name: 'late', id: 'late-1', port: 5050 }); // D's own change, after `from`
    const last = await dWatch.until('late-1 registered', serviceEvent('late-1', 'registered'));
    const resumed = new Watcher(D, from.event.index);
    await resumed.until('late-1 registered (resumed)', serviceEvent('late-1', 'registered'));
    await resumed.stop();
    const expected = events().filter((l) => l.event.index > from.event.index && l.event.index <= last.event.index).map((l) => l.text);
    const got = resumed.lines.filter((l) => l.event.type !== 'heartbeat').map((l) => l.text);
    assert.ok(expected.length >= 4, `events after the drain: ${expected.length}`);
    assert.deepEqual(got, expected);
    // An index this agent never issued gets a reset snapshot rather than a gap.
    const stale = new Watcher(D, 1);
    const reset = await stale.until('a reset snapshot', (e) => e.type === 'snapshot');
    await stale.stop();
    assert.ok(reset.event.type === 'snapshot' && reset.event.reset);
    assert.ok(reset.event.type === 'snapshot' && reset.event.services.some((s) => s.id === 'late-1'));
    record(`watch resume on ${D.name} from index ${from.event.index}: ${got.length} events, identical to the original stream`);

    // Indexes only go up, on every stream.
    for (const w of watchers) {
      const idx = w.lines.filter((l) => l.event.type !== 'heartbeat').map((l) => l.event.index);
      idx.forEach((v, i) => i > 0 && assert.ok(v > (idx[i - 1] ?? 0), `indexes increase on ${w.agent.name}`));
    }

    // --wait with E stopped: fails after its duration and names E (700 ms is shorter than failure detection).
    const watchCli = spawn(process.execPath, [CLI_PATH, 'watch', '--json', '--retry-for', '1s', '--socket', E.socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let watchOut = '';
    let watchErr = '';
    watchCli.stdout.on('data', (b: Buffer) => { watchOut += b.toString('utf8'); });
    watchCli.stderr.on('data', (b: Buffer) => { watchErr += b.toString('utf8'); });
    const watchExit = new Promise<number | null>((r) => watchCli.on('exit', (code) => r(code)));
    await waitFor('swimd watch to print its snapshot', () => watchOut.includes('"type":"snapshot"'), WAIT_MS);
    c.kill(E, 'SIGSTOP');
    let stopped: Awaited<ReturnType<typeof cli>>;
    try {
      stopped = await cli(A, 'register', '--name', 'web', '--id', 'web-2', '--port', '8081', '--wait', '700ms');
    } finally {
      c.kill(E, 'SIGCONT');
    }
    if (stopped.code === 0) {
      // On a loaded machine the CLI's own start-up can outlast failure detection: E is then declared
      // dead during the wait, which no longer holds the barrier up, and the answer still names E.
      assert.match(stopped.stdout, new RegExp(`not by 1 member that stopped answering during the wait:\\n  ${E.name}: declared dead during the wait, did not confirm`), stopped.stdout);
      record(`register --wait 700ms with ${E.name} stopped: ${E.name} declared dead during the wait and named, exit 0 after ${ms(stopped.ms)}`);
    } else {
      assert.equal(stopped.code, 1, stopped.stdout);
      assert.match(stopped.stderr, new RegExp(`^swimd: registered web-2, but 1 member had not confirmed it within 700ms: ${E.name} \\(${N - 2} members did\\)\\n$`));
      assert.ok(stopped.ms >= 700, `${stopped.ms}`);
      record(`register --wait 700ms with ${E.name} stopped: exit 1 after ${ms(stopped.ms)}, naming ${E.name}`);
    }
    // The registration stands: after SIGCONT, E catches up by itself.
    const caughtUp = await everywhere(c, 'web-2', 'listed after SIGCONT', (s) => s !== undefined);
    record(`after SIGCONT: web-2 on every agent within ${ms(caughtUp)}`);
    await waitFor('every agent alive again', async () => {
      const views = await Promise.all(c.agents.map((a) => c.membersOf(a)));
      return views.every((v) => v.every((m) => m.status === 'alive'));
    }, WAIT_MS);
    await waitFor(`swimd watch on ${E.name} to print web-2`, () => watchOut.includes('"id":"web-2"'), WAIT_MS);

    // swimd watch exits 1 with a message once its agent is gone for longer than --retry-for.
    c.kill(E, 'SIGKILL');
    await E.exited;
    const code = await within(watchExit, WAIT_MS);
    assert.equal(code, 1, watchErr);
    assert.match(watchErr, /^swimd: lost the agent: /);
    for (const w of watchers) await w.stop();
    for (const w of watchers.filter((x) => x.agent !== E)) assert.equal(w.failure, null, `watch on ${w.agent.name}`);
  });
  console.log(`catalog integration timings (profile lan, ${N} agents):\n  ${timings.join('\n  ')}`);
});
