import type { MemberRecord } from './member-table.js';
import { type MemberStatus, STATUS_BY_CODE, StatusCode } from './messages.js';

/** Set in a status byte when the record was removed but its slot is still held (see MemberTable). */
export const REMOVED = 0x80;
const STATUS_MASK = 0x7f;

/**
 * A typed array would store an out-of-range value wrapped, silently: a port or incarnation that
 * reaches the table unchecked is a bug, and stops here.
 */
function checkedPort(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`member table: port ${v} outside [0, 65535]`);
  return v;
}

function checkedIncarnation(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new Error(`member table: incarnation ${v} outside [0, 2^32)`);
  return v;
}

/**
 * Member records stored as columns, one typed array per numeric field, indexed by slot. A simulator
 * with thousands of nodes holds a record of every member in every node: an object per record, with
 * its boxed time, costs about four times the bytes of a row here.
 */
export class MemberColumns {
  /** Filled up to `length`; the rest is room. */
  names: string[];
  hosts: string[];
  ports: Uint16Array;
  /** 32-bit serial numbers (serial.ts): every value a record may hold fits, checked on each write. */
  incarnations: Uint32Array;
  changedAt: Float64Array;
  /** StatusCode of each record, with REMOVED or'ed in. */
  statuses: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    const c = Math.max(4, capacity);
    this.names = new Array<string>(c);
    this.hosts = new Array<string>(c);
    this.ports = new Uint16Array(c);
    this.incarnations = new Uint32Array(c);
    this.changedAt = new Float64Array(c);
    this.statuses = new Uint8Array(c);
  }

  /** Appends a row; returns its slot. */
  push(r: MemberRecord): number {
    const slot = this.length;
    if (slot === this.ports.length) this.grow(slot * 2);
    this.names[slot] = r.name;
    this.hosts[slot] = r.host;
    this.ports[slot] = checkedPort(r.port);
    this.incarnations[slot] = checkedIncarnation(r.incarnation);
    this.changedAt[slot] = r.changedAt;
    this.statuses[slot] = StatusCode[r.status];
    this.length++;
    return slot;
  }

  /** Appends a copy of row `slot` of `from`, its REMOVED mark included; returns the new slot. */
  copyRow(from: MemberColumns, slot: number): number {
    const to = this.length;
    if (to === this.ports.length) this.grow(to * 2);
    this.names[to] = from.names[slot] as string;
    this.hosts[to] = from.hosts[slot] as string;
    this.ports[to] = from.ports[slot] as number;
    this.incarnations[to] = from.incarnations[slot] as number;
    this.changedAt[to] = from.changedAt[slot] as number;
    this.statuses[to] = from.statuses[slot] as number;
    this.length++;
    return to;
  }

  isRemoved(slot: number): boolean {
    return ((this.statuses[slot] as number) & REMOVED) !== 0;
  }

  status(slot: number): MemberStatus {
    return STATUS_BY_CODE[(this.statuses[slot] as number) & STATUS_MASK] as MemberStatus;
  }

  setStatus(slot: number, status: MemberStatus): void {
    this.statuses[slot] = ((this.statuses[slot] as number) & REMOVED) | StatusCode[status];
  }

  /** Makes room for `n` rows. */
  reserve(n: number): void {
    if (n > this.ports.length) this.grow(n);
  }

  private grow(capacity: number): void {
    this.names.length = Math.max(this.names.length, capacity);
    this.hosts.length = Math.max(this.hosts.length, capacity);
    const ports = new Uint16Array(capacity);
    ports.set(this.ports);
    this.ports = ports;
    const incarnations = new Uint32Array(capacity);
    incarnations.set(this.incarnations);
    this.incarnations = incarnations;
    const changedAt = new Float64Array(capacity);
    changedAt.set(this.changedAt);
    this.changedAt = changedAt;
    const statuses = new Uint8Array(capacity);
    statuses.set(this.statuses);
    this.statuses = statuses;
  }
}

/**
 * A member record read and written in place in its row. It behaves as the record object it stands
 * for did: after its member is removed it still reads the last values, and writes to it no longer
 * reach the table (a prune moves the table to new columns; a view keeps the ones it was made on).
 */
export class MemberRecordView implements MemberRecord {
  constructor(
    /** @internal */ public cols: MemberColumns,
    /** @internal */ public slot: number,
  ) {}

  get name(): string {
    return this.cols.names[this.slot] as string;
  }

  get host(): string {
    return this.cols.hosts[this.slot] as string;
  }

  set host(v: string) {
    this.cols.hosts[this.slot] = v;
  }

  get port(): number {
    return this.cols.ports[this.slot] as number;
  }

  set port(v: number) {
    this.cols.ports[this.slot] = checkedPort(v);
  }

  get incarnation(): number {
    return this.cols.incarnations[this.slot] as number;
  }

  set incarnation(v: number) {
    this.cols.incarnations[this.slot] = checkedIncarnation(v);
  }

  get status(): MemberStatus {
    return this.cols.status(this.slot);
  }

  set status(v: MemberStatus) {
    this.cols.setStatus(this.slot, v);
  }

  get changedAt(): number {
    return this.cols.changedAt[this.slot] as number;
  }

  set changedAt(v: number) {
    this.cols.changedAt[this.slot] = v;
  }
}
