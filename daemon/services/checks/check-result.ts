import type { Health } from '../../../protocol/messages.js';

/** The raw outcome of one check run, before damping. `output` is for the log, never gossiped. */
export interface CheckResult {
  readonly health: Health;
  readonly output: string;
}

/** Socket errors carry a code (ECONNREFUSED, ENOTFOUND …) that says more than the message. */
export function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') return `${err.code}${typeof err.message === 'string' && !err.message.includes(err.code) ? `: ${err.message}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}
