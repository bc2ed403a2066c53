/**
 * Knobs of the fault suite, from the environment. The defaults are the full-length figures quoted in
 * the README; a value that is not a positive number stops the run with the variable's name, rather
 * than silently running a different experiment.
 */

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name}=${JSON.stringify(raw)}: expected a number >= ${min}`);
  return v;
}

export interface SuiteConfig {
  /** SWIMD_NETNS_HOSTS: hosts (and agents) per scenario. */
  readonly hosts: number;
  /** SWIMD_NETNS_LOSS_S: duration of the all-hosts loss scenarios (5% and 15%). */
  readonly lossS: number;
  /** SWIMD_NETNS_ONE_HOST_LOSS_S: duration of the single lossy host scenario. */
  readonly oneHostLossS: number;
  /** SWIMD_NETNS_PARTITION_S: duration of the full partition. */
  readonly partitionS: number;
  /** SWIMD_NETNS_ONE_WAY_S: duration of the one-way partition. */
  readonly oneWayS: number;
  /** SWIMD_NETNS_PAUSE_S: how long one agent stays SIGSTOPped. */
  readonly pauseS: number;
  /** SWIMD_NETNS_DELAY_MS / SWIMD_NETNS_DELAY_S: added one-way delay on one host, and for how long. */
  readonly delayMs: number;
  readonly delayS: number;
  /** SWIMD_NETNS_LOG_LEVEL: agents' log level (logs are printed on failure). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function logLevel(): SuiteConfig['logLevel'] {
  const v = process.env['SWIMD_NETNS_LOG_LEVEL'] ?? 'info';
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new Error(`SWIMD_NETNS_LOG_LEVEL=${JSON.stringify(v)}: expected debug, info, warn or error`);
}

export function suiteConfig(): SuiteConfig {
  return {
    hosts: Math.floor(num('SWIMD_NETNS_HOSTS', 5, 4)),
    lossS: num('SWIMD_NETNS_LOSS_S', 120, 1),
    oneHostLossS: num('SWIMD_NETNS_ONE_HOST_LOSS_S', 60, 1),
    partitionS: num('SWIMD_NETNS_PARTITION_S', 30, 1),
    oneWayS: num('SWIMD_NETNS_ONE_WAY_S', 30, 1),
    pauseS: num('SWIMD_NETNS_PAUSE_S', 10, 1),
    delayMs: num('SWIMD_NETNS_DELAY_MS', 100, 1),
    delayS: num('SWIMD_NETNS_DELAY_S', 30, 1),
    logLevel: logLevel(),
  };
}
