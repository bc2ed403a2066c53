/**
 * Stepping one core node by hand: build it with a fixed seed, hand it datagrams from addresses
 * the test chooses and timer firings at the times it asks for, and read back what it did.
 */
import assert from 'node:assert/strict';
import type { Address } from '../../protocol/address.js';
import { decodePacket, encodeCompound, encodePacket, encodePart } from '../../protocol/codec.js';
import type { BarrierEvent, Effect, MemberEvent, ServiceEvent } from '../../protocol/effects.js';
import type { GossipMsg, MemberState } from '../../protocol/messages.js';
import { SwimNode } from '../../protocol/node.js';
import { type Profile, PROFILES } from '../../protocol/profiles.js';

/** Where the node under test lives. */
export const SELF: Address = { host: '10.0.0.1', port: 7946 };

export interface NodeSetup {
  readonly seed: number;
  readonly name?: string;
  readonly profile?: Profile;
  readonly now?: number;
  readonly incarnation?: number;
}

export function makeNode(setup: NodeSetup): SwimNode {
  return new SwimNode({
    name: setup.name ?? 'self', host: SELF.host, port: SELF.port, profile: setup.profile ?? PROFILES.lan,
    seed: setup.seed, now: setup.now ?? 0, ...(setup.incarnation === undefined ? {} : { incarnation: setup.incarnation }),
  });
}

/** A distinct address for the i-th peer (i ≥ 1). */
export function peerAddress(i: number): Address {
  return { host: `10.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, port: 7946 };
}

/** `count` peers named p1…pN, alive at incarnation 0, each at peerAddress(i). */
export function peers(count: number): MemberState[] {
  return Array.from({ length: count }, (_, k) => {
    const a = peerAddress(k + 1);
    return { name: `p${k + 1}`, host: a.host, port: a.port, incarnation: 0, status: 'alive' as const };
  });
}

export function addressOf(m: { readonly host: string; readonly port: number }): Address {
  return { host: m.host, port: m.port };
}

/** One datagram holding `msgs` (a single message alone, several in a compound). */
export function datagram(...msgs: GossipMsg[]): Uint8Array {
  if (msgs.length === 1) return encodePacket(msgs[0] as GossipMsg);
  return encodeCompound(msgs.map(encodePart));
}

/** Hands the node one datagram from `from`. */
export function deliver(node: SwimNode, now: number, from: Address, ...msgs: GossipMsg[]): Effect[] {
  return node.handlePacket(now, from, datagram(...msgs));
}

export interface Sent {
  readonly to: Address;
  readonly parts: readonly GossipMsg[];
}

/** Every datagram among `effects`, decoded; every one must decode. */
export function sent(effects: readonly Effect[]): Sent[] {
  const out: Sent[] = [];
  for (const e of effects) {
    if (e.kind !== 'send') continue;
    const d = decodePacket(e.bytes);
    assert.ok(d.ok, `the node sent a datagram that does not decode: ${d.ok ? '' : d.detail}`);
    out.push({ to: e.to, parts: d.value.type === 'compound' ? d.value.parts : [d.value] });
  }
  return out;
}

/** Every gossip part sent, in order. */
export function sentParts(effects: readonly Effect[]): GossipMsg[] {
  return sent(effects).flatMap((s) => s.parts);
}

/** Parts of a given type sent, with where each went. */
export function sentOfType<T extends GossipMsg['type']>(effects: readonly Effect[], type: T): { to: Address; msg: Extract<GossipMsg, { type: T }> }[] {
  const out: { to: Address; msg: Extract<GossipMsg, { type: T }> }[] = [];
  for (const s of sent(effects)) {
    for (const p of s.parts) if (p.type === type) out.push({ to: s.to, msg: p as Extract<GossipMsg, { type: T }> });
  }
  return out;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

export function memberEvents(effects: readonly Effect[]): MemberEvent[] {
  return effects.flatMap((e) => (e.kind === 'event' ? [e.event] : []));
}

export function serviceEvents(effects: readonly Effect[]): ServiceEvent[] {
  return effects.flatMap((e) => (e.kind === 'service' ? [e.event] : []));
}

export function barrierEvents(effects: readonly Effect[]): BarrierEvent[] {
  return effects.flatMap((e) => (e.kind === 'barrier' ? [e.event] : []));
}

export function rejections(effects: readonly Effect[]): { reason: string; detail: string }[] {
  return effects.flatMap((e) => (e.kind === 'rejected' ? [{ reason: e.reason, detail: e.detail }] : []));
}

/** What the node did at one moment: a timer firing and the answers the test fed back at once. */
export interface Step {
  readonly at: number;
  readonly effects: Effect[];
}

/**
 * Fires the node's timers in order up to `until`, each exactly at its deadline. After each firing
 * `respond` may feed the node more input at the same moment; its effects join that step's.
 */
export function runUntil(node: SwimNode, until: number, respond?: (at: number, effects: readonly Effect[]) => Effect[]): Step[] {
  const steps: Step[] = [];
  for (let next = node.nextDeadline(); next !== null && next <= until; next = node.nextDeadline()) {
    const effects = node.tick(next);
    if (respond !== undefined) {
      // Answers can cause sends that need answers in turn (a relayed ack, say): follow them through.
      for (let fresh: readonly Effect[] = effects, depth = 0; fresh.length > 0 && depth < 4; depth++) {
        fresh = respond(next, fresh);
        effects.push(...fresh);
      }
    }
    steps.push({ at: next, effects });
  }
  return steps;
}

/**
 * Answers the node's pings the way live members would: an ack from the address pinged, for every
 * ping whose target `answers` accepts. Returns the effects of those acks.
 */
export function ackPings(node: SwimNode, at: number, effects: readonly Effect[], answers: (target: string) => boolean = () => true): Effect[] {
  const out: Effect[] = [];
  for (const { to, msg } of sentOfType(effects, 'ping')) {
    if (answers(msg.target)) out.push(...deliver(node, at, to, { type: 'ack', seq: msg.seq }));
  }
  return out;
}

/** Effects of all steps, flattened. */
export function allEffects(steps: readonly Step[]): Effect[] {
  return steps.flatMap((s) => s.effects);
}
