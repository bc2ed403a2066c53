import type { Member, ServiceJson } from '../../client/contract/json.js';
import type { MemberView, ServiceView } from '../../protocol/effects.js';

/**
 * The core's views written as the local API's JSON (client/contract/json.ts), for the routes and the
 * watch stream alike: a member or a service has the same shape wherever the agent writes it.
 */

export function memberJson(m: MemberView): Member {
  return { name: m.name, address: m.host, port: m.port, status: m.status, incarnation: m.incarnation };
}

export function serviceJson(v: ServiceView): ServiceJson {
  return {
    node: v.node, id: v.id, name: v.name, address: v.address, port: v.port, tags: v.tags, meta: v.meta,
    version: v.version, weight: v.weight, health: v.health, draining: v.draining, rev: v.rev,
  };
}
