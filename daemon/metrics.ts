import type { MemberView } from '../protocol/effects.js';
import type { NodeStats } from '../protocol/node.js';
import { STATUS_BY_CODE } from '../protocol/messages.js';

/**
 * Daemon counters and their rendering in the Prometheus text exposition format (version 0.0.4),
 * written by hand: the format is a few lines of text and not worth a dependency. Every label
 * value comes from a closed set (reasons, directions, route patterns), so series cannot multiply
 * with untrusted input.
 */

export type StreamDirection = 'in' | 'out';
export type StreamResult = 'ok' | 'failed' | 'refused';

export class Metrics {
  packetsIn = 0;
  packetsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  sendErrors = 0;
  ticks = 0;
  lateTicks = 0;
  tickLatenessSumMs = 0;
  tickLatenessMaxMs = 0;
  readonly rejected = new Map<string, number>();
  readonly streams = new Map<string, number>();
  /** Inbound push-pull connections that waited for a slot (then served, or refused at the wait limit). */
  streamsWaited = 0;
  readonly apiRequests = new Map<string, number>();
  /** Name conflicts by what they were about ('self' | 'member'). */
  readonly nameConflicts = new Map<string, number>();

  nameConflict(about: 'self' | 'member'): void {
    bump(this.nameConflicts, about);
  }

  reject(reason: string): void {
    bump(this.rejected, reason);
  }

  stream(direction: StreamDirection, result: StreamResult): void {
    bump(this.streams, `${direction}\u0000${result}`);
  }

  /** `route` is the matched pattern ("GET /v1/members") or "unmatched", never the raw path. */
  apiRequest(route: string, status: number): void {
    bump(this.apiRequests, `${route}\u0000${status}`);
  }

  tick(latenessMs: number, lateThresholdMs: number): void {
    this.ticks++;
    const late = Math.max(0, latenessMs);
    this.tickLatenessSumMs += late;
    if (late > this.tickLatenessMaxMs) this.tickLatenessMaxMs = late;
    if (late > lateThresholdMs) this.lateTicks++;
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** What the renderer reads from the running agent at scrape time. */
export interface MetricsSnapshot {
  readonly metrics: Metrics;
  readonly stats: Readonly<NodeStats>;
  readonly members: readonly MemberView[];
  readonly incarnation: number;
  readonly localHealth: number;
  readonly uptimeSeconds: number;
  readonly lateTickThresholdMs: number;
}

export function renderMetrics(s: MetricsSnapshot): string {
  const out = new Exposition();
  const m = s.metrics;

  const byStatus = new Map<string, number>(STATUS_BY_CODE.map((st) => [st, 0]));
  for (const member of s.members) byStatus.set(member.status, (byStatus.get(member.status) ?? 0) + 1);
  out.family('swimd_members', 'gauge', 'Known members (including this node) by status.');
  for (const [status, n] of byStatus) out.sample('swimd_members', { status }, n);

  out.single('swimd_packets_received_total', 'counter', 'UDP datagrams received.', m.packetsIn);
  out.single('swimd_packets_sent_total', 'counter', 'UDP datagrams sent.', m.packetsOut);
  out.single('swimd_bytes_received_total', 'counter', 'UDP payload bytes received.', m.bytesIn);
  out.single('swimd_bytes_sent_total', 'counter', 'UDP payload bytes sent.', m.bytesOut);
  out.single('swimd_send_errors_total', 'counter', 'UDP sends that failed or were dropped for lack of room.', m.sendErrors);

  out.family('swimd_packets_rejected_total', 'counter', 'Inputs dropped, by reason.');
  for (const [reason, n] of sorted(s.metrics.rejected)) out.sample('swimd_packets_rejected_total', { reason }, n);

  out.family('swimd_probe_rtt_milliseconds', 'summary', 'Round-trip time of successful direct probes.');
  out.sample('swimd_probe_rtt_milliseconds_sum', {}, s.stats.probeRttSumMs);
  out.sample('swimd_probe_rtt_milliseconds_count', {}, s.stats.probeRttCount);
  out.single('swimd_probes_sent_total', 'counter', 'Direct probes sent.', s.stats.probesSent);
  out.single('swimd_probes_failed_total', 'counter', 'Probes that got no ack, direct or indirect.', s.stats.probesFailed);
  out.single('swimd_indirect_probes_sent_total', 'counter', 'Indirect probe requests sent.', s.stats.indirectProbesSent);
  out.single('swimd_suspicions_raised_total', 'counter', 'Members this node started suspecting.', s.stats.suspicionsRaised);
  out.single('swimd_suspicions_refuted_total', 'counter', 'Suspicions of this node that it refuted.', s.stats.suspicionsRefuted);
  out.single('swimd_declared_dead_total', 'counter', 'Members this node declared dead.', s.stats.declaredDead);

  out.single('swimd_ticks_total', 'counter', 'Protocol timer firings.', m.ticks);
  out.single('swimd_ticks_late_total', 'counter', `Timer firings more than ${s.lateTickThresholdMs} ms after their deadline.`, m.lateTicks);
  out.single('swimd_tick_lateness_milliseconds_sum', 'counter', 'Total lateness of timer firings.', m.tickLatenessSumMs);
  out.single('swimd_tick_lateness_milliseconds_max', 'gauge', 'Largest lateness of a timer firing since start.', m.tickLatenessMaxMs);

  out.family('swimd_push_pull_streams_total', 'counter', 'Push-pull (full state) exchanges by direction and result.');
  for (const [key, n] of sorted(m.streams)) {
    const [direction = '', result = ''] = key.split('\u0000');
    out.sample('swimd_push_pull_streams_total', { direction, result }, n);
  }

  out.single('swimd_push_pull_streams_waited_total', 'counter', 'Inbound push-pull connections that waited for a free slot.', m.streamsWaited);

  out.family('swimd_api_requests_total', 'counter', 'Local API requests by route and status code.');
  for (const [key, n] of sorted(m.apiRequests)) {
    const [route = '', code = ''] = key.split('\u0000');
    out.sample('swimd_api_requests_total', { route, code }, n);
  }

  out.family('swimd_name_conflicts_total', 'counter',
    'Two processes claiming one member name: about="self" when another live agent answers to this agent\'s name, about="member" when a second address claimed for a live member was refused.');
  for (const about of ['member', 'self']) out.sample('swimd_name_conflicts_total', { about }, m.nameConflicts.get(about) ?? 0);

  out.single('swimd_incarnation', 'gauge', "This node's incarnation number.", s.incarnation);
  out.single('swimd_local_health', 'gauge', 'Lifeguard local-health score (0 is healthy).', s.localHealth);
  out.single('swimd_uptime_seconds', 'gauge', 'Seconds since the agent started.', s.uptimeSeconds);
  return out.text();
}

function sorted(m: ReadonlyMap<string, number>): [string, number][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'summary', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Readonly<Record<string, string>>, value: number): void {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.lines.push(`${name}${parts.length === 0 ? '' : `{${parts.join(',')}}`} ${formatValue(value)}`);
  }

  single(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.family(name, type, help);
    this.sample(name, {}, value);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
