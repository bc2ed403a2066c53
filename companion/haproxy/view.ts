/**
 * The catalog as the companion knows it, rebuilt from the local agent's watch stream: every service
 * instance by `node/id`, and every member's status (an instance whose owner is dead or gone is not
 * routable). Pure: it only folds watch lines.
 */
import { instanceKey, type MemberStatus, type ServiceEntry, type WatchEvent } from '../../client/index.js';

/** What one watch line changed: the service names to recompute, or every one. */
export type Affected = { readonly kind: 'all' } | { readonly kind: 'services'; readonly names: ReadonlySet<string> };

export class CatalogView {
  private readonly services = new Map<string, ServiceEntry>();
  private readonly members = new Map<string, MemberStatus>();

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
      case 'heartbeat':
        return { kind: 'services', names: new Set() };
    }
  }
}
