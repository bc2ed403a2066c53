/**
 * Options of the DNS bench (`npm run bench -- --scenario dns ...`): the DNS server's queries per
 * second and the agent's memory under that load, and how long a real HAProxy on the DNS path takes
 * to see a registration and a deregistration.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../options.js';

export interface DnsBenchOptions {
  /** Seconds of load per query type. */
  readonly seconds: number;
  /** Queries kept in flight by the load generator. */
  readonly concurrency: number;
  /** Routable instances of the service asked for (the answer's size). */
  readonly instances: number;
  /** Register/deregister trials through HAProxy's resolvers; 0 skips them. */
  readonly trials: number;
  /** HAProxy's `timeout resolve` (its default is 1 s). */
  readonly resolveMs: number;
  readonly json: string | null;
}

export const DEFAULT_DNS_BENCH: DnsBenchOptions = { seconds: 10, concurrency: 64, instances: 10, trials: 20, resolveMs: 1000, json: null };

export const DNS_USAGE = `usage: npm run bench -- --scenario dns [options]

  --seconds N       seconds of load per query type (default ${DEFAULT_DNS_BENCH.seconds})
  --concurrency N   queries in flight (default ${DEFAULT_DNS_BENCH.concurrency})
  --instances N     instances of the service asked for (default ${DEFAULT_DNS_BENCH.instances})
  --trials N        register/deregister trials through HAProxy's resolvers (default ${DEFAULT_DNS_BENCH.trials}; 0: none)
  --resolve-ms N    HAProxy's "timeout resolve" (default ${DEFAULT_DNS_BENCH.resolveMs}, HAProxy's own default)
  --json FILE       write the figures as JSON
`;

export function isDnsScenario(argv: readonly string[]): boolean {
  return argv.some((arg, i) => {
    const value = arg.startsWith('--scenario=') ? arg.slice('--scenario='.length) : arg === '--scenario' ? argv[i + 1] : undefined;
    return value !== undefined && value.trim() === 'dns';
  });
}

export function parseDnsBenchArgs(argv: readonly string[]): DnsBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scenario: { type: 'string' }, seconds: { type: 'string' }, concurrency: { type: 'string' }, instances: { type: 'string' },
      trials: { type: 'string' }, 'resolve-ms': { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  const d = DEFAULT_DNS_BENCH;
  return {
    seconds: int('seconds', values.seconds, d.seconds, 1, 3600),
    concurrency: int('concurrency', values.concurrency, d.concurrency, 1, 4096),
    instances: int('instances', values.instances, d.instances, 1, 500),
    trials: int('trials', values.trials, d.trials, 0, 1000),
    resolveMs: int('resolve-ms', values['resolve-ms'], d.resolveMs, 10, 60_000),
    json: values.json ?? null,
  };
}
