/**
 * How the simulation checks order incarnations and catalog versions: the same serial-number
 * arithmetic (RFC 1982, 32 bits) as the protocol, so a counter that wrapped past 0xffffffff is later.
 */
import { isNewer, newest } from '../../protocol/serial.js';

/** True when counter value `a` is later than `b`. */
export function isLater(a: number, b: number): boolean {
  return isNewer(a, b);
}

/** The later of two counter values. */
export function laterOf(a: number, b: number): number {
  return newest(a, b);
}
