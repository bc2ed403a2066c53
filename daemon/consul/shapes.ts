import { createHash } from 'node:crypto';
import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { MemberStatus } from '../../protocol/messages.js';
import { isRoutable, scaleWeights, type SplitPercentages } from '../../client/contract/effective-weight.js';
import { instanceKey, serviceEffectiveWeights } from '../../client/contract/service-weights.js';

/**
 * Consul's JSON shapes, field for field as Consul 1.15's Go api package declares them
 * (hashicorp/consul api/health.go: HealthCheck, ServiceEntry, AggregatedStatus; api/catalog.go:
 * Node, CatalogService; api/agent.go: AgentService, AgentWeights) and as its HTTP API documents
 * them (developer.hashicorp.com/consul/api-docs/health, /catalog, /agent). Fields swimd has no
 * counterpart for carry Consul's zero values, so typed clients decode every answer.
 *
 * How swimd's view maps onto Consul's: a member is a Node (Datacenter: the cluster name); an
 * instance is an AgentService on its owner's Node with
 *   - a node check `serfHealth`, passing while the owner is alive or suspect, critical once it is
 *     declared dead (Consul's own Serf health check),
 *   - a service check `service:ID` carrying the instance's health,
 *   - while draining, a critical `_service_maintenance:ID` check, as Consul's maintenance mode
 *     adds — so Prometheus's AggregatedStatus says "maintenance" and `?passing` drops it.
 */

export const SERF_CHECK_ID = 'serfHealth';
export const MAINT_PREFIX = '_service_maintenance:';

export type ConsulStatus = 'passing' | 'warning' | 'critical';

export interface ConsulWeights {
  readonly Passing: number;
  readonly Warning: number;
}

