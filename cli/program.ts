/**
 * Builds the `swimd` command tree and runs it, mapping every outcome to an exit status:
 * 0 success, 1 a failed operation, 2 a usage error. Kept apart from main.ts so tests can run the
 * whole CLI in-process with captured output.
 */
import { Command, CommanderError } from 'commander';
import { isClientError, type ClientError } from '../client/index.js';
import { registerAgent } from './commands/agent.js';
import { registerCheck } from './commands/check.js';
import { registerInfo } from './commands/info.js';
import { registerJoin } from './commands/join.js';
import { registerKeygen } from './commands/keygen.js';
import { registerKeyring } from './commands/keyring.js';
import { registerLeave } from './commands/leave.js';
import { registerMembers } from './commands/members.js';
import { registerRegister } from './commands/register.js';
import { registerServiceOps } from './commands/service-ops.js';
import { registerServices } from './commands/services.js';
import { registerWatch } from './commands/watch.js';
import { registerSplit } from './commands/split.js';
import { registerHaproxy } from './commands/haproxy.js';
import { CliFailure, makeCtx, type Ctx, type Io } from './context.js';
import { SOCKET_ENV } from './options.js';
import { VERSION } from '../client/contract/version.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function buildProgram(ctx: Ctx): Command {
  const program = new Command('swimd')
    .description('gossip-based service discovery: run an agent on every host, query it on its local socket')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpCommand('help [command]', 'show help for a command')
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      outputError: (s, write) => write(s.startsWith('error: ') ? `swimd: ${s.slice('error: '.length)}` : s),
    })
    .exitOverride()
    // Program options only before the command: `register --version 1.4.2` is the service's version.
    .enablePositionalOptions()
    .showSuggestionAfterError(true);
  program.addHelpText('after', `
Every command except \`agent\` talks to the local agent over its Unix socket:
pass --socket PATH or set ${SOCKET_ENV}. Add --json for machine-readable output.

Exit status: 0 success; 1 the operation failed (e.g. no agent is listening);
2 usage error.

Examples:
  $ swimd agent --bind 10.0.0.5:7946 --join 10.0.0.6:7946
  $ swimd members
  $ swimd members --status alive --json
  $ swimd register --name web --port 8080 --check-http http://127.0.0.1:8080/health --wait
  $ swimd drain web --wait 5s
  $ swimd services web --passing
  $ swimd watch
  $ swimd join 10.0.0.7:7946
  $ swimd help members`);

  registerAgent(program, ctx);
  registerMembers(program, ctx);
  registerServices(program, ctx);
  registerRegister(program, ctx);
  registerServiceOps(program, ctx);
  registerCheck(program, ctx);
  registerWatch(program, ctx);
  registerInfo(program, ctx);
  registerJoin(program, ctx);
  registerLeave(program, ctx);
  registerKeygen(program, ctx);
  registerKeyring(program, ctx);
  registerSplit(program, ctx);
  registerHaproxy(program, ctx);

  // Subcommands inherit the output routing and exit override, but only when created afterwards.
  for (const cmd of program.commands) {
    cmd.configureOutput(program.configureOutput()).exitOverride();
  }
  return program;
}

function describeClientError(e: ClientError): string {
  if (e.code === 'http') return `${e.message} (HTTP ${e.status ?? '?'})`;
  return e.message;
}

/** Runs the CLI on argv (without the node and script entries) and returns the exit status. */
export async function runCli(args: readonly string[], io: Io, ctx: Ctx = makeCtx(io)): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed its message; help and --version end with exit code 0.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (isClientError(e)) {
      io.err(`swimd: ${describeClientError(e)}\n`);
      return EXIT_FAILED;
    }
    if (e instanceof CliFailure) {
      io.err(`swimd: ${e.message}\n`);
      return EXIT_FAILED;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    io.err(`swimd: internal error: ${detail}\n`);
    return EXIT_FAILED;
  }
}
