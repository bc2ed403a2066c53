/**
 * The coordinator's side of the worker processes: forks them, sends typed requests, and matches
 * replies by sequence number. By default the seed, agent 0, has worker 0 to itself, as each agent
 * of a fleet has its own process: a Node.js process accepts one connection per turn of its event
 * loop, and in a process shared by a hundred agents a turn is a hundred agents' work, so a shared
 * seed takes seconds to accept the connections of a fleet joining through it that its own process
 * accepts in a fraction of a second. The other agents are spread evenly over the shared workers.
 * With `sharedSeed` the seed is one of them (agent i in worker i mod W), as before.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Calls, Op, ReplyMsg, RequestMsg } from './ipc.js';

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url));

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

export class WorkerPool {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(private readonly children: ChildProcess[], private readonly sharedSeed: boolean) {
    for (const [i, child] of children.entries()) {
      child.on('message', (m: ReplyMsg) => this.onReply(m));
      child.on('exit', (code, signal) => {
        if (this.closed) return;
        const why = new Error(`bench worker ${i} exited (${signal ?? `code ${code}`})`);
        for (const p of this.pending.values()) p.reject(why);
        this.pending.clear();
      });
    }
  }

  /** `shared`: the worker processes the agents share; the seed's comes on top unless `sharedSeed`. */
  static open(shared: number, sharedSeed: boolean): WorkerPool {
    const children: ChildProcess[] = [];
    for (let i = 0; i < shared + (sharedSeed ? 0 : 1); i++) {
      children.push(fork(WORKER_PATH, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' }));
    }
    return new WorkerPool(children, sharedSeed);
  }

  get size(): number {
    return this.children.length;
  }

  /** Processes the agents other than the seed share. */
  get shared(): number {
    return this.sharedSeed ? this.children.length : this.children.length - 1;
  }

  /** Whether the seed has a process of its own. */
  get seedAlone(): boolean {
    return !this.sharedSeed;
  }

  workerOf(agent: number): number {
    if (this.sharedSeed) return agent % this.children.length;
    return agent === 0 ? 0 : 1 + ((agent - 1) % this.shared);
  }

  call<O extends Op>(worker: number, op: O, args: Calls[O]['req']): Promise<Calls[O]['res']> {
    const child = this.children[worker];
    if (child === undefined) return Promise.reject(new Error(`no worker ${worker}`));
    const seq = ++this.seq;
    return new Promise<Calls[O]['res']>((resolve, reject) => {
      // The worker answers with the type the table names for this op; it is our own code.
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      const msg: RequestMsg = { seq, op, args };
      child.send(msg, (err) => {
        if (err !== null) {
          this.pending.delete(seq);
          reject(err);
        }
      });
    });
  }

  /** The same request to every worker, replies in worker order. */
  all<O extends Op>(op: O, args: Calls[O]['req']): Promise<Calls[O]['res'][]> {
    return Promise.all(this.children.map((_, i) => this.call(i, op, args)));
  }

  /** Stops every agent, then lets the workers exit. */
  async close(): Promise<void> {
    try {
      await this.all('stop', null);
    } finally {
      this.closed = true;
      await Promise.all(this.children.map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.disconnect();
        // A worker stuck in shutdown must not hold the bench open.
        setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
      })));
    }
  }

  private onReply(m: ReplyMsg): void {
    const p = this.pending.get(m.seq);
    if (p === undefined) return;
    this.pending.delete(m.seq);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`bench worker: ${m.error}`));
  }
}
