/**
 * Plain HTTP over TCP to an agent's Consul-compatible API, and agents started with it on a free
 * loopback port, for the Consul API tests.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Agent } from '../../daemon/agent.js';
import { call, type LocalAgentOptions, startAgent, type TestCtx } from './local-agent.js';

export interface HttpRes {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  readonly body: unknown;
}

export interface GetOptions {
  readonly method?: string;
  readonly signal?: AbortSignal;
  readonly body?: string;
}

export function httpGet(port: number, path: string, opts: GetOptions = {}): Promise<HttpRes> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Every answer of the Consul API carries these headers, errors included. */
export function assertConsulHeaders(r: HttpRes): number {
  const index = Number(r.headers['x-consul-index']);
  assert.ok(Number.isSafeInteger(index) && index > 0, `X-Consul-Index ${String(r.headers['x-consul-index'])} on ${r.status} ${r.text.slice(0, 200)}`);
  assert.equal(r.headers['x-consul-knownleader'], 'true');
  assert.equal(r.headers['x-consul-lastcontact'], '0');
  return index;
}

export async function startConsulAgent(t: TestCtx, dir: string, opts: LocalAgentOptions = {}): Promise<{ agent: Agent; port: number }> {
  const agent = await startAgent(t, dir, { ...opts, config: { http_addr: '127.0.0.1:0', ...(opts.config ?? {}) } });
  const addr = agent.consulAddress;
  assert.ok(addr !== null, 'the Consul API is listening');
  return { agent, port: addr.port };
}

export interface Reg {
  readonly id?: string;
  readonly name: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  readonly version?: string;
  readonly weight?: number;
  readonly check?: Readonly<Record<string, unknown>>;
  readonly address?: string;
}

export async function register(agent: Agent, reg: Reg): Promise<void> {
  const r = await call(agent.config.socket, 'PUT', '/v1/services', reg);
  assert.equal(r.status, 200, r.text);
}

export async function post(agent: Agent, path: string): Promise<void> {
  const r = await call(agent.config.socket, 'POST', path);
  assert.equal(r.status, 200, r.text);
}

export async function deregister(agent: Agent, id: string): Promise<void> {
  const r = await call(agent.config.socket, 'DELETE', `/v1/services/${id}`);
  assert.equal(r.status, 200, r.text);
}
