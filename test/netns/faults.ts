/**
 * Network faults, applied with nftables (loss, partitions) and tc netem (delay) inside each host's
 * namespace.
 *
 * Why the netdev ingress/egress hooks on eth0 and not the inet input/output hooks: a packet dropped
 * in the output (or postrouting) hook makes the sender's sendmsg() fail with EPERM, so the agent
 * would see send errors instead of silence — real loss on a wire never tells the sender anything.
 * A drop at the device egress hook is silent for UDP and looks like any lost segment to TCP. The
 * ingress hook mirrors it for the receiving side. Loopback never passes these hooks, so an agent's
 * traffic with itself is never touched.
 *
 * Loss semantics: a host with loss P drops P% of the packets it sends and P% of those it receives.
 * A packet between two lossy hosts therefore crosses two drops: end-to-end loss 1 − (1 − P)²
 * (5% → 9.75%, 15% → 27.75%), and a probe round trip (ping + ack) crosses four. Scenario reports
 * state both figures.
 *
 * Loss applies to TCP as well as UDP by default: a lossy link drops both, and the push-pull
 * exchanges (TCP) that repair missed gossip and run joins are part of what is under test; TCP
 * recovers by retransmission, so for it loss shows as delay. `udpOnly` restricts loss to the gossip
 * datagrams. Partitions always drop everything, TCP included. ARP is never dropped (it is not IP),
 * so a partition is a pure IP-level cut and healing it needs no neighbour re-resolution.
 *
 * Each host's rules are rendered as a whole from its fault state and replaced in one nft
 * transaction, so a change never leaves a half-applied rule set.
 */
import { HOST_IFACE, type Host } from './network.js';
import { must, run } from './sys.js';

const TABLE = 'swt';

export interface LossOptions {
  /** Drop only UDP (gossip); TCP push-pull passes untouched. Default false. */
  readonly udpOnly?: boolean;
}

export interface DelayOptions {
  readonly jitterMs?: number;
}

export interface HostFaults {
  lossPct: number;
  udpOnly: boolean;
  /** Addresses whose packets this host never receives (enforced at this host's ingress). */
  readonly deaf: Set<string>;
  delayMs: number;
}

export class NetemUnsupported extends Error {
  override readonly name = 'NetemUnsupported';
}

/** Renders one host's table; exported for the unit check of the rule text. */
export function renderRules(f: Readonly<HostFaults>): string {
  const lossMatch = f.udpOnly ? 'ip protocol udp' : 'meta protocol ip';
  const loss = f.lossPct <= 0 ? []
    : f.lossPct >= 100 ? [`${lossMatch} drop`]
    : [`${lossMatch} numgen random mod 100 < ${Math.round(f.lossPct)} drop`];
  const deaf = f.deaf.size === 0 ? [] : [`ip saddr { ${[...f.deaf].sort().join(', ')} } drop`];
  const chain = (name: string, hook: string, rules: readonly string[]): string =>
    `  chain ${name} {\n    type filter hook ${hook} device "${HOST_IFACE}" priority 0; policy accept;\n`
    + rules.map((r) => `    ${r}\n`).join('') + '  }\n';
  // "table" then "delete table" makes the delete safe when the table does not exist yet; the
  // whole script is one transaction.
  return `table netdev ${TABLE}\ndelete table netdev ${TABLE}\n`
    + `table netdev ${TABLE} {\n${chain('ingress', 'ingress', [...deaf, ...loss])}${chain('egress', 'egress', loss)}}\n`;
}

export class Faults {
  private readonly state = new Map<string, HostFaults>();
  /** Set when netem was found missing, so later calls fail fast with the same reason. */
  private netemError: string | null = null;

  constructor(private readonly hosts: readonly Host[]) {
    for (const h of hosts) this.state.set(h.name, { lossPct: 0, udpOnly: false, deaf: new Set(), delayMs: 0 });
  }

  private of(h: Host): HostFaults {
    const f = this.state.get(h.name);
    if (f === undefined) throw new Error(`host ${h.name} is not in this network`);
    return f;
  }

  private async apply(hosts: Iterable<Host>): Promise<void> {
    await Promise.all([...new Set(hosts)].map((h) =>
      must('ip', ['netns', 'exec', h.ns, 'nft', '-f', '-'], { input: renderRules(this.of(h)) })));
  }

