import type { EncodedState, StateRequest } from './anti-entropy.js';
import { encodePushPull } from './codec.js';
import type { MemberTable } from './member-table.js';
import type { Membership } from './membership.js';
import type { MemberState, PushPullMsg, ServiceMsg } from './messages.js';
import { claimsLiveNameElsewhere } from './name-claims.js';
import type { ServiceGossip } from './service-gossip.js';

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
    const msg = this.message(r);
    return { bytes: encodePushPull(msg), moreAfter: msg.moreAfter };
  }

  /**
   * The same state, taken now, encoded only when `bytes` is first read (then kept). A request whose
   * bytes are never read — one a simulator knows cannot connect — costs no encoding. An encoding
   * error surfaces where the bytes are read.
   */
  encodeLater(r: StateRequest): EncodedState {
    const msg = this.message(r);
    let bytes: Uint8Array | null = null;
    return {
      moreAfter: msg.moreAfter,
      get bytes(): Uint8Array {
        bytes ??= encodePushPull(msg);
        return bytes;
      },
    };
  }

  private message(r: StateRequest): PushPullMsg {
    const page = r.withOwnState ? this.catalog.page(r.pageFrom) : { entries: [], moreAfter: undefined };
    const msg: PushPullMsg = {
      type: 'push-pull', join: r.join, source: this.name,
      members: r.withOwnState ? this.membership.fullState() : [], services: page.entries,
      ...(r.pageFrom === undefined ? {} : { pageFrom: r.pageFrom }),
      ...(page.moreAfter === undefined ? {} : { moreAfter: page.moreAfter }),
    };
    return msg;
  }
}
