/**
 * The Consul API as the tools that read it use it. Each replay sends the requests the tool's source
 * makes, in the form hashicorp/consul/api (the Go client every one of them uses) puts on the wire:
 * its setQueryOptions sets `stale=` for AllowStale, `consistent=` for RequireConsistent, `cached=`
 * for UseCache, `wait=<ms>ms` (durToMsec) and `index=N` when non-zero, `passing=1`, repeated `tag=`,
 * and url.Values.Encode() sorts the parameters by name. Its parseQueryMeta fails a request whose
 * X-Consul-Index does not parse, which assertConsulHeaders checks on every answer.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { aggregatedStatus, type ConsulCheck } from '../daemon/consul/shapes.js';
import { waitFor } from './helpers/cluster.js';
import { assertConsulHeaders, deregister, httpGet, type HttpRes, post, register, startConsulAgent } from './helpers/consul-http.js';
import { startAgent, tempDir } from './helpers/local-agent.js';

interface Entry {
  readonly Node: { readonly Node: string; readonly Address: string; readonly Meta: Record<string, string>; readonly TaggedAddresses: Record<string, string> };
  readonly Service: { readonly ID: string; readonly Service: string; readonly Tags: string[]; readonly Meta: Record<string, string>; readonly Port: number; readonly Address: string };
  readonly Checks: ConsulCheck[];
}

async function get(port: number, path: string): Promise<{ body: unknown; index: number; res: HttpRes }> {
  const res = await httpGet(port, path);
  assert.equal(res.status, 200, `${path}: ${res.text}`);
  return { body: res.body, index: assertConsulHeaders(res), res };
}

/** Prometheus's strutil.SanitizeLabelName. */
const sanitize = (s: string): string => s.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * Prometheus v2.42 discovery/consul/consul.go (read at commit 044ba86, the go-kit era whose Consul SD
 * requests and labels are those of v2.42; watchTimeout = 2 * time.Minute, AllowStale true by
 * default, tag_separator ","): getDatacenter reads info["Config"]["Datacenter"] from
 * Agent().Self(); watchServices calls Catalog().Services with WaitIndex/WaitTime/AllowStale; each
 * service's watch calls Health().ServiceMultipleTags(name, tags, false, opts); every entry becomes
 * a target labelled as below (consulService.watch).
 */
class PrometheusConsulSd {
  datacenter = '';
  servicesIndex = 0;
  readonly serviceIndex = new Map<string, number>();
  readonly requests: string[] = [];

  constructor(private readonly port: number) {}

  private async fetch(path: string): Promise<{ body: unknown; index: number }> {
    this.requests.push(path);
    return get(this.port, path);
  }

  async getDatacenter(): Promise<void> {
    const { body } = await this.fetch('/v1/agent/self');
    const dc = ((body as Record<string, Record<string, unknown>>)['Config'] ?? {})['Datacenter'];
    assert.equal(typeof dc, 'string', "invalid value for Config.Datacenter: Prometheus stops here");
    this.datacenter = dc as string;
  }

  private query(index: number): string {
    return `${index === 0 ? '' : `index=${index}&`}stale=&wait=120000ms`;
  }

  async watchServices(): Promise<string[]> {
    const { body, index } = await this.fetch(`/v1/catalog/services?${this.query(this.servicesIndex)}`);
    this.servicesIndex = index;
    return Object.keys(body as Record<string, string[]>);
  }

  /** One long poll of a service: the target group it yields. */
  async watchService(name: string): Promise<Record<string, string>[]> {
    const { body, index } = await this.fetch(`/v1/health/service/${encodeURIComponent(name)}?${this.query(this.serviceIndex.get(name) ?? 0)}`);
    this.serviceIndex.set(name, index);
    return (body as Entry[]).map((e) => {
      const tags = ',' + e.Service.Tags.join(',') + ',';
      const addr = `${e.Service.Address !== '' ? e.Service.Address : e.Node.Address}:${e.Service.Port}`;
      const labels: Record<string, string> = {
        __address__: addr, __meta_consul_address: e.Node.Address, __meta_consul_node: e.Node.Node, __meta_consul_tags: tags,
        __meta_consul_service_address: e.Service.Address, __meta_consul_service_port: String(e.Service.Port),
        __meta_consul_service_id: e.Service.ID, __meta_consul_health: aggregatedStatus(e.Checks),
        __meta_consul_service: name, __meta_consul_dc: this.datacenter,
      };
      for (const [k, v] of Object.entries(e.Node.Meta)) labels[`__meta_consul_metadata_${sanitize(k)}`] = v;
      for (const [k, v] of Object.entries(e.Service.Meta)) labels[`__meta_consul_service_metadata_${sanitize(k)}`] = v;
      for (const [k, v] of Object.entries(e.Node.TaggedAddresses)) labels[`__meta_consul_tagged_address_${sanitize(k)}`] = v;
      return labels;
    });
  }
}

