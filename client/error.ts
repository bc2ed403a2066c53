/**
 * The one error type the local-socket client throws. Callers branch on `code`, never on message text:
 * the CLI maps every code to a one-line reason and an exit status.
 */
export type ClientErrorCode =
  /** Nothing listens on the socket: the path is missing or the connection is refused. */
  | 'no_agent'
  /** The agent answered with a 4xx/5xx; `status` and the agent's own message are kept. */
  | 'http'
  /** The agent answered, but not with what the contract promises (bad JSON, wrong shape, too large). */
  | 'bad_response'
  /** No complete answer within the request timeout. */
  | 'timeout'
  /** Any other socket failure (permission denied, connection reset mid-answer, ...). */
  | 'io'
  /**
   * A mutation asked to `wait` was made, but not every alive member confirmed it in time: the
   * change stands. The error is a NotConfirmedError naming the members that had not confirmed.
   */
  | 'not_confirmed';

export interface ClientErrorOptions {
  readonly status?: number;
  /** The decoded error body of an HTTP error, for fields beyond `error` (e.g. members that did not confirm). */
  readonly body?: unknown;
  readonly cause?: unknown;
}

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  readonly status: number | undefined;
  readonly body: unknown;

  constructor(code: ClientErrorCode, message: string, opts: ClientErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.body = opts.body;
  }
}

export function isClientError(e: unknown): e is ClientError {
  return e instanceof ClientError;
}

export function noAgentError(socketPath: string, cause?: unknown): ClientError {
  return new ClientError(
    'no_agent',
    `no agent listening on ${socketPath} (is \`swimd agent\` running?)`,
    { cause },
  );
}
