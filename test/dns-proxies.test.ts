/**
 * Open-source proxies on the agent's DNS, each the real binary started on loopback with a
 * temporary config, a real request through it to two instances, then one instance deregistered:
 *
 * - nginx 1.22: `resolver` + a variable in proxy_pass (A records; open-source nginx before 1.27.3
 *   cannot resolve SRV or re-resolve an upstream block's servers, so the port is in the config);
 * - Caddy 2.6: `dynamic srv` with a short `refresh` (SRV records, ports from the answer).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Agent } from '../daemon/agent.js';
import { freePort } from '../bench/dns/haproxy.js';
import { waitFor } from './helpers/cluster.js';
import { call, startAgent, tempDir, type TestCtx } from './helpers/local-agent.js';

const NGINX = '/usr/sbin/nginx';
const CADDY = '/usr/bin/caddy';

/** Two HTTP instances on one port, at 127.0.0.2 and 127.0.0.3, answering their own name. */
async function twoInstances(t: TestCtx): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freePort();
    const servers: Server[] = [];
    try {
      for (const [host, name] of [['127.0.0.2', 'one'], ['127.0.0.3', 'two']] as const) {
        const s = createServer((_req, res) => res.end(name));
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, host, resolve);
        });
        servers.push(s);
      }
      t.after(() => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined));
      return port;
    } catch {
      for (const s of servers) s.close();
    }
  }
  throw new Error('no port free on both 127.0.0.2 and 127.0.0.3');
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(`${res.statusCode ?? 0} ${body}`));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}

async function register(agent: Agent, body: Record<string, unknown>): Promise<void> {
  const r = await call(agent.config.socket, 'PUT', '/v1/services', body);
  assert.equal(r.status, 200, r.text);
}

/** Starts a program; it is stopped (and waited for) when the test ends, pass or fail. */
function run(t: TestCtx, cmd: string, args: readonly string[], env: Record<string, string> = {}): () => string {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(killer);
  });
  return () => output;
}

/** Both instances answer through the proxy; after w1 is deregistered only "two" does. */
async function exercise(agent: Agent, proxyPort: number, output: () => string): Promise<void> {
  const seen = new Set<string>();
  await waitFor(`both instances through the proxy (seen ${[...seen].join(', ')}): ${output()}`, async () => {
    seen.add(await fetchText(proxyPort));
    return seen.has('200 one') && seen.has('200 two');
  }, 20_000, 20);
  assert.equal((await call(agent.config.socket, 'DELETE', '/v1/services/w1')).status, 200);
  // Ten answers in a row from "two" only: the proxy has dropped the deregistered instance.
  let run = 0;
  await waitFor(`only "two" after deregistering w1: ${output()}`, async () => {
    const r = await fetchText(proxyPort);
    run = r === '200 two' ? run + 1 : 0;
    return run >= 10;
  }, 20_000, 20);
}

test('nginx 1.22: resolver + a variable in proxy_pass follows the A records', { skip: !existsSync(NGINX) && 'nginx not installed' }, async (t) => {
  const dir = tempDir(t, 'swimd-nginx-');
  const agent = await startAgent(t, dir, { config: { dns_addr: '127.0.0.1:0' } });
  const dnsPort = agent.dnsAddress()!.port;
  const port = await twoInstances(t);
  await register(agent, { name: 'web', id: 'w1', port, address: '127.0.0.2' });
  await register(agent, { name: 'web', id: 'w2', port, address: '127.0.0.3' });
  const proxyPort = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'nginx.conf'), [
    'daemon off;', 'master_process off;', 'worker_processes 1;', `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`, 'events { worker_connections 64; }',
    'http {', '  access_log off;',
    `  client_body_temp_path ${join(dir, 'body')};`, `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`, `  uwsgi_temp_path ${join(dir, 'uwsgi')};`, `  scgi_temp_path ${join(dir, 'scgi')};`,
    `  resolver 127.0.0.1:${dnsPort} valid=1s ipv6=off;`, '  resolver_timeout 1s;',
    `  server {`, `    listen 127.0.0.1:${proxyPort};`,
    '    location / {', '      set $web web.service.swimd;', `      proxy_pass http://$web:${port};`, '    }', '  }', '}', '',
  ].join('\n'));
  const output = run(t, NGINX, ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  await exercise(agent, proxyPort, output);
});

test('Caddy 2.6: dynamic srv with a short refresh follows the SRV records, ports included', { skip: !existsSync(CADDY) && 'caddy not installed' }, async (t) => {
  const dir = tempDir(t, 'swimd-caddy-');
  const agent = await startAgent(t, dir, { config: { dns_addr: '127.0.0.1:0' } });
  const dnsPort = agent.dnsAddress()!.port;
  const port = await twoInstances(t);
  await register(agent, { name: 'web', id: 'w1', port, address: '127.0.0.2' });
  await register(agent, { name: 'web', id: 'w2', port, address: '127.0.0.3' });
  const proxyPort = await freePort();
  writeFileSync(join(dir, 'Caddyfile'), [
    '{', '  admin off', '  auto_https off', '}',
    `:${proxyPort} {`, '  reverse_proxy {', '    dynamic srv {', '      name _web._tcp.service.swimd', '      refresh 100ms',
    `      resolvers 127.0.0.1:${dnsPort}`, '      dial_timeout 1s', '    }',
    // SRV targets (NODE.node.swimd, HEX.addr.swimd) resolve through the agent too.
    '    transport http {', `      resolvers 127.0.0.1:${dnsPort}`, '    }', '  }', '}', '',
  ].join('\n'));
  const output = run(t, CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
    { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir });
  await exercise(agent, proxyPort, output);
});
