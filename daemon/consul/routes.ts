import type { SplitPercentages } from '../../client/contract/effective-weight.js';
import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { WatchKey } from './blocking.js';
import { evaluate, type Filter, FilterError, type FilterValue, parseFilter } from './filter.js';
import { httpSdGroups } from './http-sd.js';
import { checkParams, type CommonQuery, parseCommon, parseFlag, QueryError } from './query.js';
import {
  catalogServiceJson, type ConsulCatalogService, type ConsulCheck, type ConsulServiceEntry, checksJson, type ConsulInstance, instances,
  nodeJson, serviceEntryJson,
} from './shapes.js';

/**
 * The read endpoints: each parses its request up front (a bad one is a 400 before any wait) into
 * what it watches and how to render an answer from the view at the moment it is sent. Rendering
 * reads the agent's current view; nothing is cached between answers.
 */

export interface ConsulView {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly version: string;
  self(): MemberView;
  members(): readonly MemberView[];
  services(): readonly ServiceView[];
  /** A service's traffic split, when the agent holds one (its Weights follow it). */
  split(service: string): SplitPercentages | undefined;
  /** The index the answer's key is at, for Create/ModifyIndex. */
  indexOf(key: WatchKey): number;
}

export interface Prepared {
  readonly key: WatchKey;
  /** Whether `index`/`wait` make this request block (Consul blocks these endpoints only). */
  readonly blocking: boolean;
  readonly query: CommonQuery;
  readonly render: () => unknown;
}

export interface Endpoint {
  /** Path segments; ":x" matches one segment. */
  readonly pattern: readonly string[];
  readonly params: readonly string[];
  readonly prepare: (view: ConsulView, path: Readonly<Record<string, string>>, q: URLSearchParams) => Prepared;
}

export { FilterError, QueryError };

const HEALTH_STATES = ['any', 'passing', 'warning', 'critical'] as const;

/** `filter` selectors of a ServiceEntry (health/service), per Consul's filtering docs. */
function entrySelector(e: ConsulServiceEntry): (s: string) => FilterValue {
  return (s) => {
    if (s.startsWith('Service.Meta.')) return e.Service.Meta[s.slice('Service.Meta.'.length)];
    switch (s) {
      case 'Service.ID': return e.Service.ID;
      case 'Service.Service': return e.Service.Service;
      case 'Service.Tags': return e.Service.Tags;
      case 'Service.Address': return e.Service.Address;
      case 'Service.Port': return e.Service.Port;
      case 'Service.Meta': return e.Service.Meta;
      case 'Node.Node': return e.Node.Node;
      case 'Node.Address': return e.Node.Address;
      case 'Node.Datacenter': return e.Node.Datacenter;
      case 'Node.Meta': return e.Node.Meta;
      case 'Checks.Status': return e.Checks.map((c) => c.Status);
      case 'Checks.CheckID': return e.Checks.map((c) => c.CheckID);
      default: return undefined;
    }
  };
}
const ENTRY_SELECTORS = ['Service.ID', 'Service.Service', 'Service.Tags', 'Service.Address', 'Service.Port', 'Service.Meta', 'Node.Node',
  'Node.Address', 'Node.Datacenter', 'Node.Meta', 'Checks.Status', 'Checks.CheckID'];

/** `filter` selectors of a CatalogService (catalog/service and catalog/services). */
function catalogSelector(c: ConsulCatalogService): (s: string) => FilterValue {
  return (s) => {
    if (s.startsWith('ServiceMeta.')) return c.ServiceMeta[s.slice('ServiceMeta.'.length)];
    switch (s) {
      case 'ServiceID': return c.ServiceID;
      case 'ServiceName': return c.ServiceName;
      case 'ServiceTags': return c.ServiceTags;
      case 'ServiceAddress': return c.ServiceAddress;
      case 'ServicePort': return c.ServicePort;
      case 'ServiceMeta': return c.ServiceMeta;
      case 'Node': return c.Node;
      case 'Address': return c.Address;
      case 'Datacenter': return c.Datacenter;
      case 'NodeMeta': return c.NodeMeta;
      default: return undefined;
    }
  };
}
const CATALOG_SELECTORS = ['ServiceID', 'ServiceName', 'ServiceTags', 'ServiceAddress', 'ServicePort', 'ServiceMeta', 'Node', 'Address',
  'Datacenter', 'NodeMeta'];