test('Prometheus v2.42 consul_sd: its requests, and the labels it makes of passing, critical and drained instances', async (t) => {
  const dir = tempDir(t);
  const { agent: a, port } = await startConsulAgent(t, dir, { name: 'a' });
  const b = await startAgent(t, dir, { name: 'b' });
  assert.equal((await a.join([`127.0.0.1:${b.address.port}`])).joined, 1);
  await register(b, { id: 'api-1', name: 'api', port: 9100, tags: ['metrics', 'prod'], meta: { 'metrics-path': '/m', zone: 'z1' }, version: 'v7' });
  await register(b, { id: 'api-2', name: 'api', port: 9101, check: { ttl: '1m' } });
  await register(a, { id: 'api-3', name: 'api', port: 9102 });
  await post(a, '/v1/services/api-3/drain');
  await register(a, { id: 'db-1', name: 'db', port: 5432 });
  await waitFor('b\'s instances at a', async () => ((await httpGet(port, '/v1/health/service/api')).body as unknown[]).length === 3, 10_000);

  const prom = new PrometheusConsulSd(port);
  await prom.getDatacenter();
  assert.equal(prom.datacenter, 'default');
  assert.deepEqual(await prom.watchServices(), ['api', 'db']);
  const group = await prom.watchService('api');
  const byId = new Map(group.map((l) => [l['__meta_consul_service_id'], l]));
  const api1 = byId.get('api-1')!;
  assert.deepEqual(api1, {
    __address__: '127.0.0.1:9100', __meta_consul_address: '127.0.0.1', __meta_consul_node: 'b', __meta_consul_tags: ',metrics,prod,',
    __meta_consul_service_address: '127.0.0.1', __meta_consul_service_port: '9100', __meta_consul_service_id: 'api-1',
    __meta_consul_health: 'passing', __meta_consul_service: 'api', __meta_consul_dc: 'default',
    __meta_consul_service_metadata_metrics_path: '/m', __meta_consul_service_metadata_zone: 'z1',
    __meta_consul_tagged_address_lan: '127.0.0.1', __meta_consul_tagged_address_lan_ipv4: '127.0.0.1',
    __meta_consul_tagged_address_wan: '127.0.0.1', __meta_consul_tagged_address_wan_ipv4: '127.0.0.1',
  });
  assert.equal(byId.get('api-2')!['__meta_consul_health'], 'critical');
  assert.equal(byId.get('api-3')!['__meta_consul_health'], 'maintenance');
  assert.equal(byId.get('api-2')!['__meta_consul_tags'], ',,');

  // The next poll blocks on api's index; the TTL check passing on b wakes it with the new label.
  const next = prom.watchService('api');
  await post(b, '/v1/checks/api-2/pass');
  const woken = new Map((await next).map((l) => [l['__meta_consul_service_id'], l]));
  assert.equal(woken.get('api-2')!['__meta_consul_health'], 'passing');
  // A dead owner's instances turn critical through serfHealth.
  const afterDeath = prom.watchService('api');
  await b.stop();
  let labels = await afterDeath;
  while (labels.find((l) => l['__meta_consul_service_id'] === 'api-1')?.['__meta_consul_health'] !== 'critical') labels = await prom.watchService('api');
  assert.deepEqual(prom.requests.slice(0, 4), [
    '/v1/agent/self', '/v1/catalog/services?stale=&wait=120000ms', '/v1/health/service/api?stale=&wait=120000ms',
    `/v1/health/service/api?index=${prom.requests[3]!.match(/index=(\d+)/)![1]}&stale=&wait=120000ms`,
  ]);
});

