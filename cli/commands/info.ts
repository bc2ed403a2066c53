/** `swimd info`: the local agent itself. */
import { InvalidArgumentError, type Command } from 'commander';
import { isClientError, type Client, type Info } from '../../client/index.js';
import { DurationError, formatDuration, parseDurationIn } from '../../client/contract/duration.js';
import type { Ctx } from '../context.js';
import { CliFailure, printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatRecord } from '../table.js';

/** Bound of `info --wait`: long enough for any start-up, short enough to be a mistake above it. */
const WAIT_MAX_MS = 10 * 60_000;
/** How often `info --wait` asks again while the agent is not answering yet. */
const WAIT_RETRY_MS = 100;

interface InfoFlags extends ClientFlags {
  readonly wait?: number;
}

function waitArg(value: string): number {
  try {
    return parseDurationIn(value, 1, WAIT_MAX_MS);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

export function registerInfo(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('info')
    .description("show the local agent: its name, address, and how many members it knows and sees alive");
  addClientOptions(cmd)
    .option('--wait <duration>', 'wait up to this long for the agent to answer on its socket (e.g. while it starts)', waitArg)
    .addHelpText('after', `
Examples:
  $ swimd info
  $ swimd info --json
  $ swimd info --wait 30s   # blocks until a starting agent serves its socket`)
    .action(async (flags: InfoFlags) => {
      const client = ctx.client(flags.socket);
      const info = flags.wait === undefined ? await client.info() : await infoWithin(client, flags.socket, flags.wait);
      if (flags.json === true) printJson(ctx.io, info);
      else ctx.io.out(formatRecord(info));
    });
}

/**
 * Asks until the agent answers, for at most `waitMs`. Only the answers of an agent not serving yet
 * (nothing listening, a busy or cut connection, no answer in time) are retried; any other error is
 * the agent's real answer and ends the wait.
 */
async function infoWithin(client: Client, socket: string, waitMs: number): Promise<Info> {
  const deadline = Date.now() + waitMs;
  let last = 'no attempt';
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), left); });
    try {
      const info = await Promise.race([client.info(), expired]);
      if (info !== null) return info;
      last = 'no answer';
    } catch (e) {
      const notServingYet = isClientError(e) && (e.code === 'no_agent' || e.code === 'io' || e.code === 'timeout' || e.status === 503);
      if (!notServingYet) throw e;
      last = e.message;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_RETRY_MS, Math.max(0, deadline - Date.now()))));
  }
  throw new CliFailure(`the agent did not answer on ${socket} within ${formatDuration(waitMs)}; last: ${last}`);
}
