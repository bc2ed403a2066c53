/**
 * One randomised run on the simulator: the cluster, the seeded draws of its schedule, and the history
 * the invariant checks need (who crashed when, the highest counters each owner issued, every catalog
 * id ever used) plus a one-line account of the faults applied, for a readable failure.
 */
import type { ServiceSpec } from '../../protocol/catalog.js';
import type { Effect } from '../../protocol/effects.js';
import type { ServiceMsg } from '../../protocol/messages.js';
import { Rng } from '../../protocol/rng.js';
import { Simulator } from '../../protocol/sim/simulator.js';
import { laterOf } from './serial-order.js';

/** Every check a run is held to; a failure report groups violations by these. */
export type CheckName =
  | 'exception'
  | 'convergence'
  | 'member-address'
  | 'incarnation-issued'
  | 'catalog-agreement'
  | 'catalog-tombstone'
  | 'version-issued'
  | 'stability'
  | 'member-reaped'
  | 'catalog-reaped'
  | 'name-conflict';

export interface Violation {
  readonly check: CheckName;
  readonly text: string;
}

/**
 * Whether an effect is a node saying that its own name is already taken by another live process
 * that was there first, so that it must step aside (the daemon exits on it). A node that only
 * notices a newcomer claiming its name keeps running and is not counted.
 */
export function reportsNameConflict(e: Effect): boolean {
  return e.kind === 'conflict' && e.conflict.about === 'self' && e.conflict.stepAside;
}

export class Trial {
  readonly sim: Simulator;
  readonly rng: Rng;
  /** The nodes the cluster was built from (ids); ids[0] and ids[1] are seeds that never crash. */
  readonly ids: string[];
  /** Nodes added later under another node's member name. */
  readonly clones: string[] = [];
  readonly crashed = new Set<string>();
  readonly crashedAt = new Map<string, number>();
  /** Nodes no fault may crash or restart (the seeds, the original of a cloned name). */
  readonly protectedIds = new Set<string>();
  /** Nodes that reported a name conflict (see reportsNameConflict). */
  readonly conflictReported = new Set<string>();
  /** Every catalog id ever registered or forged, by owner member name. */
  readonly serviceIds = new Map<string, Set<string>>();
  /** Member names some forged datagram was about (their counters may hold values nobody issued). */
  readonly forgedSubjects = new Set<string>();
  /** The first error each node threw on an input, and how many inputs it threw on in all. */
  readonly nodeErrors = new Map<string, { count: number; readonly text: string }>();
  private readonly issuedInc = new Map<string, number>();
  private readonly issuedRev = new Map<string, number>();
  private readonly log: string[] = [];
  private readonly header: string;

  /** A cluster of 4 to 3 + `sizeSpread` nodes, drawn from the seed. */
  constructor(readonly seed: number, readonly family: string, sizeSpread = 9) {
    this.rng = new Rng(seed ^ 0x5eed);
    const n = 4 + this.rng.int(sizeSpread);
    const latencyMs = 1 + this.rng.int(5);
    const jitterMs = this.rng.int(3);
    this.sim = new Simulator({
      seed, profile: 'lan', latencyMs, jitterMs, recordEvents: false,
      onEffect: (_time, node, e) => {
        if (reportsNameConflict(e)) this.conflictReported.add(node);
      },
      // As in the daemon, an input the core throws on is lost and the node goes on; each is a violation.
      onNodeError: (time, node, input, err) => {
        const first = this.nodeErrors.get(node);
        if (first !== undefined) {
          first.count++;
          return;
        }
        const where = err instanceof Error ? (err.stack?.split('\n')[1]?.trim() ?? '') : '';
        const what = err instanceof Error ? err.message : String(err);
        this.nodeErrors.set(node, { count: 1, text: `${node} threw on a ${input} at ${(time / 1000).toFixed(1)}s: ${what} ${where}` });
      },
    });
    this.ids = this.sim.addNodes(n);
    this.protectedIds.add(this.ids[0] as string).add(this.ids[1] as string);
    this.header = `${family}: ${n} nodes, latency ${latencyMs}±${jitterMs} ms`;
  }

  // ---- bookkeeping ------------------------------------------------------------------------------

  /** Appends one applied fault to the schedule's account, stamped with the virtual time. */
  note(text: string): void {
    this.log.push(`${(this.sim.now / 1000).toFixed(1)}s ${text}`);
  }

  describe(): string {
    return [this.header, ...this.log].join('; ');
  }

  /** Running nodes, clones included. */
  running(): string[] {
    return [...this.ids, ...this.clones].filter((id) => this.sim.isUp(id));
  }

