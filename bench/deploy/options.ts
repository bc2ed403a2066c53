/**
 * Options of the deploy drill and their command-line form (`npm run bench -- --scenario deploy ...`).
 * The defaults are sized for the drill's goal: each run offers 500 req/s for 45 s (22,500
 * requests), with the deploy starting after 15 s of steady traffic.
 */
import { DurationError, parseDuration } from '../../client/contract/duration.js';
import { UsageError } from '../options.js';
import type { RunName } from './analyze.js';
import { PROXY_KINDS, type ProxyKind } from './drill-proxy.js';

export const RUN_NAMES: readonly RunName[] = ['swimd', 'naive', 'weighted', 'rollback'];


export interface DeployDrillOptions {
  readonly runs: readonly RunName[];
  /** Requests per second offered through the proxy. */
  readonly rate: number;
  /** Load per run; extended when the deploy has not finished `tailMs` before it ends. */
  readonly durationMs: number;
  /** Steady traffic on v1 before the deploy starts. */
  readonly deployAtMs: number;
  /** Weighted and rollback runs: how long the split v1=90 v2=10 is held before v1 is retired (or v2 rolled back). */
  readonly splitMs: number;
  /** Traffic kept up after the deploy's last step. */
  readonly tailMs: number;
  readonly concurrency: number;
  /** Simulated clients (cookie jars) the requests are spread over. */
  readonly clients: number;
  readonly sticky: boolean;
  /** Requests a client makes before a new client takes its place (0: never). */
  readonly clientRequests: number;
  /** The proxy the load goes through: the built-in one, or a real HAProxy fed by the companion. */
  readonly proxy: ProxyKind;
  /** The app's time per request. */
  readonly serviceMs: number;
  /** The HTTP check's interval, as the agent reads it. */
  readonly checkInterval: string;
  /** Longest propagation wait per mutation. */
  readonly waitMs: number;
  readonly requestTimeoutMs: number;
  readonly profile: 'lan' | 'local';
  /** Chart resolution. */
  readonly binMs: number;
  readonly json?: string;
  readonly svg?: string;
  /** Keep the agents' folder (logs, data) after each run. */
  readonly keep: boolean;
  /** Progress lines; default: stderr. */
  readonly say?: (line: string) => void;
  /** The command line that started the drill, recorded in the JSON. */
  readonly command?: string;
  /** The summary table; default: stdout. */
  readonly print?: (text: string) => void;
}

export const DEFAULT_DEPLOY_OPTIONS: DeployDrillOptions = {
  runs: RUN_NAMES,
  rate: 500,
  durationMs: 45_000,
  deployAtMs: 15_000,
  splitMs: 10_000,
  tailMs: 3_000,
  concurrency: 64,
  clients: 50,
  sticky: false,
  clientRequests: 20,
  proxy: 'builtin',
  serviceMs: 5,
  checkInterval: '1s',
  waitMs: 10_000,
  requestTimeoutMs: 10_000,
  profile: 'local',
  binMs: 250,
  keep: false,
};

export const DEPLOY_USAGE = `npm run bench -- --scenario deploy [options]

A deploy of a one-instance app behind a proxy fed by swimd, under steady load: the swimd way
(register and wait, drain and wait), naively (stop, then start), with the split v1=90 v2=10
(\`swimd split\`) held and then moved to v2, and rolled back (v1=100) from that split.

  --only LIST            runs to do, comma-separated (default swimd,naive,weighted,rollback)
  --rate N               requests per second through the proxy (default 500)
  --duration D           load per run (default 45s)
  --deploy-at D          steady traffic before the deploy (default 15s)
  --split D              weighted and rollback runs: time v1=90 v2=10 is held (default 10s)
  --tail D               traffic after the deploy's last step, at least (default 3s)
  --concurrency N        requests in flight at most (default 64)
  --clients N            simulated clients, each with its own cookie (default 50)
  --sticky               version pinning: the proxy keeps a client on its version while that
                         version has a share of the split and is routable
  --client-requests N    a client leaves after N requests and a new one arrives (default 20; 0: never)
  --proxy KIND           builtin (default); haproxy: a real HAProxy fed by the
                         companion (HAPROXY_BIN, default /usr/sbin/haproxy);
                         haproxy-dns: HAProxy's resolvers on the agent's DNS, no companion
  --service-time D       the app's time per request (default 5ms)
  --check-interval D     the app's HTTP check interval (default 1s)
  --wait D               propagation wait per mutation (default 10s)
  --profile lan|local    agents' timing profile (default local)
  --bin D                chart resolution (default 250ms)
  --json FILE            write {"runs": [...]} to FILE
  --svg FILE             write the chart to FILE
  --keep                 keep the agents' logs and data dirs
`;

