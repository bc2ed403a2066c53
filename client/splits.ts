/**
 * Client-side decoding of the split answers: GET /v1/splits, GET /v1/splits/SERVICE and the
 * answers of PUT and DELETE /v1/splits/SERVICE.
 */
import type { SplitDetailJson, SplitJson, SplitVersionJson } from './contract/json.js';
import { asArray, asObject, badResponse, bool, int, num, type Obj, str } from './decode.js';

/** The agent's answer to a split write: `id` is the service; `split` null once cleared. */
export interface SplitResult {
  readonly id: string;
  readonly split: SplitJson | null;
}

function weights(v: unknown, what: string): Record<string, number> {
  const o = asObject(v, what);
  const out: Record<string, number> = {};
  for (const [k, p] of Object.entries(o)) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) throw badResponse(`${what}.${k} is not a percentage`);
    out[k] = p;
  }
  return out;
}

export function decodeSplit(v: unknown, what: string): SplitJson {
  const o = asObject(v, what);
  const h = asObject(o['hlc'], `${what}.hlc`);
  return {
    service: str(o, 'service', what), weights: weights(o['weights'], `${what}.weights`), writer: str(o, 'writer', what),
    hlc: { wall_ms: int(h, 'wall_ms', `${what}.hlc`), counter: int(h, 'counter', `${what}.hlc`) },
  };
}

export function decodeSplits(v: unknown): SplitJson[] {
  return asArray(v, 'splits').map((s, i) => decodeSplit(s, `splits[${i}]`));
}

function nullableSplit(o: Obj, what: string): SplitJson | null {
  return o['split'] === null || o['split'] === undefined ? null : decodeSplit(o['split'], `${what}.split`);
}

export function decodeSplitResult(v: unknown, what: string): SplitResult {
  const o = asObject(v, what);
  return { id: str(o, 'id', what), split: nullableSplit(o, what) };
}

function decodeVersion(v: unknown, what: string): SplitVersionJson {
  const o = asObject(v, what);
  const percent = o['percent'] === null ? null : int(o, 'percent', what);
  return {
    version: str(o, 'version', what), percent, routable: int(o, 'routable', what), effective_weight: num(o, 'effective_weight', what),
    instances: asArray(o['instances'], `${what}.instances`).map((x, i) => {
      const w = `${what}.instances[${i}]`;
      const io = asObject(x, w);
      return { node: str(io, 'node', w), id: str(io, 'id', w), weight: num(io, 'weight', w), effective_weight: num(io, 'effective_weight', w), routable: bool(io, 'routable', w) };
    }),
  };
}

export function decodeSplitDetail(v: unknown): SplitDetailJson {
  const what = 'split';
  const o = asObject(v, what);
  return {
    service: str(o, 'service', what), split: nullableSplit(o, what),
    versions: asArray(o['versions'], `${what}.versions`).map((x, i) => decodeVersion(x, `${what}.versions[${i}]`)),
    unserved: asArray(o['unserved'], `${what}.unserved`).map((x, i) => {
      if (typeof x !== 'string') throw badResponse(`${what}.unserved[${i}] is not a string`);
      return x;
    }),
  };
}
