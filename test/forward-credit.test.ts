/**
 * A fresh membership update goes out on first receipt to ceil(ln n) + extra members (the forward)
 * and then from the queue. The forward's sends count towards the queue's λ·ceil(log10(n + 1)),
 * with a third of it always left to the queue: each node sends the update max(that, fanout + a
 * third of it) times in all, not the two added together.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket, encodePacket } from '../protocol/codec.js';
import type { Effect } from '../protocol/effects.js';
import type { GossipMsg } from '../protocol/messages.js';
import { SwimNode } from '../protocol/node.js';
import { PROFILES } from '../protocol/profiles.js';

const PEER = { host: '10.0.1.1', port: 7946 };

/** How many datagrams among `effects` carry an alive about `name`. */
function carrying(effects: readonly Effect[], name: string): number {
  let n = 0;
  for (const e of effects) {
    if (e.kind !== 'send') continue;
    const r = decodePacket(e.bytes);
    if (!r.ok) continue;
    const parts: readonly GossipMsg[] = r.value.type === 'compound' ? r.value.parts : [r.value];
    if (parts.some((p) => p.type === 'alive' && p.name === name)) n++;
  }
  return n;
}

test('a fresh alive is sent max(λ·ceil(log10(n+1)), forward fanout + a third of that) times by the node that forwards it', () => {
  for (const members of [20, 60, 300]) {
    const profile = PROFILES.lan;
    const n = new SwimNode({ name: 'self', host: '10.0.0.1', port: 7946, profile, seed: 5, now: 0 });
    let now = 0;
    // Every member answers its pings at once, so all stay alive however long the run.
    const answer = (effects: readonly Effect[]): number => {
      for (const e of effects) {
        if (e.kind !== 'send') continue;
        const r = decodePacket(e.bytes);
        if (!r.ok) continue;
        const parts: readonly GossipMsg[] = r.value.type === 'compound' ? r.value.parts : [r.value];
        for (const p of parts) if (p.type === 'ping') n.handlePacket(now, e.to, encodePacket({ type: 'ack', seq: p.seq }));
      }
      return carrying(effects, 'x');
    };
    // Fires every timer due up to `until`, counting the datagrams that carry an alive about x.
    const run = (until: number): number => {
      let sent = 0;
      for (let next = n.nextDeadline(); next !== null && next <= until; next = n.nextDeadline()) {
        now = next;
        sent += answer(n.tick(next));
      }
      return sent;
    };
    for (let i = 0; i < members; i++) {
      n.handlePacket(now, PEER, encodePacket({ type: 'alive', name: `m${i}`, host: `10.0.2.${i % 250}`, port: 7000 + i, incarnation: 1 }));
    }
    // The members' own news dies down first.
    run(30_000);
    const live = members + 1;
    const limit = profile.retransmitMult * Math.ceil(Math.log10(live + 1 + 1));
    const fanout = Math.ceil(Math.log(live + 1)) + profile.forwardFanoutExtra;
    let sent = answer(n.handlePacket(now, PEER, encodePacket({ type: 'alive', name: 'x', host: '10.0.3.1', port: 7946, incarnation: 1 })));
    sent += run(now + 30_000);
    assert.deepEqual(n.members().filter((m) => m.status !== 'alive').map((m) => m.name), [], 'every member alive');
    const expected = Math.max(limit, fanout + Math.ceil(limit / 3));
    assert.equal(sent, expected, `${members} members: sent ${sent} times (queue limit ${limit}, forward fanout ${fanout})`);
  }
});
