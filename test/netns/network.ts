/**
 * A private network of N hosts, each a network namespace with one address, all plugged into a
 * bridge that lives in a namespace of its own:
 *
 *     [swt<pid>-<k>-h1] eth0 ──veth── v1 ┐
 *     [swt<pid>-<k>-h2] eth0 ──veth── v2 ├─ br0  [swt<pid>-<k>-br]
 *     ...                                ┘
 *
 * Every link is created from inside the bridge namespace with its peer placed straight into the
 * host namespace, so the root namespace (the machine's real network) never sees an interface or an
 * address of ours. Addresses come from 198.18.0.0/15, the range set aside for benchmarking network
 * devices (RFC 2544): it is never routed, so nothing here can reach a real machine.
 *
 * Names carry the creating process's pid, so parallel runs never collide and a namespace whose
 * creator is gone is recognisably stale: it is removed (with any agent still inside it) the next
 * time a harness starts.
 */
import { readFileSync } from 'node:fs';
import { onAbnormalExit } from './cleanup.js';
import { must, run, runSyncQuiet } from './sys.js';

export const NS_PREFIX = 'swt';
/** Matches every namespace this harness ever creates; group 1 is the creator's pid. */
const OWN_NAMESPACE = /^swt(\d+)-/;
/** Base of the address range; host i (from 1) gets BASE + i. */
const ADDRESS_BASE = (198 << 24) | (18 << 16);
export const PREFIX_LENGTH = 15;
/** Hosts per network: far more than one machine can run agents for, and within the /15. */
export const HOSTS_MAX = 1000;
/** The interface name of every host's link, the same in every namespace (names are per namespace). */
export const HOST_IFACE = 'eth0';

export interface Host {
  /** 1-based position; the address is derived from it. */
  readonly index: number;
  /** Short name used as the agent's member name too: h1, h2, ... */
  readonly name: string;
  /** The network namespace. */
  readonly ns: string;
  readonly address: string;
}

function addressOf(index: number): string {
  const v = (ADDRESS_BASE + index) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** True while `pid` runs; a zombie (killed, not yet reaped) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/PID/stat: "pid (comm) state ...", and comm may itself contain spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** `ip netns list` prints "name (id: N)" or just "name". */
function parseNetnsList(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** SIGKILLs every process inside `ns` (agents of a dead run), synchronously. */
function killInsideSync(ns: string): void {
  for (const pid of runSyncQuiet('ip', ['netns', 'pids', ns]).split(/\s+/).filter((p) => p !== '')) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
  }
}

let staleSwept = false;

/**
 * Removes namespaces left by earlier runs whose process is gone, and the processes still inside
 * them. Namespaces of a live run (another test process right now) are left alone.
 */
export async function sweepStale(): Promise<string[]> {
  const listed = await run('ip', ['netns', 'list']);
  if (listed.code !== 0) return [];
  const stale = parseNetnsList(listed.stdout).filter((ns) => {
    const m = OWN_NAMESPACE.exec(ns);
    if (m === null) return false;
    const pid = Number(m[1]);
    return pid !== process.pid && !pidAlive(pid);
  });
  for (const ns of stale) {
    killInsideSync(ns);
    await run('ip', ['netns', 'del', ns]);
  }
  return stale;
}

let networkSeq = 0;

export class Network {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly hosts: readonly Host[];
  /** Namespaces actually created so far, so a half-built network is torn down exactly. */
  private readonly created: string[] = [];
  private destroyed = false;
  private readonly unregister: () => void;

  private constructor(n: number) {
    this.prefix = `${NS_PREFIX}${process.pid}-${++networkSeq}`;
    this.bridgeNs = `${this.prefix}-br`;
    this.hosts = Array.from({ length: n }, (_, i) => ({
      index: i + 1,
      name: `h${i + 1}`,
      ns: `${this.prefix}-h${i + 1}`,
      address: addressOf(i + 1),
    }));
    this.unregister = onAbnormalExit(() => this.destroySync());
  }

  /** Builds the network; on any failure removes what was made and rethrows. */
  static async create(n: number): Promise<Network> {
    if (!Number.isInteger(n) || n < 1 || n > HOSTS_MAX) throw new RangeError(`hosts: expected 1..${HOSTS_MAX}, got ${n}`);
    if (!staleSwept) {
      staleSwept = true;
      await sweepStale();
    }
    const net = new Network(n);
    try {
      await net.build();
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  host(nameOrIndex: string | number): Host {
    const h = typeof nameOrIndex === 'number'
      ? this.hosts[nameOrIndex - 1]
      : this.hosts.find((x) => x.name === nameOrIndex);
    if (h === undefined) throw new Error(`no host ${String(nameOrIndex)} in ${this.prefix}`);
    return h;
  }

  private async addNs(ns: string): Promise<void> {
    await must('ip', ['netns', 'add', ns]);
    this.created.push(ns);
  }

  private async build(): Promise<void> {
    await this.addNs(this.bridgeNs);
    for (const h of this.hosts) await this.addNs(h.ns);
    // One `ip -batch` per namespace instead of one process per command: a 50-host network is built
    // in about a second instead of several.
    const bridge = [
      'link add br0 type bridge',
      'link set br0 up',
      'link set lo up',
      ...this.hosts.flatMap((h) => [
        `link add v${h.index} type veth peer name ${HOST_IFACE} netns ${h.ns}`,
        `link set v${h.index} master br0`,
        `link set v${h.index} up`,
      ]),
    ];
    await must('ip', ['-n', this.bridgeNs, '-batch', '-'], { input: bridge.join('\n') + '\n' });
    for (const h of this.hosts) {
      const cmds = [
        `addr add ${h.address}/${PREFIX_LENGTH} dev ${HOST_IFACE}`,
        `link set ${HOST_IFACE} up`,
        'link set lo up',
      ];
      await must('ip', ['-n', h.ns, '-batch', '-'], { input: cmds.join('\n') + '\n' });
    }
  }

  /**
   * Deletes every namespace; deleting a namespace deletes its end of each veth, and with it the
   * pair. Processes still inside are killed first: a namespace with a process in it lives on,
   * unnamed, after `ip netns del`. Idempotent.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.created].reverse()) {
      killInsideSync(ns);
      await run('ip', ['netns', 'del', ns]);
    }
    this.created.length = 0;
    this.unregister();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.created].reverse()) {
      killInsideSync(ns);
      runSyncQuiet('ip', ['netns', 'del', ns]);
    }
  }
}
