/**
 * Dissemination-only mode: one catalog update spreading through a cluster of N nodes (a million and
 * more), each node running protocol/dissemination.ts — first-receipt forwarding to the protocol's
 * fanout, then periodic gossip until the protocol's retransmit limit — on virtual time, with the
 * membership sampled (sampled-context.ts) instead of stored.
 *
 * Left out, and said so in the output: probing (whose pings and acks would also piggyback the
 * update), push-pull, and failures. A node that already holds the update ignores another copy, as
 * the catalog does for a version it has.
 */
import { encodePart } from '../../protocol/codec.js';
import { entryFromSpec } from '../../protocol/catalog.js';
import { Dissemination } from '../../protocol/dissemination.js';
import { LIMITS } from '../../protocol/limits.js';
import { wantRetryMs } from '../../protocol/profiles.js';
import { Rng } from '../../protocol/rng.js';
import { EventQueue } from '../../protocol/sim/event-queue.js';
import { digestOf, serviceQueueKey } from '../../protocol/service-gossip.js';
import { decodePacket } from '../../protocol/codec.js';
import type { RelayArc } from '../../protocol/ring.js';
import { benchProfile, type BenchOptions } from '../options.js';
import { bar, type Progress } from '../progress.js';
import type { RunResult } from '../result.js';
import { summarize } from '../stats.js';
import { nearestOneWayMs, oneWayMs, regionLowerBoundMs } from '../regions/matrix.js';
import { lowerBoundFigures } from './lower-bound.js';
import { sampledContext } from './sampled-context.js';
import { MEASURED_PEERS, SampledProximity } from './sampled-proximity.js';

/**
 * kind 0: the update arrives at `node` (from `from`, over `arc` when it came down the tree);
 * 1: its forward timer; 2: its gossip timer; 3: a digest from `from` arrives at `node`; 4: `node`
 * asks `from` again for the entry.
 */
interface Ev {
  time: number;
  seq: number;
  readonly kind: 0 | 1 | 2 | 3 | 4;
  readonly node: number;
  readonly from: number;
  readonly arc: RelayArc | null;
}

/** A want datagram's size, bytes (header, compound of one part: type, node, id, rev). */
const WANT_BYTES = 40;

/** Virtual time after which the run stops even if some node never got the update. */
const MAX_VIRTUAL_MS = 120_000;