  /** Each of `hosts` drops `pct`% of what it sends and of what it receives. */
  async setLoss(hosts: readonly Host[], pct: number, opts: LossOptions = {}): Promise<void> {
    if (!(pct >= 0 && pct <= 100)) throw new RangeError(`loss: expected 0..100 %, got ${pct}`);
    for (const h of hosts) {
      const f = this.of(h);
      f.lossPct = pct;
      f.udpOnly = opts.udpOnly === true;
    }
    await this.apply(hosts);
  }

  async clearLoss(hosts: readonly Host[] = this.hosts): Promise<void> {
    await this.setLoss(hosts, 0);
  }

  /** One-way cut: packets from any of `from` never reach any of `to`; the other direction still flows. */
  async block(from: readonly Host[], to: readonly Host[]): Promise<void> {
    for (const t of to) for (const f of from) if (f !== t) this.of(t).deaf.add(f.address);
    await this.apply(to);
  }

  /** Full partition: no packet crosses between the two groups, in either direction. */
  async partition(a: readonly Host[], b: readonly Host[]): Promise<void> {
    for (const x of a) for (const y of b) {
      this.of(x).deaf.add(y.address);
      this.of(y).deaf.add(x.address);
    }
    await this.apply([...a, ...b]);
  }

  /** Removes every partition and one-way cut (loss and delay stay). */
  async heal(): Promise<void> {
    const touched = this.hosts.filter((h) => this.of(h).deaf.size > 0);
    for (const h of touched) this.of(h).deaf.clear();
    await this.apply(touched);
  }

  /** Delays every packet `host` sends by `ms` (netem on its eth0). Throws NetemUnsupported if the kernel lacks it. */
  async setDelay(host: Host, ms: number, opts: DelayOptions = {}): Promise<void> {
    if (this.netemError !== null) throw new NetemUnsupported(this.netemError);
    const f = this.of(host);
    const verb = f.delayMs > 0 ? 'change' : 'add';
    const args = ['netns', 'exec', host.ns, 'tc', 'qdisc', verb, 'dev', HOST_IFACE, 'root', 'netem', 'delay', `${ms}ms`];
    if (opts.jitterMs !== undefined && opts.jitterMs > 0) args.push(`${opts.jitterMs}ms`);
    const r = await run('ip', args);
    if (r.code !== 0) {
      if (/unknown|not supported|No such file/i.test(r.stderr) || r.code === 127) {
        this.netemError = `tc netem is not available here: ${r.stderr.trim() || `exit ${r.code}`}`;
        throw new NetemUnsupported(this.netemError);
      }
      throw new Error(`ip ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    }
    f.delayMs = ms;
  }

  async clearDelay(host: Host): Promise<void> {
    const f = this.of(host);
    if (f.delayMs === 0) return;
    await must('ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'del', 'dev', HOST_IFACE, 'root']);
    f.delayMs = 0;
  }

  /** Every fault off, on every host. */
  async clearAll(): Promise<void> {
    for (const h of this.hosts) {
      const f = this.of(h);
      f.lossPct = 0;
      f.deaf.clear();
    }
    await this.apply(this.hosts);
    for (const h of this.hosts) await this.clearDelay(h);
  }

  /** A one-line summary of the faults in force, for diagnostics. */
  describe(): string {
    const parts: string[] = [];
    for (const h of this.hosts) {
      const f = this.of(h);
      const bits: string[] = [];
      if (f.lossPct > 0) bits.push(`loss ${f.lossPct}%${f.udpOnly ? ' udp' : ''}`);
      if (f.deaf.size > 0) bits.push(`deaf to ${[...f.deaf].join(',')}`);
      if (f.delayMs > 0) bits.push(`delay ${f.delayMs}ms`);
      if (bits.length > 0) parts.push(`${h.name}: ${bits.join('; ')}`);
    }
    return parts.length === 0 ? 'no faults' : parts.join(' | ');
  }
}

/** End-to-end loss of one packet between two hosts that each drop `pct`% in and out. */
export function pathLossPct(pct: number): number {
  return 100 * (1 - (1 - pct / 100) ** 2);
}