function checkSelector(c: ConsulCheck): (s: string) => FilterValue {
  return (s) => {
    switch (s) {
      case 'Node': return c.Node;
      case 'CheckID': return c.CheckID;
      case 'Name': return c.Name;
      case 'Status': return c.Status;
      case 'ServiceID': return c.ServiceID;
      case 'ServiceName': return c.ServiceName;
      case 'ServiceTags': return c.ServiceTags;
      case 'Notes': return c.Notes;
      case 'Output': return c.Output;
      default: return undefined;
    }
  };
}
const CHECK_SELECTORS = ['Node', 'CheckID', 'Name', 'Status', 'ServiceID', 'ServiceName', 'ServiceTags', 'Notes', 'Output'];

function filterOf(q: URLSearchParams, selectors: readonly string[], metaPrefix: string | null): Filter | null {
  const all = q.getAll('filter');
  if (all.length > 1) throw new QueryError('filter: give it once (join expressions with "and")');
  if (all.length === 0) return null;
  try {
    return parseFilter(all[0]!, (s) => selectors.includes(s) || (metaPrefix !== null && s.startsWith(metaPrefix) && s.length > metaPrefix.length));
  } catch (e) {
    if (e instanceof FilterError) {
      throw new QueryError(`filter: ${e.message}; supported: ==, !=, [not] in, [not] contains, is [not] empty, and, or, not, ( ) over ${selectors.join(', ')}${metaPrefix === null ? '' : `, ${metaPrefix}KEY`}`);
    }
    throw e;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedInstances(view: ConsulView, name: string | null, tags: readonly string[]): ConsulInstance[] {
  const services = name === null ? view.services() : view.services().filter((v) => v.name === name);
  return instances(services, view.members(), (n) => view.split(n))
    .filter((i) => tags.every((t) => i.view.tags.includes(t)))
    .sort((a, b) => cmp(a.view.node, b.view.node) || cmp(a.view.id, b.view.id));
}

/** node-meta asks for nodes with these meta values; swimd nodes carry none, so any asks for none. */
function nodeMetaMatches(q: CommonQuery, meta: Readonly<Record<string, string>>): boolean {
  return q.nodeMeta.every(([k, v]) => meta[k] === v);
}

function agentSelf(view: ConsulView): unknown {
  const self = view.self();
  return {
    Config: {
      Datacenter: view.datacenter, PrimaryDatacenter: view.datacenter, NodeName: view.nodeName, NodeID: nodeJson(view.nodeName, self.host, view.datacenter, 0).ID,
      // The Consul API level answered; the swimd version is in Meta and Stats.
      Revision: '', Server: false, Version: '1.15.0', BuildDate: '',
    },
    DebugConfig: {},
    Coord: null,
    Member: {
      Name: self.name, Addr: self.host, Port: self.port,
      Tags: { dc: view.datacenter, role: 'node', build: `swimd-${view.version}`, id: nodeJson(view.nodeName, self.host, view.datacenter, 0).ID },
      Status: 1, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
    },
    Stats: { swimd: { version: view.version } },
    Meta: { 'swimd-version': view.version },
    xDS: {},
  };
}

export const ENDPOINTS: readonly Endpoint[] = [
  {
    pattern: ['v1', 'agent', 'self'], params: [],
    prepare: (view, _p, q) => ({ key: { kind: 'agent' }, blocking: false, query: parseCommon(q, view.datacenter), render: () => agentSelf(view) }),
  },
  {
    pattern: ['v1', 'catalog', 'services'], params: ['filter'],
    prepare: (view, _p, q) => {
      const query = parseCommon(q, view.datacenter);
      const filter = filterOf(q, CATALOG_SELECTORS, 'ServiceMeta.');
      const key: WatchKey = { kind: 'services' };
      return {
        key, blocking: true, query,
        render: () => {
          const index = view.indexOf(key);
          const out: Record<string, string[]> = {};
          for (const i of sortedInstances(view, null, [])) {
            const c = catalogServiceJson(i, view.datacenter, index);
            if (!nodeMetaMatches(query, c.NodeMeta) || (filter !== null && !evaluate(filter, catalogSelector(c)))) continue;
            const tags = out[c.ServiceName] ?? [];
            for (const t of c.ServiceTags) if (!tags.includes(t)) tags.push(t);
            out[c.ServiceName] = tags;
          }
          const sorted: Record<string, string[]> = {};
          for (const name of Object.keys(out).sort()) sorted[name] = out[name]!.sort();
          return sorted;
        },
      };
    },
  },
  {
    pattern: ['v1', 'catalog', 'service', ':name'], params: ['tag', 'filter'],
    prepare: (view, p, q) => {
      const query = parseCommon(q, view.datacenter);
      const filter = filterOf(q, CATALOG_SELECTORS, 'ServiceMeta.');
      const tags = q.getAll('tag');
      const name = p['name']!;
      const key: WatchKey = { kind: 'service', name };
      return {
        key, blocking: true, query,
        render: () => sortedInstances(view, name, tags)
          .map((i) => catalogServiceJson(i, view.datacenter, view.indexOf(key)))
          .filter((c) => nodeMetaMatches(query, c.NodeMeta) && (filter === null || evaluate(filter, catalogSelector(c)))),
      };
    },
  },
  {
    pattern: ['v1', 'health', 'service', ':name'], params: ['tag', 'filter', 'passing'],
    prepare: (view, p, q) => {
      const query = parseCommon(q, view.datacenter);
      const filter = filterOf(q, ENTRY_SELECTORS, 'Service.Meta.');
      const passing = parseFlag(q, 'passing');
      const tags = q.getAll('tag');
      const name = p['name']!;
      const key: WatchKey = { kind: 'service', name };
      return {
        key, blocking: true, query,
        render: () => sortedInstances(view, name, tags)
          .map((i) => serviceEntryJson(i, view.datacenter, view.indexOf(key)))
          // Consul's ?passing keeps only entries whose every check passes (warning is out too).
          .filter((e) => !passing || e.Checks.every((c) => c.Status === 'passing'))
          .filter((e) => nodeMetaMatches(query, e.Node.Meta) && (filter === null || evaluate(filter, entrySelector(e)))),
      };
    },
  },
  {
    pattern: ['v1', 'health', 'state', ':state'], params: ['filter'],
    prepare: (view, p, q) => {
      const query = parseCommon(q, view.datacenter);
      const state = p['state']!;
      if (!(HEALTH_STATES as readonly string[]).includes(state)) {
        throw new QueryError(`state: expected one of ${HEALTH_STATES.join(', ')}, got ${JSON.stringify(state.slice(0, 32))}`);
      }
      const filter = filterOf(q, CHECK_SELECTORS, null);
      const key: WatchKey = { kind: 'health-state' };
      return {
        key, blocking: true, query,
        render: () => {
          const index = view.indexOf(key);
          const checks: ConsulCheck[] = [];
          const withServices = new Set<string>();
          for (const i of sortedInstances(view, null, [])) {
            const all = checksJson(i, index);
            // One serfHealth per node, not one per instance.
            checks.push(...(withServices.has(i.view.node) ? all.slice(1) : all));
            withServices.add(i.view.node);
          }
          for (const m of view.members()) {
            if (withServices.has(m.name) || m.status === 'left') continue;
            const down = m.status === 'dead';
            checks.push({
              Node: m.name, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: down ? 'critical' : 'passing', Notes: '',
              Output: down ? 'Agent not live or unreachable' : 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [],
              Type: '', ExposedPort: 0, Definition: {}, CreateIndex: index, ModifyIndex: index,
            });
          }
          return checks
            .filter((c) => state === 'any' || c.Status === state)
            .filter((c) => query.nodeMeta.length === 0 && (filter === null || evaluate(filter, checkSelector(c))))
            .sort((a, b) => cmp(a.Node, b.Node) || cmp(a.CheckID, b.CheckID));
        },
      };
    },
  },
  {
    pattern: ['v1', 'sd', 'prometheus'], params: ['service'],
    prepare: (view, _p, q) => {
      const query = parseCommon(q, view.datacenter);
      const names = q.getAll('service');
      if (names.length > 1) throw new QueryError('service: give at most one');
      const name = names[0] ?? null;
      if (name === '') throw new QueryError('service: expected a service name');
      const key: WatchKey = name === null ? { kind: 'health-state' } : { kind: 'service', name };
      return { key, blocking: false, query, render: () => httpSdGroups(sortedInstances(view, name, []), view.datacenter) };
    },
  },
];

export { checkParams };

/** Finds the endpoint for a path: its params, or null. */
export function matchEndpoint(path: string): { endpoint: Endpoint; params: Record<string, string> } | null | 'bad-encoding' {
  const segs = path.split('/').filter((s) => s !== '');
  for (const endpoint of ENDPOINTS) {
    if (endpoint.pattern.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      const p = endpoint.pattern[i]!;
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(segs[i]!);
        } catch {
          return 'bad-encoding';
        }
      } else {
        ok = p === segs[i];
      }
    }
    if (ok) return { endpoint, params };
  }
  return null;
}
