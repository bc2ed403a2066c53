import type { ConsulInstance } from './shapes.js';

/**
 * Prometheus's HTTP service discovery format (prometheus.io/docs/prometheus/latest/http_sd/): a
 * JSON array of target groups, each `{"targets": ["host:port"], "labels": {...}}`. One group per
 * routable instance, since each carries its own labels. Label names follow consul_sd's so that
 * relabelling rules read alike: `__meta_swimd_service`, `_service_id`, `_node`, `_address` (the
 * node's), `_dc`, `_tags` (",a,b," — the separator around the list, as consul_sd does, so a regex
 * need not care where a tag sits), `_version`, `_health`, `_weight`, and one
 * `__meta_swimd_service_metadata_<key>` per meta entry (key sanitised to a label name).
 * Prometheus drops `__meta_*` labels after relabelling, so they cost nothing unless used.
 */

export interface HttpSdGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Prometheus's strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes "_". */
export function sanitizeLabelName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function httpSdGroups(list: readonly ConsulInstance[], datacenter: string): HttpSdGroup[] {
  return list.filter((i) => i.routable).map((i) => {
    const v = i.view;
    const labels: Record<string, string> = {
      __meta_swimd_service: v.name,
      __meta_swimd_service_id: v.id,
      __meta_swimd_node: v.node,
      __meta_swimd_address: i.owner?.host ?? v.address,
      __meta_swimd_dc: datacenter,
      __meta_swimd_tags: v.tags.length === 0 ? '' : `,${v.tags.join(',')},`,
      __meta_swimd_version: v.version,
      __meta_swimd_health: v.health,
      __meta_swimd_weight: String(i.weight),
    };
    for (const [k, val] of Object.entries(v.meta)) labels[`__meta_swimd_service_metadata_${sanitizeLabelName(k)}`] = val;
    return { targets: [hostPort(v.address, v.port)], labels };
  });
}
