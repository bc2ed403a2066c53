/**
 * Incarnations and catalog versions are 32-bit counters compared with serial-number arithmetic
 * (RFC 1982): b is newer than a when (b - a) mod 2^32 lies in [1, 2^31). So the successor of any
 * value, 0xffffffff included, is newer than it and still encodes: an owner can always answer a
 * claim about itself with a value that everyone takes as newer. RFC 1982 leaves a distance of
 * exactly 2^31 undefined; here the numerically larger value wins, so that for two distinct values
 * exactly one is newer and any two nodes agree which.
 */

const MOD = 2 ** 32;
const HALF = 2 ** 31;

/** (to - from) mod 2^32. */
export function serialDistance(from: number, to: number): number {
  return (((to - from) % MOD) + MOD) % MOD;
}

/** True when `candidate` is newer than `held`. */
export function isNewer(candidate: number, held: number): boolean {
  // Both are 32-bit counters, so the plain difference lies in (-2^32, 2^32): no modulo needed on
  // this path, which every gossiped alive, suspect and entry takes.
  const d = candidate - held;
  return d > 0 ? d <= HALF : d < -HALF;
}

/** True when `candidate` is the same as or newer than `held`. */
export function isSameOrNewer(candidate: number, held: number): boolean {
  return candidate === held || isNewer(candidate, held);
}

/** The newer of two values. */
export function newest(a: number, b: number): number {
  return isNewer(b, a) ? b : a;
}

/** The value after `a`: always newer than `a`, always a valid 32-bit counter. */
export function serialNext(a: number): number {
  return (a + 1) % MOD;
}

/** The value before `a`: always older than `a`. */
export function serialPrevious(a: number): number {
  return (a + MOD - 1) % MOD;
}

/** A counter handed in from outside (persisted state): reduced into 32 bits; anything not a whole number ≥ 0 is 0. */
export function toSerial(n: number): number {
  return Number.isSafeInteger(n) && n >= 0 ? n % MOD : 0;
}
