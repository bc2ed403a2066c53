import { isIP } from 'node:net';
import type { Answer, SoaAnswer } from 'dns-packet';
import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { MemberStatus } from '../../protocol/messages.js';
import { effectiveWeights, isRoutable, type RoutingInput, scaleWeights, type SplitPercentages } from '../../client/contract/effective-weight.js';
import { instanceKey } from '../../client/contract/service-weights.js';
import { addrTarget, type DnsName, isHostLabel } from './names.js';

/**
 * Pure: a parsed question and the agent's view in, the records and the response code out. No I/O
 * and no clock, so that every answer can be checked in a unit test and fuzzed.
 *
 * NXDOMAIN is for a name that does not exist; a name that exists with no record of the asked type
 * is NOERROR with an empty answer (NODATA). A service exists while any instance of it is in the
 * catalog, whatever its health: a known service with no routable instance is NODATA, not NXDOMAIN,
 * because a resolver caches NXDOMAIN for every type and for every name below it (RFC 8020), and
 * because the name will have instances again, typically within a deploy. Both carry the zone's SOA
 * in the authority section, whose minimum (dns_ttl) bounds negative caching (RFC 2308).
 */

/** What the answers are read from: the agent's current view, read per query. */
export interface DnsView {
  /** Every catalog instance of the service whose name equals `name` ignoring case (any health). */
  instances(name: string): readonly ServiceView[];
  /** The member whose name equals `name` ignoring case. */
  member(name: string): MemberView | undefined;
  /** The status of the member named exactly `node` (an instance's owner). */
  ownerStatus(node: string): MemberStatus | undefined;
  /** The service's traffic split, once the agent holds splits; absent or undefined: none. */
  split?(service: string): SplitPercentages | undefined;
}

export interface AnswerConfig {
  /** dns_domain: lower case, no trailing dot. */
  readonly domain: string;
  readonly ttl: number;
}

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
export const RCODE_VALUE: Readonly<Record<Rcode, number>> = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
};

export interface Records {
  readonly rcode: Rcode;
  /** Set for names under the domain: the agent speaks with authority there. */
  readonly authoritative: boolean;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  /**
   * Additional records grouped by owner name, so that truncation keeps or drops a name's whole
   * RRset (RFC 2181 5.1), never half of it.
   */
  readonly additionals: readonly (readonly Answer[])[];
}

export interface Question {
  readonly name: string;
  /** dns-packet's type name ('A', 'SRV', 'ANY', 'UNKNOWN_99' ...). */
  readonly type: string;
}

/** Largest SRV weight (RFC 2782 weights are 16-bit). */
export const SRV_WEIGHT_MAX = 65_535;

/**
 * The records answering `q`, whose name parsed as `parsed`. `rotate` picks where the answer list
 * starts, so that clients taking the first address spread over the instances (the caller passes a
 * counter; the function stays deterministic).
 */
export function answerQuestion(q: Question, parsed: DnsName, view: DnsView, cfg: AnswerConfig, rotate = 0): Records {
  const soa = soaRecord(cfg);
  const nodata = (): Records => ({ rcode: 'NOERROR', authoritative: true, answers: [], authorities: [soa], additionals: [] });
  const nxdomain = (): Records => ({ rcode: 'NXDOMAIN', authoritative: true, answers: [], authorities: [soa], additionals: [] });
  const found = (answers: Answer[], additionals: Answer[][] = []): Records =>
    answers.length === 0 ? nodata() : { rcode: 'NOERROR', authoritative: true, answers, authorities: [], additionals };

  switch (parsed.kind) {
    case 'outside':
      return { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] };
    case 'unknown':
      return nxdomain();
    case 'branch':
      return nodata();
    case 'apex':
      return wants(q.type, 'SOA') ? found([{ ...soa, name: q.name }]) : nodata();
    case 'addr': {
      const type = parsed.family === 4 ? 'A' : 'AAAA';
      return wants(q.type, type) ? found([addressRecord(q.name, parsed.address, cfg.ttl)]) : nodata();
    }
    case 'node': {
      const m = view.member(parsed.node);
      if (m === undefined) return nxdomain();
      if (m.status !== 'alive' && m.status !== 'suspect') return nodata();
      const family = isIP(m.host) === 6 ? 'AAAA' : 'A';
      return wants(q.type, family) ? found([addressRecord(q.name, m.host, cfg.ttl)]) : nodata();
    }
    case 'service': {
      const all = view.instances(parsed.service);
      const tag = parsed.tag;
      const named = tag === null ? all : all.filter((i) => i.tags.some((t) => t.toLowerCase() === tag));
      if (named.length === 0) return nxdomain();
      const r = serviceRecords(q, all, named, view, cfg, rotate);
      return found(r.answers, r.additionals);
    }
  }
}

