/**
 * Measured figures of each scenario: printed as test diagnostics (to be copied into the README's
 * "Failure behaviour" section) and, when SWIMD_NETNS_REPORT names a file, written there as JSON.
 * The file is rewritten after every scenario, so an interrupted run still leaves what it measured.
 */
import { writeFileSync } from 'node:fs';

export type Figure = number | string | boolean | null | readonly Figure[] | { readonly [k: string]: Figure };
export type Figures = Readonly<Record<string, Figure>>;

interface Diagnosable {
  diagnostic(message: string): void;
}

export interface ReportMeta {
  readonly [k: string]: Figure;
}

export class Report {
  private readonly scenarios: Record<string, Figures> = {};

  constructor(private readonly meta: ReportMeta, private readonly path: string | undefined = process.env['SWIMD_NETNS_REPORT']) {}

  /** Prints each figure as "scenario: key = value" and stores the scenario's figures. */
  record(t: Diagnosable, scenario: string, figures: Figures): void {
    for (const [k, v] of Object.entries(figures)) t.diagnostic(`${scenario}: ${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    this.scenarios[scenario] = figures;
    this.flush();
  }

  private flush(): void {
    if (this.path === undefined || this.path === '') return;
    const body = { generated_at: new Date().toISOString(), ...this.meta, scenarios: this.scenarios };
    writeFileSync(this.path, JSON.stringify(body, null, 2) + '\n');
  }
}

/** Milliseconds rounded for a report; undefined (never happened) stays visible as null. */
export function ms(v: number | undefined): number | null {
  return v === undefined || Number.isNaN(v) ? null : Math.round(v);
}

/** min / median / max of a set of times, in whole ms. */
export function spread(values: readonly (number | undefined)[]): { min: number | null; median: number | null; max: number | null; n: number } {
  const xs = values.filter((v): v is number => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (xs.length === 0) return { min: null, median: null, max: null, n: 0 };
  const mid = xs.length >> 1;
  const median = xs.length % 2 === 1 ? xs[mid] ?? NaN : ((xs[mid - 1] ?? NaN) + (xs[mid] ?? NaN)) / 2;
  return { min: Math.round(xs[0] ?? NaN), median: Math.round(median), max: Math.round(xs[xs.length - 1] ?? NaN), n: xs.length };
}
