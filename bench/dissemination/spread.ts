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
import { PROFILES } from '../../protocol/profiles.js';
import { Rng } from '../../protocol/rng.js';
import { EventQueue } from '../../protocol/sim/event-queue.js';
import { serviceQueueKey } from '../../protocol/service-gossip.js';
import type { BenchOptions } from '../options.js';
import { bar, type Progress } from '../progress.js';
import type { RunResult } from '../result.js';
import { summarize } from '../stats.js';
import { nearestOneWayMs, oneWayMs, regionLowerBoundMs } from '../regions/matrix.js';
import { lowerBoundFigures } from './lower-bound.js';
import { sampledContext } from './sampled-context.js';

/** kind 0: the update arrives at `node`; 1: its forward timer; 2: its gossip timer. */
interface Ev {
  time: number;
  seq: number;
  readonly kind: 0 | 1 | 2;
  readonly node: number;
}

/** Virtual time after which the run stops even if some node never got the update. */
const MAX_VIRTUAL_MS = 120_000;

export function runDissemination(o: BenchOptions, seed: number, progress: Progress): RunResult {
  const started = performance.now();
  const n = o.nodes;
  const profile = PROFILES[o.profile];
  const queue = new EventQueue<Ev>();
  const model = sampledContext(n, profile, seed, LIMITS.packetBytesDefault, (node, key, at) => {
    queue.schedule(at, { time: 0, seq: 0, kind: key === 'forward' ? 1 : 2, node });
  });
  const net = new Rng(seed ^ 0x5bd1e995);
  const nodes: (Dissemination | null)[] = new Array<Dissemination | null>(n).fill(null);
  const informedAt = new Float64Array(n).fill(Number.NaN);
  const owner = 0;
  const entry = entryFromSpec(String(owner), { id: 'bench-web', name: 'bench', address: '10.0.0.1', port: 9000 }, 1);
  const key = serviceQueueKey(entry.node, entry.id);
  const part = encodePart(entry);
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

  /** The node learns the update: the catalog stores it and hands it to dissemination with forward. */
  const receive = (node: number, now: number): void => {
    if (!Number.isNaN(informedAt[node] as number)) {
      duplicates++;
      return;
    }
    informedAt[node] = now;
    informed++;
    const d = new Dissemination(model.ctx);
    nodes[node] = d;
    active++;
    if (active > peakActive) peakActive = active;
    model.act(node, now);
    d.disseminate(key, part, true);
    carry(now, node);
  };

  const carry = (now: number, node: number): void => {
    for (const e of model.flush()) {
      if (e.kind !== 'send') continue;
      packets++;
      bytes += e.bytes.length;
      if (loss > 0 && net.next() < loss) {
        lost++;
        continue;
      }
      const target = Number(e.to.host);
      // A node that holds the update already will ignore this copy whenever it lands: count it
      // now instead of scheduling it (most copies are such; the queue stays small).
      if (!Number.isNaN(informedAt[target] as number)) {
        duplicates++;
        continue;
      }
      const latency = oneWay === null
        ? Math.max(0, o.latencyMs + (net.next() * 2 - 1) * o.jitterMs)
        : (oneWay[(node % regionCount) * regionCount + (target % regionCount)] as number) + net.next() * o.jitterMs;
      queue.schedule(now + latency, { time: 0, seq: 0, kind: 0, node: target });
    }
  };

  receive(owner, 0);
  let lastDraw = 0;
  let now = 0;
  while (informed < n) {
    const ev = queue.pop();
    if (ev === undefined || ev.time > MAX_VIRTUAL_MS) break;
    now = ev.time;
    if (ev.kind === 0) receive(ev.node, now);
    else fire(ev, now);
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
      latency_ms: o.latencyMs, jitter_ms: o.jitterMs, loss_pct: o.lossPct,
      dissemination: {
        ...summarize(lat, expected),
        ...(o.regions === null ? {} : { lower_bound_ms: regionLowerBoundMs(o.regions, owner % regionCount, profile.forwardBatchMs) }),
      },
      ...(o.regions === null ? {} : { regions: regionCount, regions_matrix: o.regions.source }),
      packets_sent: packets, bytes_sent: bytes, packets_lost: lost, duplicates_received: duplicates,
      peak_nodes_holding_state: peakActive,
      virtual_ms: Math.round(now * 100) / 100,
      ...lowerBoundFigures(n, profile, o.regions === null ? Math.max(0, o.latencyMs - o.jitterMs) : nearestOneWayMs(o.regions)),
      model_note: 'protocol/dissemination.ts per node (first-receipt forwarding and periodic gossip) with sampled ' +
        'membership; no probes (so no piggybacking), no push-pull, no failures; stops once every node holds the update',
      heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6),
      wall_ms: Math.round(performance.now() - started),
    },
    curves: { dissemination: { latencies: lat, expected } },
  };
}
