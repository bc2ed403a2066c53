/** `swimd agent`: runs the daemon in the foreground until it is stopped or leaves. */
import { Option, type Command } from 'commander';
import { CONFIG_FIELDS, DEFAULTS, LOG_LEVELS, runAgent } from '../../daemon/index.js';
import { currentPlatform, defaultDataDir, defaultSocketPath } from '../../client/contract/paths.js';
import type { Ctx } from '../context.js';
import { advertiseArg, bindArg, collectSeeds, DEFAULT_PORT, SOCKET_ENV } from '../options.js';
import { httpAddrArg } from '../options.js';

/** Exactly the flags of the interface contract; the daemon merges them over the config file. */
interface AgentCliFlags {
  readonly config?: string;
  readonly name?: string;
  readonly bind?: string;
  readonly advertise?: string;
  readonly join?: string[];
  readonly socket?: string;
  readonly dataDir?: string;
  readonly profile?: string;
  readonly cluster?: string;
  readonly encryptKeyFile?: string;
  readonly logLevel?: string;
  readonly dnsAddr?: string;
  readonly dnsDomain?: string;
  readonly dnsTtl?: string;
  readonly httpAddr?: string;
}

/**
 * Defaults are only described, never set: a value commander filled in would look like a flag to the
 * daemon and override the config file.
 */
function opt(flags: string, description: string, shownDefault?: string): Option {
  return new Option(flags, shownDefault === undefined ? description : `${description} (default: ${shownDefault})`);
}

export function registerAgent(program: Command, ctx: Ctx): void {
  const platform = currentPlatform();
  program
    .command('agent')
    .description('run the swimd agent (the daemon) in the foreground')
    .addOption(opt('--config <file>', `JSON config file; flags override its fields (${CONFIG_FIELDS.join(', ')})`))
    .addOption(opt('--name <name>', 'member name, unique in the cluster', 'the host name'))
    .addOption(opt('--bind <host:port>', 'IP address and port for gossip, UDP and TCP alike; port 0 picks a free port', DEFAULTS.bind)
      .argParser(bindArg))
    .addOption(opt('--advertise <host:port>', 'address the other members reach this agent at', 'an address of this host, bound port')
      .argParser(advertiseArg))
    .addOption(opt('--join <host:port>', `member to join through (port defaults to ${DEFAULT_PORT}); repeat for several seeds`)
      .argParser(collectSeeds))
    .addOption(opt('--socket <path>', `local API socket for the other commands; the config file's wins over $${SOCKET_ENV}`,
      defaultSocketPath(process.env, platform)))
    .addOption(opt('--data-dir <dir>', 'persistent state, so a restarted agent refutes its own stale death',
      defaultDataDir(process.env, platform)))
    .addOption(opt('--profile <profile>', 'timing profile', DEFAULTS.profile).choices(['lan', 'wan', 'local']))
    .addOption(opt('--cluster <name>', 'cluster name; packets of agents in another cluster are ignored', DEFAULTS.cluster))
    .addOption(opt('--encrypt-key-file <file>', 'turns gossip encryption on: base64 keys (`swimd keygen`), one per line, the first encrypts; seeds the keyring kept in the data dir', 'no encryption'))
    .addOption(opt('--log-level <level>', 'verbosity of the JSON-lines log on stderr', DEFAULTS.logLevel).choices(LOG_LEVELS))
    .addOption(opt('--dns-addr <host:port>', 'serve DNS (UDP and TCP) on this IP address and port, e.g. 127.0.0.1:8600', 'off')
      .argParser(bindArg))
    .addOption(opt('--dns-domain <domain>', 'domain the DNS answers are under (consul: a drop-in for Consul names)', DEFAULTS.dnsDomain))
    .addOption(opt('--dns-ttl <seconds>', 'TTL of DNS answers, and how long resolvers may cache a negative one', String(DEFAULTS.dnsTtl)))
    .addOption(opt('--http-addr <host:port>', 'serve the Consul-compatible read API (and Prometheus http_sd) here; a port alone means 127.0.0.1', 'off')
      .argParser(httpAddrArg))
    .addHelpText('after', `
Profiles: lan (one data centre), wan (high latency, slower failure detection),
local (many agents on one machine, e.g. tests).

The agent stops after announcing a graceful leave on SIGINT, SIGTERM or
\`swimd leave\`; SIGHUP reloads the config file (log_level, join).

Examples:
  $ swimd agent --name web-1 --bind 10.0.0.5:7946 --join 10.0.0.6:7946
  $ swimd agent --config /etc/swimd/agent.json
  $ swimd agent --name t2 --bind 127.0.0.1:0 --socket /tmp/t2.sock \\
      --profile local --join 127.0.0.1:7946`)
    .action(async (flags: AgentCliFlags) => {
      // Set first, so that even an agent that failed unexpectedly cannot leave the process hanging.
      ctx.exitProcess = true;
      ctx.exitCode = await runAgent(flags);
    });
}
