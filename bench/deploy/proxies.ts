/** Starts the drill's proxy of the kind asked for (see drill-proxy.ts). */
import type { DrillProxy, DrillProxyOptions, ProxyKind } from './drill-proxy.js';
import { HaproxyDnsDrillProxy } from './haproxy-dns-proxy.js';
import { HaproxyDrillProxy } from './haproxy-proxy.js';
import { DeployProxy } from './proxy.js';

export function startDrillProxy(kind: ProxyKind, o: DrillProxyOptions): Promise<DrillProxy> {
  switch (kind) {
    case 'builtin': return DeployProxy.start(o);
    case 'haproxy': return HaproxyDrillProxy.start(o);
    case 'haproxy-dns': return HaproxyDnsDrillProxy.start(o);
  }
}
