/**
 * Several runs into one set of figures: every number becomes the median over the runs, and its
 * spread (min and max) is kept under the same path. A null (e.g. join_all_ms when some node never
 * saw everyone) ranks above every number, so it becomes the median only if half the runs had it.
 */
import type { Json, JsonObject } from './result.js';

export interface Aggregate {
  readonly figures: JsonObject;
  /** "register.p99_ms" -> [min, max], for numbers that differed between runs. */
  readonly spread: Record<string, [number, number]>;
}

export function aggregate(runs: readonly JsonObject[]): Aggregate {
  const spread: Record<string, [number, number]> = {};
  const first = runs[0];
  if (first === undefined) return { figures: {}, spread };
  if (runs.length === 1) return { figures: first, spread };
  return { figures: mergeObjects(runs, '', spread), spread };
}

function mergeObjects(objs: readonly JsonObject[], path: string, spread: Record<string, [number, number]>): JsonObject {
  const out: JsonObject = {};
  const keys = new Set(objs.flatMap((o) => Object.keys(o)));
  for (const k of keys) {
    const values = objs.map((o) => o[k]).filter((v): v is Json => v !== undefined);
    out[k] = mergeValues(values, path === '' ? k : `${path}.${k}`, spread);
  }
  return out;
}

function mergeValues(values: readonly Json[], path: string, spread: Record<string, [number, number]>): Json {
  const nums = values.filter((v): v is number => typeof v === 'number');
  const nulls = values.filter((v) => v === null).length;
  if (nums.length > 0 && nums.length + nulls === values.length) {
    const sorted = [...nums].sort((a, b) => a - b);
    const min = sorted[0] as number;
    const max = sorted[sorted.length - 1] as number;
    if (min !== max || nulls > 0) spread[path] = [min, max];
    return median([...sorted, ...new Array<null>(nulls).fill(null)]);
  }
  const objects = values.filter((v): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v));
  if (objects.length === values.length && objects.length > 0) return mergeObjects(objects, path, spread);
  // Text, flags, arrays and all-null values: the first run's stands for all.
  return values[0] ?? null;
}

/** Median of numbers sorted ascending followed by nulls; the mean of the two middle ones when even. */
function median(sorted: readonly (number | null)[]): number | null {
  const n = sorted.length;
  const lo = sorted[Math.floor((n - 1) / 2)] ?? null;
  const hi = sorted[Math.ceil((n - 1) / 2)] ?? null;
  if (lo === null || hi === null) return null;
  return Math.round(((lo + hi) / 2) * 100) / 100;
}
