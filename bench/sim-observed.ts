/**
 * The simulator reports member events to its onEvent callback but carries service events no further,
 * so the benchmark builds its nodes from this subclass: the same SwimNode, with every input's
 * effects looked at on the way out for the service events the catalog scenarios time.
 */
import type { Address } from '../protocol/address.js';
import type { Effect, ServiceEvent } from '../protocol/effects.js';
import { SwimNode, type SwimNodeOptions } from '../protocol/node.js';

export type ServiceListener = (time: number, observer: string, event: ServiceEvent) => void;

export class ObservedNode extends SwimNode {
  constructor(opts: SwimNodeOptions, private readonly onService: ServiceListener) {
    super(opts);
  }

  override join(now: number, seeds: readonly Address[]): Effect[] {
    return this.observe(now, super.join(now, seeds));
  }

  override handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    return this.observe(now, super.handlePacket(now, from, bytes));
  }

  override handlePushPull(now: number, from: Address, bytes: Uint8Array): { reply: Uint8Array | null; effects: Effect[] } {
    const r = super.handlePushPull(now, from, bytes);
    this.observe(now, r.effects);
    return r;
  }

  override handlePushPullReply(now: number, from: Address, bytes: Uint8Array): Effect[] {
    return this.observe(now, super.handlePushPullReply(now, from, bytes));
  }

  override handlePushPullFailed(now: number, to: Address): Effect[] {
    return this.observe(now, super.handlePushPullFailed(now, to));
  }

  override tick(now: number): Effect[] {
    return this.observe(now, super.tick(now));
  }

  private observe(now: number, effects: Effect[]): Effect[] {
    for (const e of effects) if (e.kind === 'service') this.onService(now, this.name, e.event);
    return effects;
  }
}
