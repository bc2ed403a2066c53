/**
 * `--wait [DURATION]` of the catalog mutations, and how their outcome is reported: exit 0 once every
 * alive member holds the change; exit 1 naming the members that had not confirmed it when the
 * duration ran out (the change itself stands).
 */
import { InvalidArgumentError, Option } from 'commander';
import { NotConfirmedError, type ExcludedMember, type MutationResult, type WaitOutcome } from '../client/index.js';
import { DurationError, formatDuration, parseDurationIn } from '../client/contract/duration.js';
import { API_LIMITS } from '../client/contract/limits.js';
import { CliFailure, printJson, type Ctx } from './context.js';
import { sanitizeCell } from './table.js';

export const DEFAULT_WAIT = formatDuration(API_LIMITS.waitDefaultMs);

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
    parseDurationIn(value, 1, API_LIMITS.waitMaxMs);
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
    `return only once every alive member holds the change; fail, naming those that do not, after DURATION (default ${DEFAULT_WAIT}, at most ${formatDuration(API_LIMITS.waitMaxMs)})`,
  ).argParser(waitArg);
}

export const WAIT_HELP = `
With --wait the command returns only when every alive member of the cluster
has confirmed that it holds the change (exit 0), so a deploy step can go on
knowing that every proxy has seen it. If the duration runs out first, the
command exits 1 and names the members that had not confirmed; the change
itself has been made and stays made. Members that join during the wait are
asked too; a member declared dead (or leaving) during the wait no longer holds
it up, but is named ("c4: declared dead during the wait, did not confirm")
and the answer does not say "confirmed by all".`;

/**
 * --json output of every catalog mutation (register, deregister, drain, undrain, check), success or
 * not: `{id, service?, wait?, error?}`, snake_case like every JSON the agent writes.
 */
export function mutationJson(id: string, service: MutationResult['service'], wait: WaitOutcome | undefined, error?: string): Record<string, unknown> {
  return {
    id,
    ...(service === undefined ? {} : { service }),
    ...(wait === undefined ? {} : {
      wait: { done: wait.done, elapsed_ms: wait.elapsedMs, confirmed: wait.confirmed, pending: wait.pending, excluded: wait.excluded },
    }),
    ...(error === undefined ? {} : { error }),
  };
}

function members(n: number): string {
  return `${n} member${n === 1 ? '' : 's'}`;
}

/** "c4: declared dead during the wait, did not confirm", for each member the wait let go of. */
function exclusions(excluded: readonly ExcludedMember[]): string[] {
  const lines = excluded.slice(0, 20).map((x) =>
    `${sanitizeCell(x.name)}: ${x.status === 'left' ? 'left' : 'declared dead'} during the wait, did not confirm`);
  if (excluded.length > 20) lines.push(`… (${excluded.length} in all)`);
  return lines;
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
    if (e.outcome.passing === false) {
      // No member was asked yet: the agent's own words say what happened ("its check has not passed ...").
      if (flags.json === true) printJson(ctx.io, mutationJson(e.id, undefined, e.outcome, e.message));
      throw new CliFailure(sanitizeCell(e.message));
    }
    const pending = e.outcome.pending.map(sanitizeCell);
    const shown = pending.slice(0, 20).join(', ') + (pending.length > 20 ? `, … (${pending.length} in all)` : '');
    const excluded = exclusions(e.outcome.excluded);
    const message = `${done}, but ${members(pending.length)} had not confirmed it within ${waitOf(flags).wait ?? DEFAULT_WAIT}: ${shown} ` +
      `(${members(e.outcome.confirmed)} did)` + excluded.map((l) => `; ${l}`).join('');
    if (flags.json === true) printJson(ctx.io, mutationJson(e.id, undefined, e.outcome, message));
    throw new CliFailure(message);
  }
  if (flags.json === true) {
    printJson(ctx.io, mutationJson(result.id, result.service, result.wait));
    return;
  }
  const wait = result.wait;
  if (wait === undefined) return ctx.io.out(`${done}\n`);
  const excluded = exclusions(wait.excluded);
  const others = `other alive member${wait.confirmed === 1 ? '' : 's'}`;
  if (excluded.length === 0) {
    if (wait.confirmed === 0) ctx.io.out(`${done}; no other alive member to confirm it\n`);
    else ctx.io.out(`${done}; confirmed by all ${wait.confirmed} ${others} in ${wait.elapsedMs} ms\n`);
    return;
  }
  // Members that died or left during the wait no longer hold it up, but may hold a stale view.
  const confirmedBy = wait.confirmed === 0 ? 'confirmed by no other member' : `confirmed by ${wait.confirmed} ${others}`;
  ctx.io.out(`${done}; ${confirmedBy} in ${wait.elapsedMs} ms, not by ${members(wait.excluded.length)} that stopped answering during the wait:\n` +
    excluded.map((l) => `  ${l}\n`).join(''));
}
