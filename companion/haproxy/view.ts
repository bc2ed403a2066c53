/**
 * The catalog as the companion knows it, rebuilt from the local agent's watch stream: every service
 * instance by `node/id`, every member's status (an instance whose owner is dead or gone is not
 * routable), and every service's split. Pure: it only folds watch lines.
 */
import type { SplitPercentages } from '../../client/contract/effective-weight.js';
import { instanceKey, type MemberStatus, type ServiceEntry, type WatchEvent } from '../../client/index.js';

/** What one watch line changed: the service names to recompute, or every one. */
export type Affected = { readonly kind: 'all' } | { readonly kind: 'services'; readonly names: ReadonlySet<string> };

export class CatalogView {
  private readonly services = new Map<string, ServiceEntry>();
  private readonly members = new Map<string, MemberStatus>();
  private readonly splits = new Map<string, SplitPercentages>();

  /** The service's split; undefined when it has none (its instances' own weights apply). */
  split(service: string): SplitPercentages | undefined {
    return this.splits.get(service);
  }

  instances(service: string): ServiceEntry[] {
    return [...this.services.values()].filter((s) => s.name === service);
  }

  ownerStatus(node: string): MemberStatus | undefined {
    return this.members.get(node);
  }

  apply(e: WatchEvent): Affected {
    switch (e.type) {
      case 'snapshot':
        this.services.clear();
        this.members.clear();
        for (const m of e.members) this.members.set(m.name, m.status);
        for (const s of e.services) this.services.set(instanceKey(s), s);
        this.splits.clear();
        for (const s of e.splits) this.splits.set(s.service, s.weights);
        return { kind: 'all' };
      case 'member': {
        if (e.event === 'reaped') this.members.delete(e.member.name);
        else this.members.set(e.member.name, e.member.status);
        const names = new Set<string>();
        for (const s of this.services.values()) if (s.node === e.member.name) names.add(s.name);
        return { kind: 'services', names };
      }
      case 'service': {
        const key = instanceKey(e.service);
        const names = new Set<string>([e.service.name]);
        // A re-registration under another name moves the instance out of its old service.
        if (e.previous !== undefined) names.add(e.previous.name);
        const before = this.services.get(key);
        if (before !== undefined) names.add(before.name);
        if (e.event === 'deregistered') this.services.delete(key);
        else this.services.set(key, e.service);
        return { kind: 'services', names };
      }
      case 'split':
        if (e.split === null) this.splits.delete(e.service);
        else this.splits.set(e.service, e.split.weights);
        return { kind: 'services', names: new Set([e.service]) };
      case 'heartbeat':
        return { kind: 'services', names: new Set() };
    }
  }
}
