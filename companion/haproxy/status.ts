/**
 * The companion's status: a JSON document it rewrites (atomically) after every change it applies,
 * read back by `swimd haproxy --status`, plus the same counters in Prometheus text format for
 * node_exporter's textfile collector. A shortage of slots is shown here by name, instance by
 * instance, so it is never a silent drop.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { AdminState } from './slots.js';

export const STATUS_FILE_ENV = 'SWIMD_HAPROXY_STATUS';
/** systemd's RuntimeDirectory=swimd-haproxy in the unit file. */
export const DEFAULT_STATUS_FILE = '/run/swimd-haproxy/status.json';

export interface ServerStatus {
  readonly slot: string;
  /** `node/id`, or null for a free slot. */
  readonly instance: string | null;
  readonly address: string;
  readonly port: number;
  readonly state: AdminState;
  readonly weight: number;
}

export interface UnplacedStatus {
  readonly instance: string;
  readonly address: string;
  readonly port: number;
  readonly state: AdminState;
}

export interface BackendStatus {
  readonly backend: string;
  readonly service: string;
  readonly slots: number;
  readonly used: number;
  readonly unplaced: readonly UnplacedStatus[];
  /** Instances registered with a host name: `set server ... addr` takes IP addresses only. */
  readonly unaddressable: readonly UnplacedStatus[];
  readonly servers: readonly ServerStatus[];
  /** Why the backend could not be read or changed (e.g. not in haproxy.cfg); null when fine. */
  readonly error: string | null;
}

export interface CompanionCounters {
  /** Watch lines applied. */
  events: number;
  commands: number;
  command_failures: number;
  full_reconciles: number;
  /** HAProxy restarts or reloads noticed (its Pid or start time changed). */
  reloads_detected: number;
  /** Times the Runtime API could not be reached or did not answer. */
  haproxy_unreachable: number;
}

export interface CompanionStatus {
  readonly pid: number;
  readonly updated_at: string;
  readonly agent_socket: string;
  readonly haproxy_socket: string;
  readonly haproxy: { readonly reachable: boolean; readonly pid: number | null; readonly last_error: string | null };
  readonly agent: { readonly last_line_at: string | null; readonly index: number | null; readonly synced: boolean };
  readonly backends: readonly BackendStatus[];
  readonly counters: CompanionCounters;
}

export function newCounters(): CompanionCounters {
  return { events: 0, commands: 0, command_failures: 0, full_reconciles: 0, reloads_detected: 0, haproxy_unreachable: 0 };
}

/**
 * A running companion rewrites its status at least once per HAProxy check (every second by
 * default); one this old was left by a companion that is no longer running.
 */
export const STALE_STATUS_MS = 30_000;

/**
 * Problems worth a non-zero exit of `--status`: unreachable HAProxy, a missing backend, too few
 * slots, and (given `now`) a status no running companion has written for STALE_STATUS_MS.
 */
export function statusProblems(s: CompanionStatus, now?: Date): string[] {
  const out: string[] = [];
  const age = now === undefined ? 0 : now.getTime() - Date.parse(s.updated_at);
  if (age > STALE_STATUS_MS) out.push(`the status is ${Math.round(age / 1000)} s old: is the companion (pid ${s.pid}) still running?`);
  if (!s.haproxy.reachable) out.push(`HAProxy's Runtime API is unreachable: ${s.haproxy.last_error ?? 'not yet contacted'}`);
  if (!s.agent.synced) out.push('no snapshot from the agent yet');
  for (const b of s.backends) {
    if (b.error !== null) out.push(`backend ${b.backend}: ${b.error}`);
    if (b.unplaced.length > 0) {
      out.push(`backend ${b.backend}: too few slots (${b.slots}) for ${b.used + b.unplaced.length} instances; not in HAProxy: ${b.unplaced.map((u) => u.instance).join(', ')}`);
    }
    // Read defensively: a status written before this field existed has none.
    for (const u of b.unaddressable ?? []) {
      out.push(`backend ${b.backend}: ${u.instance} is registered with the host name ${u.address}, which HAProxy's Runtime API cannot set: register it with an IP address`);
    }
  }
  return out;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd());
}

