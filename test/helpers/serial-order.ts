/**
 * How the simulation checks order incarnations and catalog versions: the one place that says what
 * "later" means for these 32-bit counters. Plain integer order today; serial-number arithmetic
 * (RFC 1982) would change only these two functions.
 */

/** True when counter value `a` is later than `b`. */
export function isLater(a: number, b: number): boolean {
  return a > b;
}

/** The later of two counter values. */
export function laterOf(a: number, b: number): number {
  return isLater(a, b) ? a : b;
}
