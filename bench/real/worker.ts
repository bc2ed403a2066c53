/**
 * A real-mode worker process (forked by the coordinator, one per core): hosts a share of the agents
 * and answers the coordinator's requests over the IPC channel. Exits when the channel closes, so
 * a coordinator that dies takes its workers with it.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { AgentHost } from './agent-host.js';
import type { Calls, Op, ReplyMsg, RequestMsg } from './ipc.js';
import { TrafficMeter } from './traffic.js';

type Handlers = { [O in Op]: (args: Calls[O]['req']) => Promise<Calls[O]['res']> | Calls[O]['res'] };

const meter = new TrafficMeter();
meter.install();
const host = new AgentHost();
// Before any agent: what the runtime and the bench code cost on their own.
const rssBaseline = process.memoryUsage().rss;
/** Connected on the first profileStart only: runs without --cpu-prof-dir need no inspector session. */
let profiler: Session | null = null;

const handlers: Handlers = {
  start: async (a) => ({ ports: await host.start(a.agents, a.dir, a.profile) }),
  watch: (a) => {
    host.arm(a.name, a.watch);
    return null;
  },
  progress: (a) => ({ reached: host.reached(a.name) }),
  collect: (a) => host.collect(a.name),
  join: (a) => {
    host.join(a.seed, a.at, a.spreadMs, a.total, a.only);
    return null;
  },
  register: (a) => host.register(a.agent, a.id),
  deregister: (a) => host.deregister(a.agent, a.id),
  kill: async (a) => ({ at: await host.kill(a.agent) }),
  loss: (a) => {
    meter.setLoss(a.fraction);
    return null;
  },
  traffic: () => meter.snapshot(),
  counters: () => host.counters(),
  memory: () => {
    const m = process.memoryUsage();
    return { rss: m.rss, rssBaseline, heapUsed: m.heapUsed, agents: host.count };
  },
  profileStart: async () => {
    if (profiler === null) {
      profiler = new Session();
      profiler.connect();
    }
    await profiler.post('Profiler.enable');
    // The timed changes last tens of milliseconds: sample every 100 µs, not every 1 ms.
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
    return null;
  },
  profileStop: async (a) => {
    if (profiler === null) throw new Error('profileStop without profileStart');
    const { profile } = await profiler.post('Profiler.stop');
    await writeFile(a.file, JSON.stringify(profile));
    return null;
  },
  stop: async () => {
    await host.stopAll();
    return null;
  },
};

function reply(msg: ReplyMsg): void {
  process.send?.(msg);
}

process.on('message', (raw: RequestMsg) => {
  const handler = handlers[raw.op] as (args: unknown) => Promise<unknown> | unknown;
  Promise.resolve()
    .then(() => handler(raw.args))
    .then(
      (value) => reply({ seq: raw.seq, ok: true, value: value ?? null }),
      (err: unknown) => reply({ seq: raw.seq, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
});

process.on('disconnect', () => {
  void host.stopAll().finally(() => process.exit(0));
});

// Ctrl-C reaches the whole process group: remove the agents' sockets and data dirs on the way out.
process.once('SIGINT', () => {
  void host.stopAll().finally(() => process.exit(130));
});