/** The human form of `swimd haproxy --status`. */
export function renderStatus(s: CompanionStatus, now: Date): string {
  const age = (iso: string | null): string => (iso === null ? 'never' : `${Math.max(0, (now.getTime() - Date.parse(iso)) / 1000).toFixed(1)} s ago`);
  const lines = [
    `companion  pid ${s.pid}, status written ${age(s.updated_at)}`,
    `haproxy    ${s.haproxy_socket}: ${s.haproxy.reachable ? `reachable (pid ${s.haproxy.pid ?? '?'})` : `UNREACHABLE (${s.haproxy.last_error ?? 'not yet contacted'})`}; ${s.counters.reloads_detected} reloads seen, ${s.counters.full_reconciles} full reconciles`,
    `agent      ${s.agent_socket}: ${s.agent.synced ? 'synced' : 'NOT SYNCED'}, last line ${age(s.agent.last_line_at)}`,
    '',
  ];
  const head = ['BACKEND', 'SERVICE', 'SLOTS', 'USED', 'UNPLACED', 'STATUS'];
  const rows = s.backends.map((b) => [b.backend, b.service, String(b.slots), String(b.used), String(b.unplaced.length),
    b.error !== null ? `ERROR: ${b.error}` : b.unplaced.length > 0 ? 'TOO FEW SLOTS' : 'ok']);
  lines.push(...table([head, ...rows]), '');
  const srvRows = s.backends.flatMap((b) => [
    ...b.servers.filter((v) => v.instance !== null).map((v) => [`${b.backend}/${v.slot}`, v.instance ?? '', `${v.address}:${v.port}`, v.state, String(v.weight)]),
    ...b.unplaced.map((u) => [`${b.backend}/-`, u.instance, `${u.address}:${u.port}`, `${u.state} (NO SLOT)`, '-']),
    ...(b.unaddressable ?? []).map((u) => [`${b.backend}/-`, u.instance, `${u.address}:${u.port}`, `${u.state} (HOST NAME)`, '-']),
  ]);
  if (srvRows.length > 0) lines.push(...table([['SLOT', 'INSTANCE', 'ADDRESS', 'STATE', 'WEIGHT'], ...srvRows]));
  else lines.push('no instances of the mapped services');
  const problems = statusProblems(s, now);
  if (problems.length > 0) lines.push('', ...problems.map((p) => `problem: ${p}`));
  return lines.join('\n');
}

/** Prometheus text exposition of the counters and per-backend gauges. */
export function renderMetrics(s: CompanionStatus): string {
  const c = s.counters;
  const out: string[] = [];
  const counter = (name: string, help: string, v: number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
  };
  counter('swimd_haproxy_events_total', 'Watch lines from the agent applied.', c.events);
  counter('swimd_haproxy_commands_total', 'Runtime API commands sent.', c.commands);
  counter('swimd_haproxy_command_failures_total', 'Runtime API commands HAProxy refused.', c.command_failures);
  counter('swimd_haproxy_full_reconciles_total', 'Full reconciles (start, agent snapshot, HAProxy reload or reconnect).', c.full_reconciles);
  counter('swimd_haproxy_reloads_detected_total', 'HAProxy reloads or restarts noticed.', c.reloads_detected);
  counter('swimd_haproxy_unreachable_total', 'Times the Runtime API could not be reached.', c.haproxy_unreachable);
  out.push('# HELP swimd_haproxy_reachable 1 when the last Runtime API call succeeded.', '# TYPE swimd_haproxy_reachable gauge', `swimd_haproxy_reachable ${s.haproxy.reachable ? 1 : 0}`);
  const gauge = (name: string, help: string, v: (b: BackendStatus) => number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const b of s.backends) out.push(`${name}{backend=${JSON.stringify(b.backend)},service=${JSON.stringify(b.service)}} ${v(b)}`);
  };
  gauge('swimd_haproxy_slots', 'Server slots the backend declares.', (b) => b.slots);
  gauge('swimd_haproxy_slots_used', 'Slots holding an instance.', (b) => b.used);
  gauge('swimd_haproxy_unplaced_instances', 'Instances that should be in HAProxy and have no slot (too few slots).', (b) => b.unplaced.length);
  gauge('swimd_haproxy_unaddressable_instances', 'Instances registered with a host name, which the Runtime API cannot set.', (b) => b.unaddressable.length);
  return `${out.join('\n')}\n`;
}

/** Writes beside the target and renames, so a reader never sees half a file. */
export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Reads a status document back; throws with the reason when it is not one. */
export function decodeStatus(text: string): CompanionStatus {
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of ['pid', 'updated_at', 'haproxy', 'agent', 'backends', 'counters']) {
    if (!(k in o)) throw new Error(`no "${k}" field`);
  }
  if (!Array.isArray(o['backends'])) throw new Error('"backends" is not an array');
  return v as CompanionStatus;
}
