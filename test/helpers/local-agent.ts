/**
 * In-process agents for API tests: a real Agent on 127.0.0.1 with its socket and data dir in a
 * temporary folder that is removed however the test ends, and a small HTTP-over-socket caller.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../daemon/agent.js';
import { type AgentFlags, resolveConfig } from '../../daemon/config/config.js';
import { silentLogger } from '../../daemon/log.js';

export type TestCtx = { after: (fn: () => void | Promise<void>) => void };

export function tempDir(t: TestCtx, prefix = 'swimd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface LocalAgentOptions {
  readonly name?: string;
  readonly profile?: 'local' | 'lan';
  /** Written as the agent's config file. */
  readonly config?: Record<string, unknown>;
}

/** Starts an agent whose files live in `dir` (reuse `dir` to restart "the same" agent). */
export async function startAgent(t: TestCtx, dir: string, opts: LocalAgentOptions = {}): Promise<Agent> {
  const flags: AgentFlags = {
    name: opts.name ?? 'n1',
    bind: '127.0.0.1:0',
    socket: join(dir, `${opts.name ?? 'n1'}.sock`),
    dataDir: join(dir, `${opts.name ?? 'n1'}-data`),
    profile: opts.profile ?? 'local',
    logLevel: 'error',
  };
  if (opts.config !== undefined) {
    const file = join(dir, `${opts.name ?? 'n1'}.json`);
    writeFileSync(file, JSON.stringify(opts.config));
    flags.config = file;
  }
  const agent = await Agent.start(resolveConfig(flags), silentLogger());
  t.after(() => agent.stop());
  return agent;
}

export interface Res {
  readonly status: number;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly body: unknown;
}

export function call(socketPath: string, method: string, path: string, body?: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Field `k` of a JSON object body. */
export function field(r: Res, k: string): unknown {
  const b = r.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new Error(`not an object: ${r.text}`);
  return (b as Record<string, unknown>)[k];
}
