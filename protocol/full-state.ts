import type { EncodedState, StateRequest } from './anti-entropy.js';
import { encodePart, encodePushPull } from './codec.js';
import type { MemberTable } from './member-table.js';
import type { Membership } from './membership.js';
import type { CatalogCursor, MemberState, PushPullMsg, ServiceMsg, SplitMsg, StateDigest } from './messages.js';
import type { NodeContext } from './node-context.js';
import { isExpired } from './reaper.js';
import { DigestBuilder } from './state-digest.js';
import type { SplitGossip } from './splits.js';
import { claimsLiveNameElsewhere } from './name-claims.js';
import type { ServiceGossip } from './service-gossip.js';

type CatalogPage = ReturnType<ServiceGossip['page']>;

/** What one state carries besides the member list: the catalog page, and the splits beside it. */
interface StateParts {
  readonly page: CatalogPage;
  readonly splits: SplitMsg[];
}

/** A node's full state as push-pull exchanges it: what goes into one, and how a peer's is taken in. */
export class FullState {
  constructor(
    private readonly name: string,
    private readonly table: MemberTable,
    private readonly membership: Membership,
    private readonly catalog: ServiceGossip,
    private readonly splits: SplitGossip,
    private readonly clock: Readonly<Pick<NodeContext, 'now' | 'profile' | 'selfRecord'>>,
  ) {}

  /**
   * The digest of what a full state would carry, all pages together: every member record a state
   * includes (this node's own among them) by name, address, incarnation and status, but not the
   * age of a dead or left one, which differs between nodes that agree; every catalog entry a state
   * may carry; every split. One pass over each table.
   */
  digest(): StateDigest {
    const d = new DigestBuilder();
    for (const r of this.table.values()) if (!isExpired(this.clock, r)) d.member(r);
    this.catalog.forEachExported((m) => d.entry(m));
    for (const m of this.splits.records()) d.split(m);
    return d.result();
  }

  /** A periodic request that carries this node's digest in place of its state. */
  encodeDigestRequest(pageFrom: CatalogCursor | undefined): Uint8Array {
    return encodePushPull({
      type: 'push-pull', join: false, source: this.name, members: [], services: [], digest: this.digest(),
      ...(pageFrom === undefined ? {} : { pageFrom }),
    });
  }

  /** The reply to a request whose digest equals ours: no state. */
  encodeInSync(): Uint8Array {
    return encodePushPull({ type: 'push-pull', join: false, source: this.name, members: [], services: [], inSync: true });
  }

  merge(source: string, members: readonly MemberState[], services: readonly ServiceMsg[], splits: readonly SplitMsg[] = []): void {
    // A peer that claims a live member's name at another address is a second process with that
    // name: its own entries would overwrite or delete the other's, so they are not taken.
    const impostor = source !== this.name && claimsLiveNameElsewhere(this.table, source, members);
    this.membership.mergeFrom(source, members);
    for (const m of services) if (!(impostor && m.node === source)) this.catalog.onService(m);
    for (const m of splits) this.splits.onSplit(m);
  }

  /**
   * The member list is never paged: it is capped at membersMax, which one state always holds. The
   * splits (at most LIMITS.pushPullSplitBytesMax) travel whole in every page, beside the catalog's share.
   */
  encode(r: StateRequest): EncodedState {
    const parts = this.parts(r);
    return { bytes: encodePushPull(this.message(r, parts)), moreAfter: parts.page.moreAfter };
  }

  /**
   * The same state, encoded only when `bytes` is first read (then kept): a request whose bytes are
   * never read — one a simulator knows cannot connect — costs no encoding of the member list. The
   * reader must read them before the node's next input (the member list is taken at the first
   * read), and an encoding error surfaces there.
   */
  encodeLater(r: StateRequest): EncodedState {
    const parts = this.parts(r);
    const encode = (): Uint8Array => encodePushPull(this.message(r, parts));
    let bytes: Uint8Array | null = null;
    return {
      moreAfter: parts.page.moreAfter,
      get bytes(): Uint8Array {
        bytes ??= encode();
        return bytes;
      },
    };
  }

  private parts(r: StateRequest): StateParts {
    const splits = r.withOwnState ? this.splits.records() : [];
    const splitBytes = splits.reduce((n, m) => n + encodePart(m).length, 0);
    const page = r.withOwnState ? this.catalog.page(r.pageFrom, splitBytes) : { entries: [], moreAfter: undefined };
    return { page, splits };
  }

  private message(r: StateRequest, { page, splits }: StateParts): PushPullMsg {
    return {
      type: 'push-pull', join: r.join, source: this.name,
      members: r.withOwnState ? this.membership.fullState() : [], services: page.entries,
      ...(r.pageFrom === undefined ? {} : { pageFrom: r.pageFrom }),
      ...(page.moreAfter === undefined ? {} : { moreAfter: page.moreAfter }),
      ...(splits.length === 0 ? {} : { splits }),
      ...(r.withDigest === true ? { digest: this.digest() } : {}),
    };
  }
}
