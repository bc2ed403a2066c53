/**
 * The agent's side of traffic splits: writes through the core (stamped with the wall clock, saved
 * before they are answered), waits for every member to hold a write, the saved state kept current
 * as splits arrive, and the split metrics.
 */
import type { BarrierEvent, SplitView } from '../../protocol/effects.js';
import type { SwimNode } from '../../protocol/node.js';
import type { Driver } from '../driver.js';
import type { AgentEvents } from '../events.js';
import { Exposition } from '../metrics.js';
import type { Logger } from '../log.js';
import { SplitsFile } from '../store/splits-file.js';
import { BarrierWaits } from './barrier-waits.js';

type SplitNode = Pick<SwimNode, 'writeSplit' | 'startSplitBarrier' | 'startBarrier' | 'splits' | 'splitState' | 'services'>;

/** What the split routes need of the agent. */
export interface SplitsApi {
  list(): readonly SplitView[];
  /** True when some member has an instance of `service` registered. */
  knows(service: string): boolean;
  /** Sets (weights) or clears (null) `service`'s split; resolves once saved. Throws SplitError. */
  write(service: string, weights: Readonly<Record<string, unknown>> | null): Promise<SplitView | null>;
  /** Resolves with the verdict of a wait for `service`'s current split write. Throws CatalogError. */
  waitFor(service: string, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent>;
}

export class LocalSplits implements SplitsApi {
  private readonly file: SplitsFile;
  private readonly waits: BarrierWaits;
  private unsubscribe: (() => void) | null = null;
  private writes = 0;
  private changes = 0;
  private barriersDone = 0;
  private barriersTimedOut = 0;

  constructor(
    private readonly node: SplitNode,
    private readonly driver: Driver,
    dataDir: string,
    log: Logger,
    /** Wall-clock ms for the hybrid clock (replaced in tests). */
    private readonly wallClock: () => number = Date.now,
  ) {
    this.file = new SplitsFile(dataDir, () => node.splitState(), log);
    this.waits = new BarrierWaits(driver, node, {
      barrier: (done) => {
        if (done) this.barriersDone++;
        else this.barriersTimedOut++;
      },
    });
  }

  /** Saves the state again after every split change this agent learns of. */
  watch(events: AgentEvents): void {
    this.unsubscribe = events.subscribe((e) => {
      if (e.type !== 'split') return;
      this.changes++;
      void this.file.save();
    });
  }

  list(): readonly SplitView[] {
    return this.node.splits();
  }

  knows(service: string): boolean {
    return this.node.services().some((v) => v.name === service);
  }

  async write(service: string, weights: Readonly<Record<string, unknown>> | null): Promise<SplitView | null> {
    this.driver.invoke('split', (now) => this.node.writeSplit(now, this.wallClock(), service, weights));
    this.writes++;
    await this.file.save();
    return this.node.splits().find((s) => s.service === service) ?? null;
  }

  waitFor(service: string, timeoutMs: number, signal: AbortSignal): Promise<BarrierEvent> {
    return this.waits.waitOn((now) => this.node.startSplitBarrier(now, service, timeoutMs), timeoutMs, signal);
  }

  async stop(): Promise<void> {
    this.waits.stop();
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.file.save();
  }

  metricsText(): string {
    const out = new Exposition();
    out.family('swimd_splits', 'gauge', 'Services with a traffic split, as this agent holds them.');
    out.sample('swimd_splits', {}, this.node.splits().length);
    out.family('swimd_split_writes_total', 'counter', 'Split writes (set or clear) made through this agent.');
    out.sample('swimd_split_writes_total', {}, this.writes);
    out.family('swimd_split_changes_total', 'counter', 'Changes of a split this agent holds, from any writer.');
    out.sample('swimd_split_changes_total', {}, this.changes);
    out.family('swimd_split_waits_total', 'counter', 'Split propagation waits (?wait) by outcome.');
    out.sample('swimd_split_waits_total', { result: 'done' }, this.barriersDone);
    out.sample('swimd_split_waits_total', { result: 'timeout' }, this.barriersTimedOut);
    return out.text();
  }
}
