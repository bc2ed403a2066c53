/** `swimd watch`: stream the local agent's changes until interrupted. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ClientError } from '../../client/index.js';
import { DurationError, parseDurationIn } from '../../client/contract/duration.js';
import type { Ctx } from '../context.js';
import { CliFailure } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatWatchEvent } from '../watch-format.js';

interface WatchFlags extends ClientFlags {
  readonly retryFor: number;
  readonly index?: number;
}

const RETRY_DEFAULT = '30s';

function durationArg(value: string): number {
  try {
    return parseDurationIn(value, 0, 24 * 3_600_000);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

function indexArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected the index of a line seen before (a non-negative integer)');
  return n;
}

export function registerWatch(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('watch')
    .description('stream changes to members and services as the local agent sees them, until interrupted')
    .option('--index <n>', 'resume after this index (from an earlier --json line) instead of starting with a snapshot', indexArg)
    .addOption(new Option('--retry-for <duration>', 'when the agent goes away, keep trying to reconnect for this long')
      .argParser(durationArg).default(durationArg(RETRY_DEFAULT), RETRY_DEFAULT));
  addClientOptions(cmd)
    .addHelpText('after', `
The stream starts with a snapshot of the current state, then prints one line
per change with the time it arrived. With --json it prints the agent's NDJSON
lines as they come: {"type":"snapshot","index":N,"reset":false,"members":[...],
"services":[...]}, then {"index":N,"type":"member"|"service","event":...},
and {"type":"heartbeat","index":N} every 10 s while nothing changes.

If the connection drops, the stream reconnects by itself from the last index,
so no change is missed; when the agent cannot resume from there (it restarted,
or the gap is too long) it sends a fresh snapshot marked "reset": true. If the
agent cannot be reached again within --retry-for, the command exits 1.

Examples:
  $ swimd watch
  $ swimd watch --json | jq -c 'select(.type == "service")'
  $ swimd watch --json --index 1718000000000042`)
    .action(async (flags: WatchFlags) => {
      const client = ctx.client(flags.socket);
      try {
        for await (const { text, event } of client.watchLines({
          ...(flags.index === undefined ? {} : { index: flags.index }),
          maxRetries: Number.MAX_SAFE_INTEGER,
          retryForMs: flags.retryFor,
        })) {
          if (flags.json === true) {
            ctx.io.out(text + '\n');
            continue;
          }
          const line = formatWatchEvent(event, new Date());
          if (line !== null) ctx.io.out(line + '\n');
        }
      } catch (e) {
        if (e instanceof ClientError && e.code !== 'http' && e.code !== 'bad_response') {
          throw new CliFailure(`lost the agent: ${e.message} (no answer for ${flags.retryFor} ms of retries)`);
        }
        throw e;
      }
    });
}
