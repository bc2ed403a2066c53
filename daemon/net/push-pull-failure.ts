import { DAEMON_LIMITS } from '../limits.js';
import { errCode } from './net-util.js';

/**
 * Why a push-pull we started failed, in words an operator can act on. The initiator sees only the
 * connection: a refused connect (nothing listens), a reset, a close without a reply (the seed
 * refused our request: another cluster label, a key it cannot open, or plaintext where it requires
 * encryption all look alike from here, and the seed's log names the one), no reply in time, or a
 * reply this agent cannot open (then it knows which of those it is).
 */
export class PushPullError extends Error {
  override readonly name = 'PushPullError';
}

export const CLOSED_WITHOUT_REPLY =
  'the seed closed the connection without replying: it refused the request (a different cluster label, ' +
  'an encryption key it does not hold, or no encryption where it requires it; its log says which) or is busy';

export function pushPullFailureReason(err: unknown): string {
  if (err instanceof PushPullError) return err.message;
  switch (errCode(err)) {
    case 'ECONNREFUSED': return 'connection refused: nothing listens on that TCP port';
    case 'ECONNRESET':
    case 'EPIPE': return 'connection reset without a reply (the seed refused or dropped it)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return 'no route to the seed\'s host';
    case 'ETIMEDOUT': return 'connecting timed out';
    default: return `state exchange failed (${errCode(err) === 'unknown' ? (err as Error | null)?.message ?? 'unknown' : errCode(err)})`;
  }
}

export function noReplyInTime(): PushPullError {
  return new PushPullError(`no reply within ${DAEMON_LIMITS.streamDeadlineMs} ms`);
}
