/**
 * Can this machine run the namespace harness? Checks what the harness needs, in the order an
 * operator would fix it: Linux, root, the tools, then what the kernel actually allows (creating a
 * namespace, a veth pair, an nftables egress hook), by trying each in a throwaway namespace.
 * Delay (tc netem) is optional: without it only the delay scenario is skipped.
 */
import { NS_PREFIX } from './network.js';
import { run } from './sys.js';

export type Preflight =
  | { readonly ok: true; readonly netem: boolean; readonly netemReason: string; readonly kernel: string }
  | { readonly ok: false; readonly reason: string };

export async function preflight(): Promise<Preflight> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'network namespaces need root (run as root, e.g. in CI)' };
  }
  const missing: string[] = [];
  if ((await run('ip', ['-V'])).code !== 0) missing.push('iproute2 (ip)');
  if ((await run('nft', ['--version'])).code !== 0) missing.push('nftables (nft)');
  if (missing.length > 0) {
    return { ok: false, reason: `missing ${missing.join(' and ')}: apt-get install -y iproute2 nftables` };
  }
  const kernel = (await run('uname', ['-r'])).stdout.trim();
  const ns = `${NS_PREFIX}${process.pid}-probe`;
  const step = async (what: string, args: readonly string[], input?: string): Promise<string | null> => {
    const r = await run('ip', args, input === undefined ? {} : { input });
    return r.code === 0 ? null : `${what} failed (kernel ${kernel}): ${r.stderr.trim() || `exit ${r.code}`}`;
  };
  try {
    const failure =
      await step('creating a network namespace', ['netns', 'add', ns])
      ?? await step('creating a veth pair', ['-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'])
      ?? await step('an nftables netdev egress hook (Linux >= 5.16, CONFIG_NETFILTER_EGRESS)', ['netns', 'exec', ns, 'nft', '-f', '-'],
        'table netdev swtprobe {\n chain e { type filter hook egress device "p0" priority 0; policy accept; }\n'
        + ' chain i { type filter hook ingress device "p0" priority 0; policy accept; }\n}\n');
    if (failure !== null) return { ok: false, reason: failure };
    const netem = await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms']);
    return {
      ok: true,
      kernel,
      netem: netem.code === 0,
      netemReason: netem.code === 0 ? 'tc netem available'
        : `tc netem unavailable on kernel ${kernel}: ${netem.stderr.trim() || `exit ${netem.code}`} (sch_netem not built or not loadable)`,
    };
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}