test('the npm consul client (v2) reads the API as it reads Consul', async (t) => {
  const Consul = createRequire(import.meta.url)('consul') as new (o: { host: string; port: number }) => ConsulClient;
  const { agent, port } = await startConsulAgent(t, tempDir(t), { name: 'n1' });
  await register(agent, { id: 'web-1', name: 'web', port: 8080, tags: ['blue'] });
  await register(agent, { id: 'web-2', name: 'web', port: 8081, check: { ttl: '1m' } });
  const consul = new Consul({ host: '127.0.0.1', port });

  const self = await consul.agent.self();
  assert.equal(self.Config.NodeName, 'n1');
  assert.deepEqual(await consul.catalog.service.list(), { web: ['blue'] });
  assert.deepEqual((await consul.catalog.service.nodes('web')).map((s) => s.ServiceID), ['web-1', 'web-2']);
  assert.deepEqual((await consul.health.service({ service: 'web', passing: true })).map((e) => e.Service.ID), ['web-1']);
  assert.deepEqual((await consul.health.state('critical')).map((c) => c.CheckID), ['service:web-2']);

  // Blocking, as its watch does: index from the last answer, then a change wakes it.
  const first = await consul.health.service({ service: 'web', passing: true, stale: true, wait: '2m' });
  assert.equal(first.length, 1);
  const blocked = consul.health.service({ service: 'web', passing: true, index: await currentIndex(port, '/v1/health/service/web'), wait: '2m' });
  await post(agent, '/v1/checks/web-2/pass');
  assert.deepEqual((await blocked).map((e) => e.Service.ID), ['web-1', 'web-2']);

  // Writes are refused with the reason.
  await assert.rejects(consul.agent.service.register({ name: 'x', port: 1 }), (e: unknown) => {
    const err = e as { statusCode?: number; response?: { body?: unknown } };
    return err.statusCode === 405 && /read-only/.test(String(err.response?.body));
  });
});

interface ConsulClient {
  agent: { self(): Promise<{ Config: { NodeName: string } }>; service: { register(o: { name: string; port: number }): Promise<unknown> } };
  catalog: { service: { list(): Promise<Record<string, string[]>>; nodes(name: string): Promise<{ ServiceID: string }[]> } };
  health: {
    service(o: { service: string; passing?: boolean; index?: string; wait?: string; stale?: boolean }): Promise<Entry[]>;
    state(s: string): Promise<ConsulCheck[]>;
  };
}

async function currentIndex(port: number, path: string): Promise<string> {
  return String((await get(port, path)).index);
}

test('Traefik Consul Catalog provider: polling (catalog/services, catalog/service, health/service) and watch mode (health/state/any)', async (t) => {
  // Traefik v2 (read at commit 0125026) pkg/provider/consulcatalog/consul_catalog.go: fetchServices → Catalog().Services(opts);
  // fetchService → Catalog().Service(name, "traefik.enable=true", opts) and Health().Service(name,
  // same tag, false, opts), with opts {AllowStale: stale, RequireConsistent, UseCache: cache}; an item
  // is kept when AggregatedStatus is passing or warning. Watch mode: watch plans of type "services"
  // (/v1/catalog/services) and "checks" (/v1/health/state/any), blocking on X-Consul-Index.
  const { agent, port } = await startConsulAgent(t, tempDir(t), { name: 'n1' });
  await register(agent, { id: 'whoami-1', name: 'whoami', port: 8080, tags: ['traefik.enable=true', 'traefik.http.routers.w.rule=Host(`w`)'] });
  await register(agent, { id: 'hidden-1', name: 'hidden', port: 8081 });
  const services = (await get(port, '/v1/catalog/services?cached=&stale=')).body as Record<string, string[]>;
  const enabled = Object.keys(services).filter((n) => services[n]!.includes('traefik.enable=true'));
  assert.deepEqual(enabled, ['whoami']);
  const catalog = (await get(port, '/v1/catalog/service/whoami?stale=&tag=traefik.enable%3Dtrue')).body as { ServiceID: string; ServiceAddress: string; ServicePort: number }[];
  assert.deepEqual(catalog.map((c) => [c.ServiceID, c.ServiceAddress, c.ServicePort]), [['whoami-1', '127.0.0.1', 8080]]);
  const health = (await get(port, '/v1/health/service/whoami?stale=&tag=traefik.enable%3Dtrue')).body as Entry[];
  assert.deepEqual(health.map((e) => aggregatedStatus(e.Checks)), ['passing']);
  assert.equal((await get(port, '/v1/catalog/service/whoami?consistent=')).body instanceof Array, true);

  // Watch mode: a health change anywhere wakes health/state/any.
  const { index } = await get(port, '/v1/health/state/any');
  const watch = get(port, `/v1/health/state/any?index=${index}`);
  await post(agent, '/v1/services/whoami-1/drain');
  const woken = await watch;
  assert.ok(woken.index > index);
  const maint = (woken.body as ConsulCheck[]).find((c) => c.CheckID === '_service_maintenance:whoami-1');
  assert.equal(maint?.Status, 'critical');
});