export function runDissemination(o: BenchOptions, seed: number, progress: Progress): RunResult {
  const started = performance.now();
  const n = o.nodes;
  const profile = benchProfile(o);
  const queue = new EventQueue<Ev>();
  const proximity = o.regions === null ? undefined
    : new SampledProximity(n, Float64Array.from(o.regions.rttMs.flat()), o.regions.regions.length);
  const model = sampledContext(n, profile, seed, LIMITS.packetBytesDefault, (node, key, at) => {
    queue.schedule(at, { time: 0, seq: 0, kind: key === 'forward' ? 1 : 2, node, from: node, arc: null });
  }, proximity);
  const net = new Rng(seed ^ 0x5bd1e995);
  const nodes: (Dissemination | null)[] = new Array<Dissemination | null>(n).fill(null);
  const informedAt = new Float64Array(n).fill(Number.NaN);
  const owner = 0;
  const entry = entryFromSpec(String(owner), { id: 'bench-web', name: 'bench', address: '10.0.0.1', port: 9000 }, 1);
  const key = serviceQueueKey(entry.node, entry.id);
  const part = encodePart(entry);
  const digest = digestOf(entry);
  /** When each node last asked for the entry (want), as the catalog limits its requests. */
  const askedAt = new Float64Array(n).fill(Number.NaN);
  let copies = 0;
  let digests = 0;
  let wants = 0;
  const loss = o.lossPct / 100;
  // With regions, node i lives in region i mod count, as in the full simulator.
  const regionCount = o.regions === null ? 0 : o.regions.regions.length;
  const oneWay = o.regions === null ? null : Float64Array.from(oneWayMs(o.regions).flat());
  let informed = 0;
  let packets = 0;
  let bytes = 0;
  let duplicates = 0;
  let lost = 0;
  let peakActive = 0;
  let active = 0;

  /**
   * The node learns the update: the catalog stores it and hands it to dissemination, down the
   * tree when it came with an arc (the owner: the whole ring).
   */
  const receive = (node: number, now: number, arc: RelayArc | null): void => {
    if (!Number.isNaN(informedAt[node] as number)) {
      duplicates++;
      // A copy it holds may still come with an arc to relay (service-gossip.ts onService).
      if (arc === null) return;
      const relay = nodes[node] ?? new Dissemination(model.ctx);
      model.act(node, now);
      relay.beginPacket(arc);
      relay.relayHeld(key, part);
      relay.endPacket();
      if (nodes[node] === null || nodes[node] === undefined) {
        nodes[node] = relay;
        active++;
      }
      carry(now, node);
      return;
    }
    informedAt[node] = now;
    informed++;
    const d = new Dissemination(model.ctx);
    nodes[node] = d;
    active++;
    if (active > peakActive) peakActive = active;
    model.act(node, now);
    d.beginPacket(arc);
    d.spreadCatalog(key, part, digest, node === owner ? 'origin' : 'received');
    d.endPacket();
    carry(now, node);
  };

  const latencyOf = (from: number, to: number): number => oneWay === null
    ? Math.max(0, o.latencyMs + (net.next() * 2 - 1) * o.jitterMs)
    : (oneWay[(from % regionCount) * regionCount + (to % regionCount)] as number) + net.next() * o.jitterMs;

  /** One datagram from `from` to `to`: true when it is delivered (loss drawn and counted here). */
  const delivered = (size: number): boolean => {
    packets++;
    bytes += size;
    if (loss > 0 && net.next() < loss) {
      lost++;
      return false;
    }
    return true;
  };

  const carry = (now: number, node: number): void => {
    for (const e of model.flush()) {
      if (e.kind !== 'send') continue;
      const decoded = decodePacket(e.bytes);
      if (!decoded.ok) throw new Error(`dissemination sent an undecodable packet: ${decoded.detail}`);
      const parts = decoded.value.type === 'compound' ? decoded.value.parts : [decoded.value];
      const head = parts[0];
      const arc: RelayArc | null = head !== undefined && head.type === 'relay' ? { lo: head.lo, hi: head.hi } : null;
      const isCopy = parts.some((p) => p.type === 'service');
      if (!delivered(e.bytes.length)) continue;
      const target = Number(e.to.host);
      if (isCopy) copies++;
      else digests++;
      // A node that holds the update already will ignore this copy or digest whenever it lands
      // (unless it is to relay an arc): count it now instead of scheduling it (most are such; the
      // queue stays small).
      if (!Number.isNaN(informedAt[target] as number) && !(isCopy && arc !== null)) {
        if (isCopy) duplicates++;
        continue;
      }
      queue.schedule(now + latencyOf(node, target), { time: 0, seq: 0, kind: isCopy ? 0 : 3, node: target, from: node, arc });
    }
  };

  /**
   * A digest reached a node that lacks the entry: it asks the sender (want), which answers with the
   * entry; an unanswered request is sent again after wantRetryMs, a few times (service-gossip.ts).
   */
  const tries = new Uint8Array(n);
  const onDigest = (node: number, from: number, now: number, retry: boolean): void => {
    const asked = askedAt[node] as number;
    if (!retry && !Number.isNaN(asked)) return;
    if (retry && tries[node] as number >= LIMITS.wantAttemptsMax) return;
    askedAt[node] = now;
    tries[node] = (tries[node] as number) + 1;
    wants++;
    const back = latencyOf(node, from);
    if (!delivered(WANT_BYTES) || !delivered(part.length + 3)) {
      queue.schedule(now + wantRetryMs(profile), { time: 0, seq: 0, kind: 4, node, from, arc: null });
      return;
    }
    copies++;
    queue.schedule(now + back + latencyOf(from, node), { time: 0, seq: 0, kind: 0, node, from, arc: null });
  };

  receive(owner, 0, null);
  let lastDraw = 0;
  let now = 0;
  while (informed < n) {
    const ev = queue.pop();
    if (ev === undefined || ev.time > MAX_VIRTUAL_MS) break;
    now = ev.time;
    if (ev.kind === 0) receive(ev.node, now, ev.arc);
    else if (ev.kind === 3 || ev.kind === 4) {
      if (Number.isNaN(informedAt[ev.node] as number)) onDigest(ev.node, ev.from, now, ev.kind === 4);
    } else fire(ev, now);
    if ((ev.seq & 0xffff) === 0 && performance.now() - lastDraw > 250) {
      lastDraw = performance.now();
      progress.update(`dissemination ${bar(informed, n)} ${informed}/${n} (virtual ${now.toFixed(1)} ms)`);
    }
  }

  function fire(ev: Ev, t: number): void {
    const k = ev.kind === 1 ? 'forward' : 'gossip';
    // A superseded deadline, or one the node cleared, is stale.
    if (model.deadlines.of(ev.node, k) !== ev.time) return;
    const d = nodes[ev.node];
    if (d === null || d === undefined) return;
    model.act(ev.node, t);
    model.deadlines.clear(k);
    if (ev.kind === 1) d.flushForward();
    else d.onGossipTick();
    carry(t, ev.node);
    // Nothing queued and no timer left: the node is done with this update; let its state go.
    if (!model.deadlines.has('forward') && !model.deadlines.has('gossip')) {
      nodes[ev.node] = null;
      active--;
    }
  }

  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = informedAt[i] as number;
    if (i !== owner && !Number.isNaN(t)) lat.push(t);
  }
  const expected = n - 1;
  return {
    figures: {
      nodes: n, transport: 'sim', mode: 'dissemination-only', profile: o.profile, seed,
      update_tree: o.updateTree,
      latency_ms: o.latencyMs, jitter_ms: o.jitterMs, loss_pct: o.lossPct,
      dissemination: {
        ...summarize(lat, expected),
        ...(o.regions === null ? {} : { lower_bound_ms: regionLowerBoundMs(o.regions, owner % regionCount, profile.forwardBatchMs) }),
      },
      ...(o.regions === null ? {} : { regions: regionCount, regions_matrix: o.regions.source }),
      packets_sent: packets, bytes_sent: bytes, packets_lost: lost, duplicates_received: duplicates,
      copies_received: copies, copies_per_node: Math.round((copies / Math.max(1, expected)) * 1000) / 1000,
      digests_received: digests, wants_sent: wants,
      peak_nodes_holding_state: peakActive,
      virtual_ms: Math.round(now * 100) / 100,
      ...lowerBoundFigures(n, profile, o.regions === null ? Math.max(0, o.latencyMs - o.jitterMs) : nearestOneWayMs(o.regions)),
      model_note: o.updateTree
        ? 'protocol/dissemination.ts per node (the update tree and periodic gossip of digests) with sampled membership; ' +
          (o.regions === null ? 'no measured round trips (relays drawn at random)'
            : `each node has measured the round trip to ${MEASURED_PEERS} members (sampled-proximity.ts)`) +
          '; a digest reaching a node that lacks the entry is answered as service-gossip.ts answers it (want, then the entry); ' +
          'no probes (so no piggybacking), no push-pull, no failures; stops once every node holds the update'
        : 'protocol/dissemination.ts per node (first-receipt forwarding and periodic gossip) with sampled membership; ' +
          'no probes (so no piggybacking), no push-pull, no failures; stops once every node holds the update',
      heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6),
      wall_ms: Math.round(performance.now() - started),
    },
    curves: { dissemination: { latencies: lat, expected } },
  };
}
