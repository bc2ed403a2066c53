import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { InboundSlots, type SlotLimits } from '../daemon/net/inbound-slots.js';

/** Just what admission touches of a socket: its identity, `destroyed`, `destroy` and its events. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly label: string) {
    super();
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }
}

const LIMITS: SlotLimits = { streamsInboundMax: 2, streamsInboundWaitingMax: 3, streamsInboundPerAddressMax: 2, streamWaitMs: 60_000 };

function harness(limits: SlotLimits = LIMITS) {
  const served: string[] = [];
  const expired: string[] = [];
  const slots = new InboundSlots(
    (s) => { served.push((s as unknown as FakeSocket).label); },
    (s) => { expired.push((s as unknown as FakeSocket).label); s.destroy(); },
    limits,
  );
  const sock = (label: string): Socket => new FakeSocket(label) as unknown as Socket;
  return { slots, served, expired, sock };
}

test('beyond the served cap connections wait and are served in arrival order as slots free', () => {
  const { slots, served, sock } = harness();
  const a = sock('a'), b = sock('b'), c = sock('c'), d = sock('d');
  assert.equal(slots.admit(a, 'h1'), 'serve');
  assert.equal(slots.admit(b, 'h2'), 'serve');
  assert.equal(slots.admit(c, 'h3'), 'wait');
  assert.equal(slots.admit(d, 'h4'), 'wait');
  assert.deepEqual(served, ['a', 'b']);
  slots.done(b, 'h2');
  assert.deepEqual(served, ['a', 'b', 'c'], 'the longest-waiting connection takes the freed slot');
  slots.done(a, 'h1');
  assert.deepEqual(served, ['a', 'b', 'c', 'd']);
  assert.equal(slots.queued, 0);
  assert.equal(slots.served, 2);
});

test('a newcomer does not overtake connections already waiting', () => {
  const { slots, served, sock } = harness();
  const a = sock('a'), b = sock('b'), c = sock('c');
  slots.admit(a, 'h1');
  slots.admit(b, 'h2');
  slots.admit(c, 'h3');
  slots.done(a, 'h1');
  assert.deepEqual(served, ['a', 'b', 'c']);
  // One slot is taken by c now; with nobody waiting a newcomer is served at once again.
  slots.done(b, 'h2');
  assert.equal(slots.admit(sock('e'), 'h5'), 'serve');
});

test('the waiting room is bounded, and so is one address, served and waiting together', () => {
  const { slots, sock } = harness();
  assert.equal(slots.admit(sock('a'), 'h1'), 'serve');
  assert.equal(slots.admit(sock('b'), 'h1'), 'serve');
  assert.equal(slots.admit(sock('c'), 'h1'), 'refuse', 'h1 holds its two places');
  assert.equal(slots.admit(sock('d'), 'h2'), 'wait');
  assert.equal(slots.admit(sock('e'), 'h2'), 'wait');
  assert.equal(slots.admit(sock('f'), 'h2'), 'refuse', 'h2 holds its two places, both waiting');
  assert.equal(slots.admit(sock('g'), 'h3'), 'wait');
  assert.equal(slots.admit(sock('h'), 'h4'), 'refuse', 'the waiting room holds three');
});

test('a waiting connection that closes gives its place back; one that is closed when its turn comes is skipped', () => {
  const { slots, served, sock } = harness();
  const a = sock('a'), b = sock('b'), c = sock('c'), d = sock('d');
  slots.admit(a, 'h1');
  slots.admit(b, 'h2');
  slots.admit(c, 'h3');
  slots.admit(d, 'h3');
  c.destroy();
  assert.equal(slots.queued, 1);
  assert.equal(slots.admit(sock('e'), 'h3'), 'wait', 'h3 has a place again');
  slots.done(a, 'h1');
  assert.deepEqual(served, ['a', 'b', 'd']);
});

test('a connection that waits longer than streamWaitMs is handed back to be closed, and its place freed', async () => {
  const { slots, served, expired, sock } = harness({ ...LIMITS, streamWaitMs: 30 });
  const a = sock('a'), b = sock('b'), c = sock('c');
  slots.admit(a, 'h1');
  slots.admit(b, 'h2');
  slots.admit(c, 'h3');
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(expired, ['c']);
  assert.equal(slots.queued, 0);
  slots.done(a, 'h1');
  assert.deepEqual(served, ['a', 'b'], 'the expired connection is not served later');
  assert.equal(slots.admit(sock('d'), 'h3'), 'serve');
});

test('closeAll closes served and waiting connections alike', () => {
  const { slots, sock } = harness();
  const all = ['a', 'b', 'c'].map((l, i) => {
    const s = sock(l);
    slots.admit(s, `h${i}`);
    return s;
  });
  slots.closeAll();
  assert.ok(all.every((s) => s.destroyed));
  assert.equal(slots.queued, 0);
});
