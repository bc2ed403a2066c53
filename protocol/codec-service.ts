/**
 * Wire mapping of the catalog messages: service entries and the barrier's confirm request/answer.
 * Same rules as codec-fields.ts: fields in declared order, every value checked, extra trailing
 * elements ignored.
 */
import { at, badField, bool, intIn as int, list, text } from './codec-check.js';
import { LIMITS } from './limits.js';
import {
  HEALTH_BY_CODE, HealthCode, type CatalogCursor, type ConfirmMsg, type ConfirmRequestMsg, type Health, type ServiceMsg,
} from './messages.js';

function str(v: unknown, prefix: string, field: string, maxBytes: number, allowEmpty: boolean): string {
  return text(v, prefix, field, maxBytes, 'string', allowEmpty);
}

export function serviceFields(m: ServiceMsg): unknown[] {
  return [
    m.node, m.id, m.rev, m.deleted, m.name, m.address, m.port, [...m.tags],
    m.meta.map(([k, v]) => [k, v]), m.version, m.weight, HealthCode[m.health], m.draining,
  ];
}

export function decodeServiceFields(f: readonly unknown[], x: string): ServiceMsg {
  const node = str(at(f, 0), x, 'service.node', LIMITS.nameBytesMax, false);
  const id = str(at(f, 1), x, 'service.id', LIMITS.serviceIdBytesMax, false);
  const rev = int(at(f, 2), x, 'service.rev', LIMITS.incarnationMax);
  const deleted = bool(at(f, 3), x, 'service.deleted');
  // A tombstone carries empty fields; a live entry must name itself and where it is.
  const name = str(at(f, 4), x, 'service.name', LIMITS.serviceIdBytesMax, deleted);
  const address = str(at(f, 5), x, 'service.address', LIMITS.addressBytesMax, deleted);
  const port = int(at(f, 6), x, 'service.port', 65_535);
  const tags = list(at(f, 7), x, 'service.tags', LIMITS.serviceTagsMax).map((t, i) =>
    str(t, x, `service.tags[${i}]`, LIMITS.serviceTagBytesMax, false));
  const meta = list(at(f, 8), x, 'service.meta', LIMITS.serviceMetaMax).map((p, i): [string, string] => {
    if (!Array.isArray(p) || p.length !== 2) throw badField(x, `service.meta[${i}]`, 'a [key, value] pair', p);
    const pair: readonly unknown[] = p;
    return [
      str(pair[0], x, `service.meta[${i}].key`, LIMITS.serviceMetaKeyBytesMax, false),
      str(pair[1], x, `service.meta[${i}].value`, LIMITS.serviceMetaValueBytesMax, true),
    ];
  });
  const version = str(at(f, 9), x, 'service.version', LIMITS.serviceVersionBytesMax, true);
  const weight = int(at(f, 10), x, 'service.weight', LIMITS.serviceWeightMax);
  const health = HEALTH_BY_CODE[int(at(f, 11), x, 'service.health', HEALTH_BY_CODE.length - 1)] as Health;
  const draining = bool(at(f, 12), x, 'service.draining');
  return { type: 'service', node, id, rev, deleted, name, address, port, tags, meta, version, weight, health, draining };
}

export function confirmFields(m: ConfirmRequestMsg | ConfirmMsg): unknown[] {
  const f: unknown[] = [m.reqId, m.owner, m.id, m.rev, m.from];
  if (m.life !== undefined) f.push(m.life);
  return f;
}

interface ConfirmBody {
  reqId: number;
  owner: string;
  id: string;
  rev: number;
  from: string;
  life?: number;
}

function confirmBody(type: string, f: readonly unknown[], x: string): ConfirmBody {
  const body: ConfirmBody = {
    reqId: int(at(f, 0), x, `${type}.reqId`, LIMITS.seqMax),
    owner: str(at(f, 1), x, `${type}.owner`, LIMITS.nameBytesMax, false),
    id: str(at(f, 2), x, `${type}.id`, LIMITS.serviceIdBytesMax, false),
    rev: int(at(f, 3), x, `${type}.rev`, LIMITS.incarnationMax),
    from: str(at(f, 4), x, `${type}.from`, LIMITS.nameBytesMax, false),
  };
  // Appended field: an older agent sends none.
  if (f.length > 5) body.life = int(at(f, 5), x, `${type}.life`, LIMITS.seqMax);
  return body;
}

export function decodeConfirmFields(f: readonly unknown[], x: string): ConfirmMsg {
  return { type: 'confirm', ...confirmBody('confirm', f, x) };
}

export function decodeConfirmRequestFields(f: readonly unknown[], x: string): ConfirmRequestMsg {
  return { type: 'confirm-request', ...confirmBody('confirm-request', f, x) };
}

/** A catalog cursor as `[node, id]`; absent as nil (or by leaving the field out). */
export function cursorFields(c: CatalogCursor | undefined): unknown {
  return c === undefined ? null : [c.node, c.id];
}

export function decodeCursor(v: unknown, x: string, field: string): CatalogCursor | undefined {
  if (v === null || v === undefined) return undefined;
  const f = list(v, x, field, 2);
  return {
    node: str(at(f, 0), x, `${field}.node`, LIMITS.nameBytesMax, false),
    id: str(at(f, 1), x, `${field}.id`, LIMITS.serviceIdBytesMax, false),
  };
}