export interface ConsulNode {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: Readonly<Record<string, string>>;
  readonly Meta: Readonly<Record<string, string>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface ConsulAgentService {
  readonly Kind: '';
  readonly ID: string;
  readonly Service: string;
  readonly Tags: readonly string[];
  readonly Meta: Readonly<Record<string, string>>;
  readonly Port: number;
  readonly Address: string;
  readonly TaggedAddresses: Readonly<Record<string, { readonly Address: string; readonly Port: number }>>;
  readonly Weights: ConsulWeights;
  readonly EnableTagOverride: false;
  readonly Datacenter: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface ConsulCheck {
  readonly Node: string;
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: ConsulStatus;
  readonly Notes: string;
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceTags: readonly string[];
  readonly Type: string;
  readonly ExposedPort: 0;
  readonly Definition: Readonly<Record<string, never>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface ConsulServiceEntry {
  readonly Node: ConsulNode;
  readonly Service: ConsulAgentService;
  readonly Checks: readonly ConsulCheck[];
}

export interface ConsulCatalogService {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: Readonly<Record<string, string>>;
  readonly NodeMeta: Readonly<Record<string, string>>;
  readonly ServiceKind: '';
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceAddress: string;
  readonly ServiceTaggedAddresses: Readonly<Record<string, { readonly Address: string; readonly Port: number }>>;
  readonly ServiceTags: readonly string[];
  readonly ServiceMeta: Readonly<Record<string, string>>;
  readonly ServicePort: number;
  readonly ServiceWeights: ConsulWeights;
  readonly ServiceEnableTagOverride: false;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** One instance with what the Consul view needs beside it. */
export interface ConsulInstance {
  readonly view: ServiceView;
  readonly owner: MemberView | undefined;
  readonly ownerStatus: MemberStatus | undefined;
  /** Integer effective weight (0 when not routable). */
  readonly weight: number;
  readonly routable: boolean;
}

/** A stable UUID-shaped node ID derived from the member name (Consul nodes carry one). */
export function nodeId(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The instances of the view with their owners and effective weights. Weights are computed per
 * service by the shared rule (client/contract/service-weights.ts, with the service's split when
 * `splitOf` gives one); integer weights are kept as they are, fractional
 * ones (a traffic split's percentages) scaled to 1–65535 with their proportions.
 */
export function instances(
  services: readonly ServiceView[],
  members: readonly MemberView[],
  splitOf: (service: string) => SplitPercentages | undefined = () => undefined,
): ConsulInstance[] {
  const owners = new Map<string, MemberView>();
  for (const m of members) owners.set(m.name, m);
  const ownerStatus = (node: string): MemberStatus | undefined => owners.get(node)?.status;
  const weights = integerWeights(serviceEffectiveWeights(services, splitOf, ownerStatus));
  return services.map((v) => ({
    view: v, owner: owners.get(v.node), ownerStatus: ownerStatus(v.node), weight: weights.get(instanceKey(v)) ?? 0,
    routable: isRoutable({ health: v.health, draining: v.draining, ownerStatus: ownerStatus(v.node) }),
  }));
}

function integerWeights(w: ReadonlyMap<string, number>): Map<string, number> {
  for (const v of w.values()) if (!Number.isInteger(v) || v > 65535) return scaleWeights(w, 65535);
  return new Map(w);
}

export function nodeJson(name: string, address: string, dc: string, index: number): ConsulNode {
  return {
    ID: nodeId(name), Node: name, Address: address, Datacenter: dc,
    TaggedAddresses: { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address },
    Meta: {}, CreateIndex: index, ModifyIndex: index,
  };
}

function taggedService(v: ServiceView): Record<string, { Address: string; Port: number }> {
  return { lan_ipv4: { Address: v.address, Port: v.port }, wan_ipv4: { Address: v.address, Port: v.port } };
}

export function agentServiceJson(i: ConsulInstance, dc: string, index: number): ConsulAgentService {
  const v = i.view;
  return {
    Kind: '', ID: v.id, Service: v.name, Tags: v.tags, Meta: v.meta, Port: v.port, Address: v.address,
    TaggedAddresses: taggedService(v), Weights: { Passing: i.weight, Warning: i.weight }, EnableTagOverride: false,
    Datacenter: dc, CreateIndex: index, ModifyIndex: index,
  };
}

function ownerDown(i: ConsulInstance): boolean {
  return i.ownerStatus !== 'alive' && i.ownerStatus !== 'suspect';
}

/** The checks of one instance: serfHealth, the service's own, and maintenance while draining. */
export function checksJson(i: ConsulInstance, index: number): ConsulCheck[] {
  const v = i.view;
  const base = { Node: v.node, Notes: '', Type: '', ExposedPort: 0 as const, Definition: {}, CreateIndex: index, ModifyIndex: index };
  const down = ownerDown(i);
  const checks: ConsulCheck[] = [
    {
      ...base, CheckID: SERF_CHECK_ID, Name: 'Serf Health Status', Status: down ? 'critical' : 'passing',
      Output: down ? 'Agent not live or unreachable' : 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [],
    },
    {
      ...base, CheckID: `service:${v.id}`, Name: `Service '${v.name}' check`, Status: v.health,
      Output: `swimd health: ${v.health}`, ServiceID: v.id, ServiceName: v.name, ServiceTags: v.tags,
    },
  ];
  if (v.draining) {
    checks.push({
      ...base, CheckID: `${MAINT_PREFIX}${v.id}`, Name: 'Service Maintenance Mode', Status: 'critical',
      Notes: 'draining', Output: 'draining: no new traffic', ServiceID: v.id, ServiceName: v.name, ServiceTags: v.tags,
    });
  }
  return checks;
}

export function serviceEntryJson(i: ConsulInstance, dc: string, index: number): ConsulServiceEntry {
  return {
    Node: nodeJson(i.view.node, i.owner?.host ?? i.view.address, dc, index),
    Service: agentServiceJson(i, dc, index),
    Checks: checksJson(i, index),
  };
}

export function catalogServiceJson(i: ConsulInstance, dc: string, index: number): ConsulCatalogService {
  const v = i.view;
  const node = nodeJson(v.node, i.owner?.host ?? v.address, dc, index);
  return {
    ID: node.ID, Node: node.Node, Address: node.Address, Datacenter: dc, TaggedAddresses: node.TaggedAddresses, NodeMeta: node.Meta,
    ServiceKind: '', ServiceID: v.id, ServiceName: v.name, ServiceAddress: v.address, ServiceTaggedAddresses: taggedService(v),
    ServiceTags: v.tags, ServiceMeta: v.meta, ServicePort: v.port, ServiceWeights: { Passing: i.weight, Warning: i.weight },
    ServiceEnableTagOverride: false, CreateIndex: index, ModifyIndex: index,
  };
}

/** Consul's HealthChecks.AggregatedStatus (api/health.go): maintenance, then critical, warning, passing. */
export function aggregatedStatus(checks: readonly ConsulCheck[]): 'maintenance' | ConsulStatus {
  let critical = false;
  let warning = false;
  for (const c of checks) {
    if (c.CheckID === '_node_maintenance' || c.CheckID.startsWith(MAINT_PREFIX)) return 'maintenance';
    if (c.Status === 'critical') critical = true;
    else if (c.Status === 'warning') warning = true;
  }
  return critical ? 'critical' : warning ? 'warning' : 'passing';
}
