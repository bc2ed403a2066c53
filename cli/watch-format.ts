/**
 * One readable line per watch event for `swimd watch`. Names and tags arrive by gossip from other
 * hosts, so every value is passed through sanitizeCell before it reaches the terminal.
 */
import type { ServiceEntry, WatchEvent } from '../client/index.js';
import { addressKey } from '../protocol/address.js';
import { sanitizeCell } from './table.js';

const KIND_WIDTH = 9;
const EVENT_WIDTH = 13;

/** "v1=90 v2=10", in the order the split lists them (label order). */
export function formatSplitWeights(w: Readonly<Record<string, number>>): string {
  return Object.entries(w).map(([v, p]) => `${v}=${p}`).join(' ');
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function instance(s: ServiceEntry): string {
  return `${s.name}/${s.id} on ${s.node}`;
}

function serviceDetail(event: string, s: ServiceEntry, previous: ServiceEntry | undefined): string {
  const where = addressKey({ host: s.address, port: s.port });
  switch (event) {
    case 'health':
      return `${instance(s)}: ${previous === undefined ? '' : `${previous.health} -> `}${s.health}`;
    case 'drained':
    case 'undrained':
    case 'deregistered':
      return instance(s);
    default: {
      const extra = [s.health, s.draining ? 'draining' : '', s.version === '' ? '' : `version ${s.version}`,
        s.tags.length === 0 ? '' : `tags ${s.tags.join(',')}`].filter((x) => x !== '');
      return `${instance(s)} at ${where} (${extra.join(', ')})`;
    }
  }
}

/** The line for one event, without the trailing newline; null for lines not shown (heartbeats). */
export function formatWatchEvent(ev: WatchEvent, at: Date): string | null {
  const stamp = at.toISOString();
  const row = (kind: string, event: string, detail: string): string =>
    `${stamp}  ${kind.padEnd(KIND_WIDTH)}${sanitizeCell(event).padEnd(EVENT_WIDTH)}${sanitizeCell(detail)}`;
  switch (ev.type) {
    case 'snapshot': {
      const alive = ev.members.filter((m) => m.status === 'alive').length;
      const passing = ev.services.filter((s) => s.health === 'passing').length;
      const summary = `${count(ev.members.length, 'member')} (${alive} alive), ${count(ev.services.length, 'service instance')} (${passing} passing)`;
      return row(ev.reset ? 'reset' : 'snapshot', '', ev.reset ? `could not resume; current state: ${summary}` : summary);
    }
    case 'member': {
      const m = ev.member;
      return row('member', ev.event, `${m.name} ${addressKey({ host: m.address, port: m.port })} (${m.status}, incarnation ${m.incarnation})`);
    }
    case 'service':
      return row('service', ev.event, serviceDetail(ev.event, ev.service, ev.previous));
    case 'split':
      return row('split', ev.event, ev.split === null ? ev.service : `${ev.service} ${formatSplitWeights(ev.split.weights)} (by ${ev.split.writer})`);
    case 'heartbeat':
      return null;
  }
}
