import { type Address, addressKey } from './address.js';
import { encodePart } from './codec.js';
import type { Dissemination } from './dissemination.js';
import { LIMITS } from './limits.js';
import { isLive, type MemberTable } from './member-table.js';
import type { MemberState } from './messages.js';
import type { NodeContext } from './node-context.js';
import { newest } from './serial.js';

/** What the name-claim checks uses of its node's shared state. */
export type NameClaimsContext = Readonly<Pick<NodeContext, 'awareness' | 'deadlines' | 'name' | 'nextSeq' | 'now' | 'out' | 'profile' | 'selfRecord' | 'uptimeMs'>>;

/** What to do with an alive claim of our own name at another address. */
export type ClaimVerdict =
  /** The address was found silent recently: a previous life of ours; refute as usual. */
  | 'previous-life'
  /** Not known yet (a check is under way) or another live process holds it: do nothing. */
  | 'hold';

interface Check {
  readonly seq: number;
  readonly other: Address;
  readonly phase: 'join' | 'running';
  /** A re-check of a conflict already reported: an answer is not reported again. */
  readonly known: boolean;
  /** Newest incarnation claimed at that address while checking, refuted if it turns out silent (null: none, a re-check). */
  incarnation: number | null;
  /** When silence becomes the verdict, and how often the ping is sent again until then. */
  readonly deadline: number;
  readonly resendMs: number;
}

/**
 * Alive claims of this node's own name at another address. Either a previous life of this node
 * (it came back on a new address while the cluster still holds the old one) or another live
 * process with the same name (a cloned host). Both look the same in gossip; the test is to ask
 * the other address: a ping whose target is our name is acked only by a process of that name. An
 * ack within the probe timeout is a conflict (reported, never refuted: refuting would start an
 * incarnation war); silence is a previous life (refuted as before). While any check is under way
 * or any conflict stands, copies of "our" catalog entries cannot be told from the other
 * process's, so they are not acted on (see `contested`).
 */
export class NameClaims {
  private readonly checks = new Map<string, Check>();
  private readonly checkBySeq = new Map<number, string>();
  /** Addresses where another live process answers to our name. */
  private readonly conflicts = new Map<string, Address>();
  /** Addresses found silent, until when that verdict holds. */
  private readonly silent = new Map<string, number>();

  constructor(
    private readonly ctx: NameClaimsContext,
    private readonly diss: Dissemination,
    /** A check begins: our queued catalog entries must not reach members that hold the other process. */
    private readonly onContested: () => void,
    /** An address claiming our name was silent: refute a claim of `incarnation` as before. */
    private readonly onSilent: (incarnation: number | null) => void,
    /** Another live process holds our name and this one is the newer: it must not stay. */
    private readonly onStepAside: () => void,
  ) {}

  /** True while a copy of an own catalog entry may belong to another process of our name. */
  get contested(): boolean {
    return this.checks.size > 0 || this.conflicts.size > 0;
  }

  /** An alive claim of our name at `other` (not our address) arrived. */
  claim(other: Address, incarnation: number, phase: 'join' | 'running'): ClaimVerdict {
    const key = addressKey(other);
    if (this.conflicts.has(key)) return 'hold';
    const until = this.silent.get(key);
    if (until !== undefined) {
      if (until > this.ctx.now) return 'previous-life';
      this.silent.delete(key);
    }
    const pending = this.checks.get(key);
    if (pending !== undefined) {
      pending.incarnation = pending.incarnation === null ? incarnation : newest(pending.incarnation, incarnation);
      return 'hold';
    }
    this.startCheck(key, other, incarnation, phase, false);
    return 'hold';
  }

  /**
   * True when `seq` was one of our checks (consumed here, not a probe's ack). An answer means
   * another live process holds our name; `otherUptimeMs` (absent from older agents) says which of
   * the two is newer.
   */
  onAck(seq: number, otherUptimeMs: number | undefined): boolean {
    const key = this.checkBySeq.get(seq);
    if (key === undefined) return false;
    const c = this.endCheck(key);
    if (c === undefined) return true;
    this.conflicts.set(key, c.other);
    // The other process may go away; look again now and then, so the conflict does not outlive it.
    this.ctx.deadlines.set({ kind: 'claim-recheck', address: key }, this.ctx.now + this.recheckMs());
    const stepAside = this.decide(c.phase, c.other, otherUptimeMs);
    if (!c.known || stepAside) this.report(c.other, c.phase, stepAside);
    if (stepAside) this.onStepAside();
    return true;
  }

  private report(other: Address, phase: 'join' | 'running', stepAside: boolean): void {
    const self = this.ctx.selfRecord;
    this.ctx.out.push({
      kind: 'conflict',
      conflict: { name: this.ctx.name, held: { host: self.host, port: self.port }, other, about: 'self', phase, stepAside },
    });
  }

  /**
   * A process with our name at `other` pinged us to check its claim (it is live: it just sent
   * this). Both ends settle the conflict by the same rule, the pinger on our ack.
   */
  onNamesakePing(other: Address, otherUptimeMs: number): void {
    const key = addressKey(other);
    const pending = this.endCheck(key);
    const known = this.conflicts.has(key);
    if (pending === undefined && !known) {
      if (this.checks.size + this.conflicts.size >= LIMITS.nameClaimsMax) {
        this.ctx.out.push({ kind: 'rejected', reason: 'limit', detail: 'too many addresses claim this node\'s name' });
        return;
      }
      this.onContested();
    }
    this.conflicts.set(key, other);
    this.ctx.deadlines.set({ kind: 'claim-recheck', address: key }, this.ctx.now + this.recheckMs());
    const phase = pending?.phase ?? 'running';
    const stepAside = this.decide(phase, other, otherUptimeMs);
    if (!known || stepAside) this.report(other, phase, stepAside);
    if (stepAside) this.onStepAside();
  }

