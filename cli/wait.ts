/**
 * `--wait [DURATION]` of the catalog mutations, and how their outcome is reported: exit 0 once every
 * alive member holds the change; exit 1 naming the members that had not confirmed it when the
 * duration ran out (the change itself stands).
 */
import { InvalidArgumentError, Option } from 'commander';
import { NotConfirmedError, type MutationResult, type WaitOutcome } from '../daemon/client.js';
import { DurationError, formatDuration, parseDurationIn } from '../daemon/duration.js';
import { DAEMON_LIMITS } from '../daemon/limits.js';
import { CliFailure, printJson, type Ctx } from './context.js';
import { sanitizeCell } from './table.js';

export const DEFAULT_WAIT = formatDuration(DAEMON_LIMITS.waitDefaultMs);

export interface WaitFlags {
  /** true: --wait given without a duration. */
  readonly wait?: string | true;
  readonly json?: boolean;
}

/** The wait to ask the agent for, if any. */
export function waitOf(flags: WaitFlags): { wait?: string } {
  return flags.wait === undefined ? {} : { wait: flags.wait === true ? DEFAULT_WAIT : flags.wait };
}

function waitArg(value: string): string {
  try {
    parseDurationIn(value, 1, DAEMON_LIMITS.waitMaxMs);
  } catch (e) {
    if (e instanceof DurationError) {
      // `swimd drain --wait web-1` reads the id as the duration.
      const hint = /^\d/.test(value) ? '' : '; put the ID before --wait, or give --wait=DURATION';
      throw new InvalidArgumentError(`${e.message}${hint}`);
    }
    throw e;
  }
  return value;
}

export function waitOption(): Option {
  return new Option(
    '--wait [duration]',
    `return only once every alive member holds the change; fail, naming those that do not, after DURATION (default ${DEFAULT_WAIT}, at most ${formatDuration(DAEMON_LIMITS.waitMaxMs)})`,
  ).argParser(waitArg);
}

export const WAIT_HELP = `
With --wait the command returns only when every alive member of the cluster
has confirmed that it holds the change (exit 0), so a deploy step can go on
knowing that every proxy has seen it. If the duration runs out first, the
command exits 1 and names the members that had not confirmed; the change
itself has been made and stays made.`;

/** --json output, success or not: snake_case like every JSON the agent writes. */
function mutationJson(id: string, service: MutationResult['service'], wait: WaitOutcome | undefined, error?: string): Record<string, unknown> {
  return {
    id,
    ...(service === undefined ? {} : { service }),
    ...(wait === undefined ? {} : { wait: { done: wait.done, elapsed_ms: wait.elapsedMs, confirmed: wait.confirmed, pending: wait.pending } }),
    ...(error === undefined ? {} : { error }),
  };
}

function members(n: number): string {
  return `${n} member${n === 1 ? '' : 's'}`;
}

/**
 * Runs one mutation and reports it. `done` says what happened in human words ("drained web-1"); the
 * failure to confirm becomes a CliFailure after the JSON answer (if asked for) is printed.
 */
export async function reportMutation(ctx: Ctx, flags: WaitFlags, done: string, op: () => Promise<MutationResult>): Promise<void> {
  let result: MutationResult;
  try {
    result = await op();
  } catch (e) {
    if (!(e instanceof NotConfirmedError)) throw e;
    const pending = e.outcome.pending.map(sanitizeCell);
    const shown = pending.slice(0, 20).join(', ') + (pending.length > 20 ? `, … (${pending.length} in all)` : '');
    const message = `${done}, but ${members(pending.length)} had not confirmed it within ${waitOf(flags).wait ?? DEFAULT_WAIT}: ${shown} ` +
      `(${members(e.outcome.confirmed)} did)`;
    if (flags.json === true) printJson(ctx.io, mutationJson(e.id, undefined, e.outcome, message));
    throw new CliFailure(message);
  }
  if (flags.json === true) {
    printJson(ctx.io, mutationJson(result.id, result.service, result.wait));
    return;
  }
  const wait = result.wait;
  if (wait === undefined) ctx.io.out(`${done}\n`);
  else if (wait.confirmed === 0) ctx.io.out(`${done}; no other alive member to confirm it\n`);
  else ctx.io.out(`${done}; confirmed by all ${wait.confirmed} other alive member${wait.confirmed === 1 ? '' : 's'} in ${wait.elapsedMs} ms\n`);
}