/** A bad deploy-drill option; the bench reports it like any usage error. */
export class OptionError extends UsageError {}

/** True when the bench's arguments ask for the deploy drill (`--scenario deploy`, alone or in a list). */
export function isDeployScenario(argv: readonly string[]): boolean {
  return argv.some((arg, i) => {
    const value = arg.startsWith('--scenario=') ? arg.slice('--scenario='.length) : arg === '--scenario' ? argv[i + 1] : undefined;
    return value !== undefined && value.split(',').map((s) => s.trim()).includes('deploy');
  });
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new OptionError(`${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function duration(flag: string, v: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    if (e instanceof DurationError) throw new OptionError(`${flag}: ${e.message}`);
    throw e;
  }
}

function runs(v: string): RunName[] {
  const names = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out: RunName[] = [];
  for (const n of names) {
    const r = RUN_NAMES.find((x) => x === n);
    if (r === undefined) throw new OptionError(`--only: unknown run ${JSON.stringify(n)}; known: ${RUN_NAMES.join(', ')}`);
    if (!out.includes(r)) out.push(r);
  }
  if (out.length === 0) throw new OptionError('--only: name at least one run');
  return out;
}

/**
 * Reads the drill's flags from `argv` (flags only, e.g. process.argv.slice(2)). `--scenario deploy`
 * is accepted and ignored, so the bench's whole argument list can be passed; any other unknown flag
 * is an error naming it.
 */
export function parseDeployArgs(argv: readonly string[]): DeployDrillOptions | 'help' {
  const o: { -readonly [K in keyof DeployDrillOptions]: DeployDrillOptions[K] } = { ...DEFAULT_DEPLOY_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new OptionError(`${flag}: a value is required`);
      return v;
    };
    switch (flag) {
      case '--scenario': {
        const v = value();
        if (v !== 'deploy') throw new OptionError(`--scenario: the deploy drill runs on its own (--scenario deploy), got ${JSON.stringify(v)}`);
        break;
      }
      // Not --runs: the bench's --runs K repeats a whole benchmark.
      case '--only': o.runs = runs(value()); break;
      case '--rate': o.rate = positiveInt(flag, value()); break;
      case '--duration': o.durationMs = duration(flag, value()); break;
      case '--deploy-at': o.deployAtMs = duration(flag, value()); break;
      case '--split': o.splitMs = duration(flag, value()); break;
      case '--tail': o.tailMs = duration(flag, value()); break;
      case '--concurrency': o.concurrency = positiveInt(flag, value()); break;
      case '--clients': o.clients = positiveInt(flag, value()); break;
      case '--sticky': o.sticky = true; break;
      case '--client-requests': { const v = value(); o.clientRequests = v === '0' ? 0 : positiveInt(flag, v); break; }
      case '--proxy': {
        const v = value();
        const kind = PROXY_KINDS.find((k) => k === v);
        if (kind === undefined) throw new OptionError(`--proxy: expected one of ${PROXY_KINDS.join(', ')}, got ${JSON.stringify(v)}`);
        o.proxy = kind;
        break;
      }
      case '--service-time': o.serviceMs = duration(flag, value()); break;
      case '--check-interval': { const v = value(); duration(flag, v); o.checkInterval = v; break; }
      case '--wait': o.waitMs = duration(flag, value()); break;
      case '--profile': {
        const v = value();
        if (v !== 'lan' && v !== 'local') throw new OptionError(`--profile: expected lan or local, got ${JSON.stringify(v)}`);
        o.profile = v;
        break;
      }
      case '--bin': o.binMs = Math.max(10, duration(flag, value())); break;
      case '--json': o.json = value(); break;
      case '--svg': o.svg = value(); break;
      case '--keep': o.keep = true; break;
      case '--help': case '-h': return 'help';
      default: throw new OptionError(`unknown option ${JSON.stringify(arg)} for --scenario deploy`);
    }
  }
  return o;
}
