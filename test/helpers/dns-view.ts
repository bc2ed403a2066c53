/**
 * A DNS view over fixed members and instances, for tests of the DNS face's pure parts.
 */
import type { DnsView } from '../../daemon/dns/answer.js';
import type { MemberView, ServiceView } from '../../protocol/effects.js';
import type { MemberStatus } from '../../protocol/messages.js';

export function member(name: string, host: string, status: MemberStatus = 'alive'): MemberView {
  return { name, host, port: 7946, status, incarnation: 1 };
}

export function instance(node: string, id: string, over: Partial<ServiceView> = {}): ServiceView {
  return {
    node, id, name: 'web', address: '10.0.0.1', port: 8080, tags: [], meta: {}, version: 'v1', weight: 1,
    health: 'passing', draining: false, rev: 1, ...over,
  };
}

export function fixedView(members: readonly MemberView[], instances: readonly ServiceView[]): DnsView {
  return {
    instances: (name) => instances.filter((i) => i.name.toLowerCase() === name.toLowerCase()),
    member: (name) => members.find((m) => m.name.toLowerCase() === name.toLowerCase()),
    ownerStatus: (node) => members.find((m) => m.name === node)?.status,
  };
}