test('consul-template: service "web" (passing only) and services, blocking with its default wait', async (t) => {
  // consul-template (read at commit 01fceca) dependency/health_service.go: Health().Service(name, tag, onlyHealthy, opts) with
  // onlyHealthy true when no status filter is given (`passing=1`); opts from its QueryOptions
  // (AllowStale with max_stale, WaitIndex, WaitTime 60s); statusFromChecks refuses any status other
  // than passing/warning/unknown/critical. dependency/catalog_services.go: Catalog().Services(opts).
  const { agent, port } = await startConsulAgent(t, tempDir(t), { name: 'n1' });
  await register(agent, { id: 'web-1', name: 'web', port: 8080, tags: ['v1'] });
  await register(agent, { id: 'web-2', name: 'web', port: 8081, check: { ttl: '1m' } });
  const list = await get(port, '/v1/catalog/services?stale=&wait=60000ms');
  assert.deepEqual(list.body, { web: ['v1'] });
  const first = await get(port, '/v1/health/service/web?passing=1&stale=&wait=60000ms');
  for (const e of first.body as Entry[]) for (const c of e.Checks) assert.ok(['passing', 'warning', 'unknown', 'critical'].includes(c.Status));
  assert.deepEqual((first.body as Entry[]).map((e) => e.Service.ID), ['web-1']);
  const tagged = await get(port, '/v1/health/service/web?passing=1&stale=&tag=v1&wait=60000ms');
  assert.deepEqual((tagged.body as Entry[]).map((e) => e.Service.ID), ['web-1']);
  const next = get(port, `/v1/health/service/web?index=${first.index}&passing=1&stale=&wait=60000ms`);
  await post(agent, '/v1/checks/web-2/pass');
  assert.deepEqual(((await next).body as Entry[]).map((e) => e.Service.ID), ['web-1', 'web-2']);
  const gone = get(port, `/v1/catalog/services?index=${list.index}&stale=&wait=60000ms`);
  await deregister(agent, 'web-1');
  // web-1 took tag v1 with it: the list of services changed, so its watchers wake.
  assert.deepEqual((await gone).body, { web: [] });
  await deregister(agent, 'web-2');
  assert.deepEqual((await get(port, '/v1/catalog/services')).body, {});
});

test('Fabio: health/state/any with consistent reads, then catalog/service for the passing ones', async (t) => {
  // Fabio v1.6 registry/consul/service.go (ServiceMonitor.Watch): Health().State("any",
  // {RequireConsistent: true, WaitIndex: lastIndex}) in a loop; passingServices keeps service
  // checks whose status is in registry.consul.service.status (default "passing") and drops an
  // instance whose node's serfHealth or its _service_maintenance check is critical; makeConfig then
  // calls Catalog().Service(name, "", {RequireConsistent: true}) per passing service and routes by
  // the tags prefixed "urlprefix-".
  const { agent, port } = await startConsulAgent(t, tempDir(t), { name: 'n1' });
  await register(agent, { id: 'app-1', name: 'app', port: 8080, tags: ['urlprefix-/app'] });
  await register(agent, { id: 'app-2', name: 'app', port: 8081, tags: ['urlprefix-/app'] });
  await post(agent, '/v1/services/app-2/drain');
  const state = await get(port, '/v1/health/state/any?consistent=');
  const checks = state.body as ConsulCheck[];
  const blocked = new Set(checks.filter((c) => c.Status === 'critical' && (c.CheckID === 'serfHealth' || c.CheckID.startsWith('_service_maintenance:'))).map((c) => c.ServiceID));
  const passing = checks.filter((c) => c.ServiceID !== '' && c.Status === 'passing' && !blocked.has(c.ServiceID)).map((c) => c.ServiceID);
  assert.deepEqual(passing, ['app-1']);
  const catalog = (await get(port, '/v1/catalog/service/app?consistent=')).body as { ServiceID: string; ServiceTags: string[]; ServicePort: number }[];
  const routes = catalog.filter((c) => passing.includes(c.ServiceID)).map((c) => [c.ServiceTags.find((x) => x.startsWith('urlprefix-')), c.ServicePort]);
  assert.deepEqual(routes, [['urlprefix-/app', 8080]]);
  const next = get(port, `/v1/health/state/any?consistent=&index=${state.index}`);
  await post(agent, '/v1/services/app-2/undrain');
  assert.ok(!((await next).body as ConsulCheck[]).some((c) => c.CheckID.startsWith('_service_maintenance:')));
});