  /**
   * The nodes the convergence checks are about: running, not a clone, and not one that reported a
   * name conflict (it stepped aside; whether it should have is the name-conflict check's business).
   */
  observers(): string[] {
    return this.ids.filter((id) => this.sim.isUp(id) && !this.conflictReported.has(id));
  }

  /** Records the counters every running node has issued for itself so far (they only rise within a life). */
  noteIssued(): void {
    for (const id of this.running()) {
      const node = this.sim.node(id);
      const name = this.sim.memberName(id);
      this.issuedInc.set(name, laterOf(this.issuedInc.get(name) ?? 0, node.self().incarnation));
      let rev = laterOf(this.issuedRev.get(name) ?? 0, node.catalogRevision());
      // An entry re-issued above a claim from elsewhere takes the claim's successor without moving
      // the counter, so the owner's own copies count as issued too.
      for (const sid of this.serviceIds.get(name) ?? []) {
        const held = node.serviceRevision(name, sid);
        if (held !== 0) rev = laterOf(rev, held);
      }
      this.issuedRev.set(name, rev);
    }
  }

  issuedIncarnation(name: string): number {
    return this.issuedInc.get(name) ?? 0;
  }

  issuedRevision(name: string): number {
    return this.issuedRev.get(name) ?? 0;
  }

  noteServiceId(owner: string, id: string): void {
    const ids = this.serviceIds.get(owner);
    if (ids === undefined) this.serviceIds.set(owner, new Set([id]));
    else ids.add(id);
  }

  // ---- actions ----------------------------------------------------------------------------------

  /** A node that may take a fault: drawn among the non-protected original nodes. */
  victim(): string | null {
    const pool = this.ids.filter((id) => !this.protectedIds.has(id));
    return pool.length === 0 ? null : (pool[this.rng.int(pool.length)] as string);
  }

  seedNode(): string {
    return this.ids[this.rng.int(2)] as string;
  }

  crash(id: string): void {
    this.noteIssued();
    this.sim.crash(id);
    this.crashed.add(id);
    this.crashedAt.set(id, this.sim.now);
  }

  /**
   * Restarts `id`, keeping what the daemon persists (its incarnation, its catalog revision and its
   * registrations) or losing all of it, and joins it through a seed. Returns the registrations the
   * old process held, for the caller to register again.
   */
  restart(id: string, keepState: boolean): ServiceMsg[] {
    this.noteIssued();
    const old = this.sim.node(id);
    const own = old.ownServices();
    const kept = keepState ? { incarnation: old.self().incarnation, catalogRevision: old.catalogRevision() } : {};
    this.sim.restart(id, { ...kept, seeds: [this.seedNode()] });
    this.crashed.delete(id);
    this.crashedAt.delete(id);
    return own;
  }

  /** Registers (or re-registers) a service instance on running node `id`. */
  register(id: string, serviceId: string, port: number, extra: Partial<ServiceSpec> = {}): void {
    const name = this.sim.memberName(id);
    this.noteServiceId(name, serviceId);
    const spec: ServiceSpec = { id: serviceId, name: 'app', address: this.sim.address(id).host, port, ...extra };
    this.sim.act(id, (node, now) => node.registerService(now, spec).effects);
  }

  /** One random catalog change on `id`: a new or changed registration, health, drain, or deregistration. */
  serviceChange(id: string): void {
    if (!this.sim.isUp(id) || this.sim.isPaused(id)) return;
    const own = this.sim.node(id).ownServices();
    const pick = own.length === 0 ? 0 : this.rng.int(4);
    const cur = own[this.rng.int(Math.max(1, own.length))];
    if (pick === 0 || cur === undefined) {
      const sid = `s${this.rng.int(4)}`;
      const port = 8000 + this.rng.int(4);
      this.register(id, sid, port);
      this.note(`register ${id}/${sid}:${port}`);
    } else if (pick === 1) {
      const health = (['passing', 'warning', 'critical'] as const)[this.rng.int(3)] ?? 'passing';
      this.sim.act(id, (node, now) => node.updateService(now, cur.id, { health }).effects);
      this.note(`health ${id}/${cur.id} ${health}`);
    } else if (pick === 2) {
      const draining = !cur.draining;
      this.sim.act(id, (node, now) => node.updateService(now, cur.id, { draining }).effects);
      this.note(`${draining ? 'drain' : 'undrain'} ${id}/${cur.id}`);
    } else {
      this.sim.act(id, (node, now) => node.deregisterService(now, cur.id).effects);
      this.note(`deregister ${id}/${cur.id}`);
    }
  }

  /** Removes every network fault and ends every pause: the faults stop. */
  stopFaults(): void {
    this.sim.heal();
    this.sim.configure({ loss: 0 });
    for (const id of this.running()) if (this.sim.isPaused(id)) this.sim.resume(id);
  }
}
