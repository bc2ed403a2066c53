/**
 * The simulator reports member events to its onEvent callback but carries service events no further,
 * so the benchmark builds its nodes from this subclass: the same SwimNode, with every input's
 * effects looked at on the way out for the service events the catalog scenarios time.
 *
 * It also reports push-pull requests and replies as they are made: the simulator's byte counter
 * includes requests to peers that are down, whose connection a real network would refuse before
 * a byte of them is sent, so the steady-state traffic figure counts from here instead.
 */
import { type Address, sameAddress } from '../protocol/address.js';
import type { CoreResult } from '../protocol/core.js';
import type { Effect, ServiceEvent } from '../protocol/effects.js';
import { SwimNode, type SwimNodeOptions } from '../protocol/node.js';

export interface NodeHooks {
  service(time: number, observer: string, event: ServiceEvent): void;
  /**
   * A push-pull request to `peer`, or this node's reply to one from `peer`; `bytes` gives its size.
   * Asking encodes a request that has not been (see SwimNodeOptions.lazyReconnectState): a hook
   * asks only about requests to peers that are up. A 'follow-up' is the full exchange a periodic
   * one starts at once when its digest was not answered "in sync": part of that exchange, not another.
   */
  pushPull(kind: 'request' | 'follow-up' | 'reply', peer: Address, bytes: () => number): void;
  /** Every datagram the node is handed (the catalog scenarios count copies of their entry). */
  packet?(observer: string, bytes: Uint8Array): void;
}

export class ObservedNode extends SwimNode {
  constructor(opts: SwimNodeOptions, private readonly hooks: NodeHooks) {
    super(opts);
  }

  override join(now: number, seeds: readonly Address[]): Effect[] {
    return this.observe(now, super.join(now, seeds));
  }

  override handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    this.hooks.packet?.(this.name, bytes);
    return this.observe(now, super.handlePacket(now, from, bytes));
  }

  override handlePushPull(now: number, from: Address, bytes: Uint8Array): CoreResult<Uint8Array | null> {
    const r = super.handlePushPull(now, from, bytes);
    this.observe(now, r.effects);
    const reply = r.value;
    if (reply !== null) this.hooks.pushPull('reply', from, () => reply.length);
    return r;
  }

  override handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] {
    // A reply leads to a periodic request to the same peer only as the follow-up of a digest.
    return this.observe(now, super.handlePushPullReply(now, from, bytes), from);
  }

  override handlePushPullFailed(now: number, to: Address): Effect[] {
    return this.observe(now, super.handlePushPullFailed(now, to));
  }

  override tick(now: number): Effect[] {
    return this.observe(now, super.tick(now));
  }

  private observe(now: number, effects: Effect[], repliedBy?: Address): Effect[] {
    for (const e of effects) {
      if (e.kind === 'service') this.hooks.service(now, this.name, e.event);
      else if (e.kind === 'push-pull') {
        const followUp = repliedBy !== undefined && !e.join && sameAddress(e.to, repliedBy);
        this.hooks.pushPull(followUp ? 'follow-up' : 'request', e.to, () => e.bytes.length);
      }
    }
    return effects;
  }
}
