/** `swimd register`: add (or update) a service instance on the local agent. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CheckDefinition, Registration } from '../../client/index.js';
import { FieldError } from '../../client/contract/field-error.js';
import { parseRegistration } from '../../client/contract/registration.js';
import type { Ctx } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { reportMutation, WAIT_HELP, waitOf, waitOption } from '../wait.js';

interface RegisterFlags extends ClientFlags {
  readonly name: string;
  readonly port: number;
  readonly id?: string;
  readonly address?: string;
  readonly tag?: string[];
  readonly meta?: Record<string, string>;
  readonly version?: string;
  readonly weight?: number;
  readonly checkHttp?: string;
  readonly checkTcp?: string;
  readonly checkTtl?: string;
  readonly interval?: string;
  readonly wait?: string | true;
}

function integer(what: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${what}, an integer between ${min} and ${max}`);
    }
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectMeta(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected KEY=VALUE, e.g. zone=eu-1');
  const key = value.slice(0, eq);
  if (previous !== undefined && key in previous) throw new InvalidArgumentError(`meta key ${JSON.stringify(key)} given twice`);
  return { ...previous, [key]: value.slice(eq + 1) };
}

/** Where a field of the registration came from on the command line, for usage errors. */
const FLAG_OF: Readonly<Record<string, string>> = {
  name: '--name', port: '--port', id: '--id', address: '--address', tags: '--tag', meta: '--meta', version: '--version',
  weight: '--weight', 'check.http': '--check-http', 'check.tcp': '--check-tcp', 'check.ttl': '--check-ttl', 'check.interval': '--interval',
};

function flagOf(field: string): string {
  const base = field.replace(/\[\d+\]$/, '');
  return FLAG_OF[base] ?? (base.startsWith('meta.') ? '--meta' : base.startsWith('check') ? 'the check' : field);
}

function registration(flags: RegisterFlags): Registration {
  const check: CheckDefinition | undefined =
    flags.checkHttp !== undefined ? { http: flags.checkHttp }
      : flags.checkTcp !== undefined ? { tcp: flags.checkTcp }
        : flags.checkTtl !== undefined ? { ttl: flags.checkTtl } : undefined;
  return {
    name: flags.name,
    port: flags.port,
    ...(flags.id === undefined ? {} : { id: flags.id }),
    ...(flags.address === undefined ? {} : { address: flags.address }),
    ...(flags.tag === undefined ? {} : { tags: flags.tag }),
    ...(flags.meta === undefined ? {} : { meta: flags.meta }),
    ...(flags.version === undefined ? {} : { version: flags.version }),
    ...(flags.weight === undefined ? {} : { weight: flags.weight }),
    ...(check === undefined ? {} : { check: flags.interval === undefined ? check : { ...check, interval: flags.interval } }),
  };
}

export function registerRegister(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('register')
    .description('register a service instance on the local agent (or update it: same id)')
    .requiredOption('--name <name>', 'service name, e.g. web')
    .requiredOption('--port <port>', 'port the instance listens on', integer('a port', 1, 65_535))
    .option('--id <id>', 'instance id, unique on this node (default: the name)')
    .option('--address <address>', "address clients connect to (default: the agent's advertised address)")
    .option('--tag <tag>', 'a tag; repeat for more', collect)
    .option('--meta <key=value>', 'a metadata pair; repeat for more', collectMeta)
    .option('--version <version>', 'version label of the deployed code, e.g. 1.4.2')
    .option('--weight <weight>', 'relative share of traffic (default 1)', integer('a weight', 0, 65_535))
    .addOption(new Option('--check-http <url>', 'health check: GET this URL; 2xx is passing, 429 warning, else critical')
      .conflicts(['checkTcp', 'checkTtl']))
    .addOption(new Option('--check-tcp <host:port>', 'health check: connect to this address').conflicts(['checkTtl']))
    .addOption(new Option('--check-ttl <duration>', 'health check: the service reports with `swimd check` within each DURATION, or turns critical'))
    .option('--interval <duration>', 'how often an http or tcp check runs (default 10s)')
    .addOption(waitOption());
  addClientOptions(cmd)
    .addHelpText('after', `${WAIT_HELP}

Instances without a check are passing until drained or deregistered.

Examples:
  $ swimd register --name web --port 8080
  $ swimd register --name web --id web-2 --port 8081 --tag v2 --meta zone=eu-1 \\
      --version 1.4.2 --check-http http://127.0.0.1:8081/health --interval 2s --wait
  $ swimd register --name worker --port 9000 --check-ttl 30s --wait 5s
  $ swimd register --name db --port 5432 --check-tcp 127.0.0.1:5432 --json`)
    .action(async (flags: RegisterFlags) => {
      if (flags.interval !== undefined && flags.checkHttp === undefined && flags.checkTcp === undefined) {
        cmd.error('swimd: --interval applies to --check-http and --check-tcp only', { exitCode: 2, code: 'swimd.usage' });
      }
      const entry = registration(flags);
      // The agent's own validator: a bad value is a usage error here, with the agent's words.
      try {
        parseRegistration(entry);
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        cmd.error(`swimd: ${flagOf(e.field)}: ${e.reason}`, { exitCode: 2, code: 'swimd.usage' });
      }
      const id = entry.id ?? entry.name;
      await reportMutation(ctx, flags, `registered ${id}`, () => ctx.client(flags.socket).register(entry, waitOf(flags)));
    });
}