/** Whether a question of type `asked` is answered by records of type `have`. */
function wants(asked: string, have: string): boolean {
  return asked === have || asked === 'ANY';
}

interface Routed {
  readonly view: ServiceView;
  readonly weight: number;
}

function serviceRecords(q: Question, all: readonly ServiceView[], named: readonly ServiceView[], view: DnsView, cfg: AnswerConfig, rotate: number):
  { answers: Answer[]; additionals: Answer[][] } {
  const key = (v: ServiceView): string => instanceKey(v);
  const inputs: RoutingInput[] = all.map((v) => ({
    key: key(v), version: v.version, weight: v.weight, health: v.health, draining: v.draining, ownerStatus: view.ownerStatus(v.node),
  }));
  const routableKeys = new Set(inputs.filter(isRoutable).map((i) => i.key));
  // Weights over the whole service (a split shares traffic between versions, not tags), then scaled
  // over the instances this answer holds.
  const effective = effectiveWeights(inputs, all[0] === undefined ? undefined : view.split?.(all[0].name));
  const chosen = named.filter((v) => routableKeys.has(key(v)))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const scaled = scaleWeights(new Map(chosen.map((v) => [key(v), effective.get(key(v)) ?? 0])), SRV_WEIGHT_MAX);
  const routed: Routed[] = rotated(chosen, rotate).map((v) => ({ view: v, weight: scaled.get(key(v)) ?? 0 }));

  const answers: Answer[] = [];
  const additionals: Answer[][] = [];
  const seenAddress = new Set<string>();
  for (const type of ['A', 'AAAA'] as const) {
    if (!wants(q.type, type)) continue;
    for (const r of routed) {
      // A host-name address has no A/AAAA record here (it is an SRV target instead), and an
      // address shared by several instances is one record: an RRset holds no duplicates.
      if (isIP(r.view.address) !== (type === 'A' ? 4 : 6) || seenAddress.has(r.view.address)) continue;
      seenAddress.add(r.view.address);
      answers.push(addressRecord(q.name, r.view.address, cfg.ttl));
    }
  }
  if (wants(q.type, 'SRV')) {
    const seenTarget = new Set<string>();
    const seenSrv = new Set<string>();
    for (const r of routed) {
      const target = srvTarget(r.view, view, cfg.domain);
      const srvKey = `${target}\u0000${r.view.port}`;
      if (seenSrv.has(srvKey)) continue;
      seenSrv.add(srvKey);
      answers.push({ type: 'SRV', name: q.name, ttl: cfg.ttl, class: 'IN', data: { priority: 1, weight: r.weight, port: r.view.port, target } });
      if (isIP(r.view.address) !== 0 && !seenTarget.has(target)) {
        seenTarget.add(target);
        additionals.push([addressRecord(target, r.view.address, cfg.ttl)]);
      }
    }
  }
  return { answers, additionals };
}

/**
 * NODE.node.DOMAIN when the instance listens on its node's address and the node's name is a host
 * label; otherwise HEX.addr.DOMAIN (as Consul does), so that a target's A/AAAA record is the
 * instance's own address; a host-name address is its own target.
 */
export function srvTarget(v: ServiceView, view: DnsView, domain: string): string {
  const owner = view.member(v.node);
  if (owner !== undefined && owner.name === v.node && owner.host === v.address && isHostLabel(v.node)) {
    return `${v.node.toLowerCase()}.node.${domain}`;
  }
  return addrTarget(v.address, domain) ?? v.address;
}

function rotated<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return [];
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

export function addressRecord(name: string, address: string, ttl: number): Answer {
  return { type: isIP(address) === 6 ? 'AAAA' : 'A', name, ttl, class: 'IN', data: address };
}

/**
 * The zone's SOA: negative answers carry it so that resolvers cache NXDOMAIN and NODATA no longer
 * than dns_ttl. No zone transfers exist, so the serial and timers are nominal.
 */
export function soaRecord(cfg: AnswerConfig): SoaAnswer {
  return {
    type: 'SOA', name: cfg.domain, ttl: cfg.ttl, class: 'IN',
    data: { mname: `ns.${cfg.domain}`, rname: `hostmaster.${cfg.domain}`, serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: cfg.ttl },
  };
}
