import type { MemberStatus, ServiceMsg, SplitMsg, StateDigest } from './messages.js';

/*
 * A state digest summarises what two members must agree on for a periodic push-pull to have
 * nothing to repair. Two states with equal digests are taken to be equal; a collision (different
 * states, equal 64-bit digests) only delays a repair until an exchange whose digests differ, and
 * any change on either side changes the digest again, so it cannot hide a difference for long.
 */

export function sameDigest(x: StateDigest, y: StateDigest): boolean {
  return x.a === y.a && x.b === y.b;
}

/** The fields of a member record the digest covers: what a push-pull state says of it, age aside. */
export interface DigestMember {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
}

// Lane a: FNV-1a (32-bit). Lane b: the same walk from another basis with another odd multiplier, so
// that inputs colliding in one lane rarely collide in the other.
const A_BASIS = 0x811c9dc5;
const A_PRIME = 0x01000193;
const B_BASIS = 0x9e3779b9;
const B_PRIME = 0x5bd1e995;
// A tag starts each record, so that a member, an entry and a split with equal fields differ.
const MEMBER_TAG = 1;
const ENTRY_TAG = 2;
const SPLIT_TAG = 3;
const TWO_32 = 4294967296;

/** The murmur3 finaliser: spreads a record's hash over all bits before records are added together. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Accumulates a digest over records visited in any order: each record is hashed on its own (FNV-1a
 * over its fields' UTF-16 code units and 16-bit halves of numbers, lengths first so field
 * boundaries count) and the record hashes are added mod 2^32 per lane. Addition, unlike XOR, does
 * not cancel a record that is counted twice. Nothing is allocated per record.
 */
export class DigestBuilder {
  private sumA = 0;
  private sumB = 0;
  private a = 0;
  private b = 0;

  member(m: DigestMember): void {
    this.begin(MEMBER_TAG);
    this.text(m.name);
    this.text(m.host);
    this.int(m.port);
    this.int(m.incarnation);
    this.text(m.status);
    this.end();
  }

  /**
   * Every field of an entry, not only (owner, id, version, tombstone): two nodes can hold the same
   * version with different contents (an owner that lost its saved catalog counts up again), which
   * a full exchange resolves (catalog.ts supersedes) and a digest of versions alone would hide.
   */
  entry(m: ServiceMsg): void {
    this.begin(ENTRY_TAG);
    this.text(m.node);
    this.text(m.id);
    this.int(m.rev);
    this.int(m.deleted ? 1 : 0);
    this.text(m.name);
    this.text(m.address);
    this.int(m.port);
    this.int(m.tags.length);
    for (const t of m.tags) this.text(t);
    this.int(m.meta.length);
    for (const [k, v] of m.meta) {
      this.text(k);
      this.text(v);
    }
    this.text(m.version);
    this.int(m.weight);
    this.text(m.health);
    this.int(m.draining ? 1 : 0);
    this.end();
  }

  /** A split by its stamp: the write with the highest (wallMs, counter, writer) wins everywhere. */
  split(m: SplitMsg): void {
    this.begin(SPLIT_TAG);
    this.text(m.service);
    this.int(m.wallMs);
    this.int(m.counter);
    this.text(m.writer);
    this.int(m.cleared ? 1 : 0);
    this.end();
  }

  result(): StateDigest {
    return { a: this.sumA >>> 0, b: this.sumB >>> 0 };
  }

  private begin(tag: number): void {
    this.a = A_BASIS;
    this.b = B_BASIS;
    this.unit(tag);
  }

  private end(): void {
    this.sumA = (this.sumA + fmix(this.a)) >>> 0;
    this.sumB = (this.sumB + fmix(this.b)) >>> 0;
  }

  private unit(u: number): void {
    this.a = Math.imul(this.a ^ u, A_PRIME);
    this.b = Math.imul(this.b ^ u, B_PRIME);
  }

  private text(s: string): void {
    this.int(s.length);
    for (let i = 0; i < s.length; i++) this.unit(s.charCodeAt(i));
  }

  /** A non-negative integer below 2^53 (every integer field is), as four 16-bit units. */
  private int(x: number): void {
    const lo = x >>> 0;
    const hi = Math.floor(x / TWO_32) >>> 0;
    this.unit(lo & 0xffff);
    this.unit(lo >>> 16);
    this.unit(hi & 0xffff);
    this.unit(hi >>> 16);
  }
}