  /**
   * Of two live processes with one name the newer steps aside, wherever each of them joined (a
   * clone that joined one side of a partition meets the original when it heals). Run times within
   * the profile's tie margin count as equal, and then the higher address steps aside. The answer's
   * run time is older than ours by its one-way delay, which only favours the other process: two
   * processes can both stay (each re-checks later) but never both step aside. An older agent
   * reports no run time: a node that met it while joining is the newcomer; one already running
   * keeps its state.
   */
  private decide(phase: 'join' | 'running', other: Address, otherUptimeMs: number | undefined): boolean {
    if (otherUptimeMs === undefined) return phase === 'join';
    const d = this.ctx.uptimeMs() - otherUptimeMs;
    const tie = this.ctx.profile.nameClaimTieMs;
    if (d < -tie) return true;
    if (d > tie) return false;
    return addressKey(this.ctx.selfRecord) > addressKey(other);
  }

  onRetry(seq: number): void {
    const key = this.checkBySeq.get(seq);
    const c = key === undefined ? undefined : this.checks.get(key);
    if (c === undefined) return;
    this.sendPing(c);
    const next = this.ctx.now + c.resendMs;
    if (next < c.deadline) this.ctx.deadlines.set({ kind: 'claim-retry', seq }, next);
  }

  onTimeout(seq: number): void {
    const key = this.checkBySeq.get(seq);
    if (key === undefined) return;
    const c = this.endCheck(key);
    if (c === undefined) return;
    if (this.silent.size >= LIMITS.nameClaimsMax) {
      const oldest = this.silent.keys().next();
      if (!oldest.done) this.silent.delete(oldest.value);
    }
    this.silent.set(key, this.ctx.now + this.silentHoldMs());
    this.onSilent(c.incarnation);
  }

  /** Periodic re-check of a standing conflict: an answer keeps it (unreported), silence ends it. */
  onRecheck(key: string): void {
    const other = this.conflicts.get(key);
    if (other === undefined) return;
    this.conflicts.delete(key);
    this.startCheck(key, other, null, 'running', true);
  }

  private startCheck(key: string, other: Address, incarnation: number | null, phase: 'join' | 'running', known: boolean): void {
    if (this.checks.size + this.conflicts.size >= LIMITS.nameClaimsMax) {
      this.ctx.out.push({ kind: 'rejected', reason: 'limit', detail: 'too many addresses claim this node\'s name' });
      return;
    }
    const seq = this.ctx.nextSeq();
    // Silence is taken as a previous life of ours, whose entries we then overwrite: a wrong verdict
    // costs another process its services, a slow one only delays a refutation. So the check waits two
    // probe intervals, pinging again every half probe timeout: a few lost datagrams or a busy peer
    // must not pass for silence.
    const resendMs = this.ctx.awareness.scale(this.ctx.profile.probeTimeoutMs) / 2;
    const deadline = this.ctx.now + 2 * this.ctx.awareness.scale(this.ctx.profile.probeIntervalMs);
    const c: Check = { seq, other, phase, known, incarnation, deadline, resendMs };
    this.checks.set(key, c);
    this.checkBySeq.set(seq, key);
    if (!known) this.onContested();
    this.sendPing(c);
    this.ctx.deadlines.set({ kind: 'claim-timeout', seq }, deadline);
    this.ctx.deadlines.set({ kind: 'claim-retry', seq }, this.ctx.now + resendMs);
  }

  private endCheck(key: string): Check | undefined {
    const c = this.checks.get(key);
    if (c === undefined) return undefined;
    this.checks.delete(key);
    this.checkBySeq.delete(c.seq);
    this.ctx.deadlines.clear({ kind: 'claim-timeout', seq: c.seq });
    this.ctx.deadlines.clear({ kind: 'claim-retry', seq: c.seq });
    return c;
  }

  private sendPing(c: Check): void {
    const self = this.ctx.selfRecord;
    // Our run time rides along, so that the other process can settle the conflict on receipt: gossip
    // may never carry our address to it (the members that hold its address refuse ours).
    const ping = encodePart({
      type: 'ping', seq: c.seq, target: this.ctx.name, source: this.ctx.name, sourceHost: self.host, sourcePort: self.port,
      uptimeMs: this.ctx.uptimeMs(),
    });
    this.diss.send(c.other, [ping]);
  }

  /** How long a standing conflict goes unchecked: one push-pull period, when a full state brings claims back anyway. */
  private recheckMs(): number {
    return this.ctx.profile.pushPullIntervalMs;
  }

  /**
   * How long a silent verdict spares an address from another check: long enough that copies of one
   * stale claim cost one check, short enough that a process that was only cut off (a partition) is
   * asked again soon after it can answer, so that the newer of the two steps aside promptly.
   */
  private silentHoldMs(): number {
    return this.ctx.profile.nameClaimSilentHoldMs;
  }
}

/** True when a full state from `source` has it alive at another address than the live one we hold. */
export function claimsLiveNameElsewhere(table: MemberTable, source: string, members: readonly MemberState[]): boolean {
  const held = table.get(source);
  if (held === undefined || !isLive(held.status)) return false;
  const own = members.find((m) => m.name === source);
  return own !== undefined && own.status === 'alive' && (own.host !== held.host || own.port !== held.port);
}
