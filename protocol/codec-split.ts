/**
 * Wire mapping of the split messages (types 16–18). Same rules as codec-fields.ts: fields in
 * declared order, every value checked, extra trailing elements ignored. A split that breaks the
 * split rules (percentages not summing to 100, a repeated label, a cleared split with weights) is
 * refused here, so the core only ever holds valid splits.
 */
import { at, badField, bool, intIn as int, list, text } from './codec-check.js';
import { CodecError } from './codec-scan.js';
import { LIMITS } from './limits.js';
import type { SplitConfirmMsg, SplitConfirmRequestMsg, SplitMsg } from './messages.js';

export const SPLIT_PERCENT_TOTAL = 100;

export function splitFields(m: SplitMsg): unknown[] {
  return [m.service, m.wallMs, m.counter, m.writer, m.cleared, m.weights.map(([v, p]) => [v, p])];
}

/** What is wrong with a split's weights, or undefined when they are a valid split. */
export function splitWeightsFault(cleared: boolean, weights: readonly (readonly [string, number])[]): string | undefined {
  if (cleared) return weights.length === 0 ? undefined : 'a cleared split names no versions';
  if (weights.length === 0) return 'names no version';
  if (weights.length > LIMITS.splitVersionsMax) return `names ${weights.length} versions; at most ${LIMITS.splitVersionsMax}`;
  const seen = new Set<string>();
  let total = 0;
  for (const [v, p] of weights) {
    if (seen.has(v)) return `names version ${JSON.stringify(v)} twice`;
    seen.add(v);
    total += p;
  }
  return total === SPLIT_PERCENT_TOTAL ? undefined : `percentages sum to ${total}, not ${SPLIT_PERCENT_TOTAL}`;
}

export function decodeSplitFields(f: readonly unknown[], x: string): SplitMsg {
  const service = text(at(f, 0), x, 'split.service', LIMITS.serviceIdBytesMax, 'string');
  const wallMs = int(at(f, 1), x, 'split.wallMs', LIMITS.hlcWallMsMax);
  const counter = int(at(f, 2), x, 'split.counter', LIMITS.hlcCounterMax);
  const writer = text(at(f, 3), x, 'split.writer', LIMITS.nameBytesMax, 'name');
  const cleared = bool(at(f, 4), x, 'split.cleared');
  const weights = list(at(f, 5), x, 'split.weights', LIMITS.splitVersionsMax).map((p, i): [string, number] => {
    if (!Array.isArray(p) || p.length !== 2) throw badField(x, `split.weights[${i}]`, 'a [version, percent] pair', p);
    const pair: readonly unknown[] = p;
    return [
      text(pair[0], x, `split.weights[${i}].version`, LIMITS.splitVersionBytesMax, 'string'),
      int(pair[1], x, `split.weights[${i}].percent`, SPLIT_PERCENT_TOTAL),
    ];
  });
  const fault = splitWeightsFault(cleared, weights);
  if (fault !== undefined) throw new CodecError('bad_field', `${x}split.weights: ${fault}`);
  return { type: 'split', service, wallMs, counter, writer, cleared, weights };
}

export function splitConfirmRequestFields(m: SplitConfirmRequestMsg): unknown[] {
  return [m.reqId, m.service, m.from, m.life];
}

export function decodeSplitConfirmRequestFields(f: readonly unknown[], x: string): SplitConfirmRequestMsg {
  return {
    type: 'split-confirm-request',
    reqId: int(at(f, 0), x, 'split-confirm-request.reqId', LIMITS.seqMax),
    service: text(at(f, 1), x, 'split-confirm-request.service', LIMITS.serviceIdBytesMax, 'string'),
    from: text(at(f, 2), x, 'split-confirm-request.from', LIMITS.nameBytesMax, 'name'),
    life: int(at(f, 3), x, 'split-confirm-request.life', LIMITS.seqMax),
  };
}

export function splitConfirmFields(m: SplitConfirmMsg): unknown[] {
  return [m.reqId, m.service, m.wallMs, m.counter, m.writer, m.from, m.life];
}

export function decodeSplitConfirmFields(f: readonly unknown[], x: string): SplitConfirmMsg {
  return {
    type: 'split-confirm',
    reqId: int(at(f, 0), x, 'split-confirm.reqId', LIMITS.seqMax),
    service: text(at(f, 1), x, 'split-confirm.service', LIMITS.serviceIdBytesMax, 'string'),
    wallMs: int(at(f, 2), x, 'split-confirm.wallMs', LIMITS.hlcWallMsMax),
    counter: int(at(f, 3), x, 'split-confirm.counter', LIMITS.hlcCounterMax),
    // Empty when the sender holds no split of the service.
    writer: text(at(f, 4), x, 'split-confirm.writer', LIMITS.nameBytesMax, 'name', true),
    from: text(at(f, 5), x, 'split-confirm.from', LIMITS.nameBytesMax, 'name'),
    life: int(at(f, 6), x, 'split-confirm.life', LIMITS.seqMax),
  };
}
