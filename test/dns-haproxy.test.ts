/**
 * HAProxy's own DNS resolution against the agent: the real HAProxy 2.6 with `resolvers` and
 * `server-template srv 1-8 _web._tcp.service.swimd resolvers ... init-addr none` fills its slots
 * from the SRV answer (ports included, addresses from the additional section), routes requests to
 * them, and empties a slot once its instance is deregistered.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { test } from 'node:test';
import type { Agent } from '../daemon/agent.js';
import { freePort, HAPROXY, haproxyDnsConfig, isReady, serversState, startHaproxy, type ServerState } from '../bench/dns/haproxy.js';
import { waitFor } from './helpers/cluster.js';
import { call, startAgent, tempDir, type TestCtx } from './helpers/local-agent.js';

async function backend(t: TestCtx, name: string): Promise<number> {
  const server: Server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(`${res.statusCode ?? 0} ${body}`));
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}

async function register(agent: Agent, body: Record<string, unknown>): Promise<void> {
  const r = await call(agent.config.socket, 'PUT', '/v1/services', body);
  assert.equal(r.status, 200, r.text);
}

function readyPorts(states: readonly ServerState[]): number[] {
  return states.filter(isReady).map((s) => s.port).sort((a, b) => a - b);
}

test('HAProxy resolvers fill server-template slots from the SRV answer and drop a deregistered instance', { skip: !existsSync(HAPROXY) && 'haproxy not installed' }, async (t) => {
  const dir = tempDir(t, 'swimd-hadns-');
  const agent = await startAgent(t, dir, { config: { dns_addr: '127.0.0.1:0' } });
  const dnsPort = agent.dnsAddress()!.port;
  const p1 = await backend(t, 'one');
  const p2 = await backend(t, 'two');
  await register(agent, { name: 'web', id: 'w1', port: p1 });
  await register(agent, { name: 'web', id: 'w2', port: p2, address: '127.0.0.1' });

  const frontendPort = await freePort();
  const haproxy = startHaproxy(dir, haproxyDnsConfig({ dir, dnsPort, frontendPort, srvName: '_web._tcp.service.swimd', slots: 8, resolveMs: 200 }));
  t.after(() => haproxy.stop());
  const explain = (): string => haproxy.output();

  const both = [p1, p2].sort((a, b) => a - b);
  await waitFor(`HAProxy to fill two slots with ports ${both.join(', ')}: ${explain()}`, async () => {
    const ports = readyPorts(await serversState(haproxy.socket));
    return ports.length === 2 && ports[0] === both[0] && ports[1] === both[1];
  }, 15_000, 20);
  const states = await serversState(haproxy.socket);
  assert.deepEqual(states.filter(isReady).map((s) => s.fqdn).sort(), ['n1.node.swimd', 'n1.node.swimd']);
  assert.equal(states.filter((s) => !isReady(s)).length, 6, 'the other slots stay empty');

  // Requests go through HAProxy to both instances.
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) seen.add(await fetchText(frontendPort));
  assert.deepEqual([...seen].sort(), ['200 one', '200 two']);

  assert.equal((await call(agent.config.socket, 'DELETE', '/v1/services/w1')).status, 200);
  await waitFor(`HAProxy to drop port ${p1}: ${explain()}`, async () => {
    const ports = readyPorts(await serversState(haproxy.socket));
    return ports.length === 1 && ports[0] === p2;
  }, 15_000, 20);
  for (let i = 0; i < 4; i++) assert.equal(await fetchText(frontendPort), '200 two');

  // The last instance gone: the name is NXDOMAIN and HAProxy empties the slot (hold nx 0s).
  assert.equal((await call(agent.config.socket, 'DELETE', '/v1/services/w2')).status, 200);
  await waitFor(`HAProxy to empty every slot: ${explain()}`, async () => readyPorts(await serversState(haproxy.socket)).length === 0, 15_000, 20);
  assert.match(await fetchText(frontendPort), /^503 /);
});
