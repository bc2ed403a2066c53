/**
 * Tests of the simulator's inputs from outside the cluster, node identities apart from member names,
 * restarts that keep or lose state, and effect and error reporting. Small fake nodes, so that the
 * results depend on the simulator alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address } from '../protocol/address.js';
import type { CoreResult } from '../protocol/core.js';
import type { Effect, MemberView } from '../protocol/effects.js';
import type { SwimNodeOptions } from '../protocol/node.js';
import { Simulator } from '../protocol/sim/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Logs what it receives; answers every datagram; "boom" makes it throw; "svc" yields a service effect. */
class RecordingNode {
  readonly name: string;
  readonly log: string[] = [];
  constructor(readonly opts: SwimNodeOptions) {
    this.name = opts.name;
  }

  join(): Effect[] {
    return [];
  }

  handlePacket(now: number, from: Address, bytes: Uint8Array): Effect[] {
    const text = dec.decode(bytes);
    if (text === 'boom') throw new RangeError('refused to go on');
    this.log.push(`${now} ${from.host} ${text}`);
    if (text === 'svc') {
      const service = {
        node: this.name, id: 'a', name: 'app', address: '10.0.0.1', port: 1, tags: [], meta: {}, version: '',
        weight: 1, health: 'passing' as const, draining: false, rev: 1,
      };
      return [{ kind: 'service', event: { type: 'service', change: 'registered', service, previous: null } }];
    }
    return [{ kind: 'send', to: from, bytes: enc.encode(`re:${text}`) }];
  }

  handlePushPull(): CoreResult<Uint8Array | null> {
    return { value: null, effects: [] };
  }

  handlePushPullReply(): Effect[] {
    return [];
  }

  handlePushPullFailed(): Effect[] {
    return [];
  }

  leave(): Effect[] {
    return [];
  }

  tick(): Effect[] {
    return [];
  }

  nextDeadline(): number | null {
    return null;
  }

  members(): MemberView[] {
    return [];
  }
}

const outsider: Address = { host: '192.0.2.9', port: 4000 };

test('an injected datagram arrives from an outside address, across a partition; replies to it have no route', () => {
  const sim = new Simulator<RecordingNode>({ seed: 1, latencyMs: 5, factory: (o) => new RecordingNode(o) });
  const [a, b] = sim.addNodes(2) as [string, string];
  sim.partition([[a], [b]]);
  sim.injectDatagram(a, outsider, enc.encode('hello'), 20);
  sim.runFor(19);
  assert.deepEqual(sim.node(a).log, []);
  sim.runFor(1);
  assert.deepEqual(sim.node(a).log, ['20 192.0.2.9 hello']);
  assert.equal(sim.stats.injected, 1);
  assert.equal(sim.stats.drops.noRoute, 1, 'the answer to the outsider goes nowhere');
  assert.throws(() => sim.injectDatagram(a, sim.address(b), enc.encode('x')), /outside address/);
});

test('two nodes may share a member name: distinct ids and hosts, the name kept across a restart', () => {
  const sim = new Simulator<RecordingNode>({ seed: 2, factory: (o) => new RecordingNode(o) });
  const original = sim.addNode('web');
  const clone = sim.addNode('web-clone', { memberName: 'web' });
  assert.deepEqual(sim.names(), ['web', 'web-clone']);
  assert.equal(sim.node(clone).name, 'web');
  assert.equal(sim.memberName(clone), 'web');
  assert.equal(sim.memberName(original), 'web');
  assert.notEqual(sim.address(original).host, sim.address(clone).host);
  sim.restart(clone);
  assert.equal(sim.node(clone).name, 'web');
  assert.throws(() => sim.addNode('web'), /duplicate/);
  // Traffic is routed by address, so each of the two gets only its own.
  sim.injectDatagram(clone, outsider, enc.encode('to-clone'));
  sim.runFor(1);
  assert.deepEqual(sim.node(original).log, []);
  assert.deepEqual(sim.node(clone).log, ['0 192.0.2.9 to-clone']);
});

test('a restart hands on the persisted incarnation and catalog revision, or neither', () => {
  const sim = new Simulator<RecordingNode>({ seed: 3, factory: (o) => new RecordingNode(o) });
  const a = sim.addNode();
  sim.restart(a, { incarnation: 7, catalogRevision: 41 });
  assert.equal(sim.node(a).opts.incarnation, 7);
  assert.equal(sim.node(a).opts.catalogRevision, 41);
  sim.restart(a);
  assert.equal(sim.node(a).opts.incarnation, undefined);
  assert.equal(sim.node(a).opts.catalogRevision, undefined);
});

test('onEffect sees every effect with the node id, service events included', () => {
  const seen: string[] = [];
  const sim = new Simulator<RecordingNode>({
    seed: 4, factory: (o) => new RecordingNode(o), onEffect: (t, node, e) => seen.push(`${t} ${node} ${e.kind}`),
  });
  const clone = sim.addNode('c', { memberName: 'n0' });
  sim.injectDatagram(clone, outsider, enc.encode('svc'));
  sim.injectDatagram(clone, outsider, enc.encode('ping'), 3);
  sim.runFor(5);
  assert.deepEqual(seen, ['0 c service', '3 c send']);
  assert.equal(sim.stats.serviceEvents, 1);
});

test('a node that throws ends the run, unless onNodeError is set: then the input is lost and the node goes on', () => {
  const strict = new Simulator<RecordingNode>({ seed: 5, factory: (o) => new RecordingNode(o) });
  const s = strict.addNode();
  strict.injectDatagram(s, outsider, enc.encode('boom'));
  assert.throws(() => strict.runFor(1), /refused to go on/);

  const errors: string[] = [];
  const sim = new Simulator<RecordingNode>({
    seed: 5, factory: (o) => new RecordingNode(o),
    onNodeError: (t, node, input, err) => errors.push(`${t} ${node} ${input} ${err instanceof Error ? err.message : ''}`),
  });
  const a = sim.addNode();
  sim.injectDatagram(a, outsider, enc.encode('boom'), 1);
  sim.injectDatagram(a, outsider, enc.encode('after'), 2);
  sim.runFor(5);
  assert.deepEqual(errors, ['1 n0 packet refused to go on']);
  assert.equal(sim.stats.nodeErrors, 1);
  assert.deepEqual(sim.node(a).log, ['2 192.0.2.9 after']);
});
