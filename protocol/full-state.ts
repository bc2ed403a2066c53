import type { EncodedState, StateRequest } from './anti-entropy.js';
import { encodePushPull } from './codec.js';
import type { MemberTable } from './member-table.js';
import type { Membership } from './membership.js';
import type { MemberState, PushPullMsg, ServiceMsg } from './messages.js';
import { claimsLiveNameElsewhere } from './name-claims.js';
import type { ServiceGossip } from './service-gossip.js';

type CatalogPage = ReturnType<ServiceGossip['page']>;

/** A node's full state as push-pull exchanges it: what goes into one, and how a peer's is taken in. */
export class FullState {
  constructor(
    private readonly name: string,
    private readonly table: MemberTable,
    private readonly membership: Membership,
    private readonly catalog: ServiceGossip,
  ) {}

  merge(source: string, members: readonly MemberState[], services: readonly ServiceMsg[]): void {
    // A peer that claims a live member's name at another address is a second process with that
    // name: its own entries would overwrite or delete the other's, so they are not taken.
    const impostor = source !== this.name && claimsLiveNameElsewhere(this.table, source, members);
    this.membership.mergeFrom(source, members);
    for (const m of services) if (!(impostor && m.node === source)) this.catalog.onService(m);
  }

  /** The member list is never paged: it is capped at membersMax, which one state always holds. */
  encode(r: StateRequest): EncodedState {
    const page = this.page(r);
    return { bytes: encodePushPull(this.message(r, page)), moreAfter: page.moreAfter };
  }

  /**
   * The same state, encoded only when `bytes` is first read (then kept): a request whose bytes are
   * never read — one a simulator knows cannot connect — costs nothing. The reader must read them
   * before the node's next input (the member list is taken at the first read), and an encoding
   * error surfaces there.
   */
  encodeLater(r: StateRequest): EncodedState {
    const page = this.page(r);
    const encode = (): Uint8Array => encodePushPull(this.message(r, page));
    let bytes: Uint8Array | null = null;
    return {
      moreAfter: page.moreAfter,
      get bytes(): Uint8Array {
        bytes ??= encode();
        return bytes;
      },
    };
  }

  private page(r: StateRequest): CatalogPage {
    return r.withOwnState ? this.catalog.page(r.pageFrom) : { entries: [], moreAfter: undefined };
  }

  private message(r: StateRequest, page: CatalogPage): PushPullMsg {
    const msg: PushPullMsg = {
      type: 'push-pull', join: r.join, source: this.name,
      members: r.withOwnState ? this.membership.fullState() : [], services: page.entries,
      ...(r.pageFrom === undefined ? {} : { pageFrom: r.pageFrom }),
      ...(page.moreAfter === undefined ? {} : { moreAfter: page.moreAfter }),
    };
    return msg;
  }
}
