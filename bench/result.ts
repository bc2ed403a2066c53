/**
 * What one benchmark run produces, in every mode: the figures that go into the JSON (plain JSON
 * values, so runs can be aggregated field by field) and the per-node latencies behind the chart.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Scenarios, in the order they run. `join` always runs: every other scenario needs a cluster. */
export const SCENARIOS = ['join', 'new_member', 'register', 'deregister', 'dead', 'dead_during_burst', 'false_dead', 'region_cut'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What runs when no --scenario is given (new_member, dead_during_burst and region_cut are extra, on request). */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = ['join', 'register', 'deregister', 'dead', 'false_dead'];

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(s);
}

/** Per-node times (ms after the change) at which each node's view held it. */
export interface Curve {
  readonly latencies: number[];
  /** Nodes that should hold it; fewer latencies than this means some never did within the wait. */
  readonly expected: number;
}

export type CurveName = 'join' | 'new_member' | 'register' | 'deregister' | 'dead' | 'dead_during_burst' | 'dissemination';

export interface RunResult {
  readonly figures: JsonObject;
  readonly curves: Partial<Record<CurveName, Curve>>;
}

