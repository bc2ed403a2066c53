/**
 * `swimd haproxy`: the HAProxy companion in the foreground (its own systemd unit), or, with
 * --status, what a running companion last reported.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DurationError, parseDurationIn } from '../../client/contract/duration.js';
import { HaproxyCompanion, type CompanionLogLevel, type ServiceMapping } from '../../companion/haproxy/companion.js';
import { type CompanionStatus, DEFAULT_STATUS_FILE, decodeStatus, renderStatus, STATUS_FILE_ENV, statusProblems } from '../../companion/haproxy/status.js';
import type { Ctx } from '../context.js';
import { CliFailure, printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';

interface HaproxyFlags extends ClientFlags {
  readonly haproxySocket?: string;
  readonly map?: ServiceMapping[];
  readonly statusFile: string;
  readonly metricsFile?: string;
  readonly checkInterval: number;
  readonly logLevel: CompanionLogLevel;
  readonly status?: boolean;
}

const LEVELS: readonly CompanionLogLevel[] = ['error', 'warn', 'info', 'debug'];
/** A name as haproxy.cfg and the catalog allow it: no spaces or separators the Runtime API would split on. */
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

function mapArg(value: string, previous: ServiceMapping[] | undefined): ServiceMapping[] {
  const eq = value.indexOf('=');
  const service = value.slice(0, eq);
  const backend = value.slice(eq + 1);
  if (eq <= 0 || !NAME.test(service) || !NAME.test(backend)) {
    throw new InvalidArgumentError(`expected SERVICE=BACKEND (letters, digits, _ . : -), got ${JSON.stringify(value)}`);
  }
  const list = previous ?? [];
  if (list.some((m) => m.backend === backend)) throw new InvalidArgumentError(`backend ${backend} is mapped twice`);
  return [...list, { service, backend }];
}

function intervalArg(value: string): number {
  try {
    return parseDurationIn(value, 50, 60_000);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

function printStatus(ctx: Ctx, flags: HaproxyFlags): void {
  let text: string;
  try {
    text = readFileSync(flags.statusFile, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new CliFailure(`no companion status at ${flags.statusFile} (${code}): is \`swimd haproxy\` running with this --status-file?`);
  }
  let status: CompanionStatus;
  try {
    status = decodeStatus(text);
  } catch (e) {
    throw new CliFailure(`${flags.statusFile} is not a companion status: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (flags.json === true) printJson(ctx.io, status);
  else ctx.io.out(`${renderStatus(status, new Date())}\n`);
  if (statusProblems(status, new Date()).length > 0) ctx.exitCode = 1;
}

export function registerHaproxy(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('haproxy')
    .description("keep HAProxy's backends equal to the catalog through its Runtime API (runs in the foreground)")
    .option('--haproxy-socket <path>', "HAProxy's stats socket, declared with `level admin`")
    .option('--map <service=backend...>', 'fill BACKEND\'s server-template slots with the instances of SERVICE; several may follow one --map, and --map may repeat', mapArg)
    .addOption(new Option('--status-file <path>', 'where the status is written (and read by --status)').env(STATUS_FILE_ENV).default(DEFAULT_STATUS_FILE))
    .option('--metrics-file <path>', 'also write the counters in Prometheus text format (node_exporter textfile collector)')
    .addOption(new Option('--check-interval <duration>', 'how often HAProxy is checked for a reload or restart').argParser(intervalArg).default(1_000, '1s'))
    .addOption(new Option('--log-level <level>', 'verbosity of the JSON-lines log on stderr').choices(LEVELS).default('info'))
    .option('--status', 'print what the running companion last wrote to --status-file and exit (1 when something needs attention)');
  addClientOptions(cmd)
    .addHelpText('after', `
Each mapped backend declares its slots in haproxy.cfg, e.g.
  server-template app 1-8 127.0.0.1:1 disabled
Routable instances are set ready (with their effective weight, 0-256), draining
ones drain (sessions and persistence cookies finish), critical or removed ones
go to maintenance. The companion reconciles in full at start, after the agent
restarts, when HAProxy answers again, and after a HAProxy reload or restart.
Too few slots: logged, counted, and shown by --status (exit 1).

Examples:
  $ swimd haproxy --haproxy-socket /run/haproxy/admin.sock --map web=web_servers
  $ swimd haproxy --status`)
    .action(async (flags: HaproxyFlags) => {
      if (flags.status === true) return printStatus(ctx, flags);
      if (flags.haproxySocket === undefined) throw new CliFailure('--haproxy-socket PATH is required');
      if (flags.map === undefined || flags.map.length === 0) throw new CliFailure('at least one --map SERVICE=BACKEND is required');
      const threshold = LEVELS.indexOf(flags.logLevel);
      const companion = new HaproxyCompanion({
        agentSocket: flags.socket, haproxySocket: flags.haproxySocket, maps: flags.map,
        checkIntervalMs: flags.checkInterval, statusFile: flags.statusFile,
        ...(flags.metricsFile === undefined ? {} : { metricsFile: flags.metricsFile }),
        log: (level, msg) => {
          if (LEVELS.indexOf(level) <= threshold) ctx.io.err(`${JSON.stringify({ ts: new Date().toISOString(), level, msg })}\n`);
        },
      });
      ctx.exitProcess = true;
      const stop = (): void => { void companion.close(); };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      companion.start();
      try {
        await companion.done();
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        await companion.close();
      }
    });
}
