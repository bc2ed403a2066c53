/**
 * A real HAProxy (Debian's 2.6) fed by swimd's DNS: `resolvers` pointing at the agent's dns_addr and
 * a backend of `server-template` slots filled from an SRV name. Started on loopback with a temporary
 * config; its Runtime API (the stats socket) is read with `show servers state`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../free-port.js';
export { freePort };

export const HAPROXY = '/usr/sbin/haproxy';

export interface HaproxyDnsConfig {
  readonly dir: string;
  readonly dnsPort: number;
  readonly frontendPort: number;
  /** The SRV name the slots are filled from, e.g. _web._tcp.service.swimd. */
  readonly srvName: string;
  readonly slots: number;
  /** HAProxy's `timeout resolve`: how often it asks again (its default is 1 s). */
  readonly resolveMs: number;
}

export const BACKEND = 'b';

export function haproxyDnsConfig(c: HaproxyDnsConfig): string {
  return [
    'global',
    `  stats socket ${join(c.dir, 'haproxy.sock')} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 10s',
    '  timeout server 10s',
    'resolvers swimd',
    `  nameserver agent 127.0.0.1:${c.dnsPort}`,
    '  accepted_payload_size 4096',
    `  timeout resolve ${c.resolveMs}ms`,
    `  timeout retry ${c.resolveMs}ms`,
    '  hold valid 10s',
    // An instance gone from the answer, or a service gone altogether, leaves at the next resolution.
    '  hold obsolete 0s',
    '  hold nx 0s',
    'frontend f',
    `  bind 127.0.0.1:${c.frontendPort}`,
    `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`,
    `  server-template srv 1-${c.slots} ${c.srvName} resolvers swimd init-addr none`,
    '',
  ].join('\n');
}

/** One row of `show servers state`, the fields this bench reads. */
export interface ServerState {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly opState: number;
  readonly adminState: number;
  readonly weight: number;
  readonly fqdn: string;
}

/** Admin-state bits meaning "not taking traffic": forced, inherited or resolution maintenance. */
const MAINT_BITS = 0x01 | 0x02 | 0x20;

/** A slot that is filled and running, not in maintenance: HAProxy sends it new requests. */
export function isReady(s: ServerState): boolean {
  return s.opState === 2 && (s.adminState & MAINT_BITS) === 0 && s.port > 0;
}

export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# be_id'));
  if (header === undefined) return [];
  const cols = header.slice(2).split(' ');
  const at = (name: string): number => cols.indexOf(name);
  return lines.filter((l) => !l.startsWith('#') && l.split(' ').length === cols.length).map((l) => {
    const f = l.split(' ');
    return {
      name: f[at('srv_name')] ?? '', addr: f[at('srv_addr')] ?? '', port: Number(f[at('srv_port')]),
      opState: Number(f[at('srv_op_state')]), adminState: Number(f[at('srv_admin_state')]), weight: Number(f[at('srv_uweight')]),
      fqdn: f[at('srv_fqdn')] ?? '',
    };
  });
}

/** Sends one Runtime API command and returns HAProxy's whole answer. */
export function runtimeCommand(socket: string, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to ${JSON.stringify(command)} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
    });
    s.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(`${command}\n`);
  });
}

export async function serversState(socket: string): Promise<ServerState[]> {
  return parseServersState(await runtimeCommand(socket, `show servers state ${BACKEND}`));
}

export interface RunningHaproxy {
  readonly socket: string;
  readonly process: ChildProcess;
  /** What HAProxy wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Writes the config into `dir` and starts HAProxy in the foreground (-db); stop() ends it. */
export function startHaproxy(dir: string, config: string): RunningHaproxy {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    socket: join(dir, 'haproxy.sock'),
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

