import type { SwimNode } from '../../protocol/node.js';
import type { DnsView } from './answer.js';

/**
 * The DNS face's view of the agent: the core's catalog and member table, read at the moment of
 * each query. Nothing is cached, so an answer reflects every change the agent has applied.
 */
export function coreView(node: SwimNode): DnsView {
  return {
    instances: (name) => {
      const wanted = name.toLowerCase();
      return node.services().filter((v) => v.name.toLowerCase() === wanted);
    },
    member: (name) => {
      const exact = node.member(name);
      if (exact !== undefined) return exact;
      const wanted = name.toLowerCase();
      return node.members().find((m) => m.name.toLowerCase() === wanted);
    },
    ownerStatus: (node_) => node.member(node_)?.status,
    split: (service) => node.split(service),
  };
}
