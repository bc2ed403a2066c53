import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Address } from '../../protocol/address.js';
import { addressKey } from '../../protocol/address.js';
import { LIMITS } from '../../protocol/limits.js';
import type { Profile } from '../../protocol/profiles.js';
import {
  type AdvertiseAddress, DEFAULT_PORT, Invalid, parseAdvertise, parseBind, parseBool, parseCluster, parseLogLevel,
  parseName, parsePacketBytes, parsePath, parseProfile, parseSeeds, type ValueSource,
} from './config-fields.js';
import { parseHttpAddr } from './config-fields.js';
import { describeConfigServices, parseConfigServices } from './config-services.js';
import { parseDnsAddr, parseDnsDomain, parseDnsTtl } from './config-dns.js';
import type { ParsedRegistration } from '../../client/contract/registration.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { LogLevel } from '../log.js';
import { currentPlatform, defaultDataDir, defaultSocketPath, type Env, type Platform, SOCKET_ENV } from '../../client/contract/paths.js';

/**
 * Agent configuration: a JSON file (`--config`), command-line flags and SWIMD_SOCKET resolved into
 * one fully-defaulted AgentConfig. Precedence, highest first:
 *
 *   flag  >  config file  >  SWIMD_SOCKET (socket only)  >  built-in default
 *
 * SWIMD_SOCKET only replaces the *default* socket: a socket written in the agent's own config file
 * is a deliberate choice and wins over a variable inherited from a shell. `join` from a flag
 * replaces the file's list rather than adding to it, like every other field.
 */

export { DEFAULT_PORT, type AdvertiseAddress } from './config-fields.js';

/** What `swimd agent` passes in; every value is untrusted text. */
export interface AgentFlags {
  config?: string;
  name?: string;
  bind?: string;
  advertise?: string;
  join?: string[];
  socket?: string;
  dataDir?: string;
  profile?: string;
  cluster?: string;
  encryptKeyFile?: string;
  logLevel?: string;
  dnsAddr?: string;
  dnsDomain?: string;
  dnsTtl?: string;
  httpAddr?: string;
}

export interface AgentConfig {
  /** Absolute path of the config file, or null when none was given. */
  readonly configFile: string | null;
  readonly name: string;
  /** Where UDP and TCP listen (same port for both). Default 0.0.0.0:7946. */
  readonly bind: Address;
  /** Address gossiped to others; null: chosen at start-up from the interfaces and bound port. */
  readonly advertise: AdvertiseAddress | null;
  /** Seed addresses as written ("host:port", port defaults to 7946); resolved when joining. */
  readonly join: readonly string[];
  readonly socket: string;
  readonly dataDir: string;
  readonly profile: Profile['name'];
  readonly cluster: string;
  readonly encryptKeyFile: string | null;
  /**
   * With encryption on: refuse unencrypted input (default true) / encrypt what is sent (default
   * true). Setting them false is for turning encryption on in a running cluster (daemon/SECURITY.md).
   */
  readonly encryptVerifyIncoming: boolean;
  readonly encryptVerifyOutgoing: boolean;
  readonly logLevel: LogLevel;
  readonly packetBytes: number;
  /** Service instances registered from the config file (daemon/CATALOG.md); reloaded on SIGHUP. */
  readonly services: readonly ParsedRegistration[];
  /** Where the DNS face listens (UDP and TCP); null: no DNS (the default). */
  readonly dnsAddr: Address | null;
  /** The domain DNS answers for, lower case without the trailing dot. */
  readonly dnsDomain: string;
  /** TTL of every DNS record, and the negative-caching time in the SOA. */
  readonly dnsTtl: number;
  /** Where the Consul-compatible read API listens (daemon/consul/); null: not served (the default). */
  readonly httpAddr: Address | null;
}

/** A bad config: the message names the file (or flag), the field and the reason, on one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Config-file keys, in the order they are documented and reported. */
export const CONFIG_FIELDS = [
  'name', 'bind', 'advertise', 'join', 'socket', 'data_dir', 'profile', 'cluster',
  'encrypt_key_file', 'encrypt_verify_incoming', 'encrypt_verify_outgoing', 'log_level', 'packet_bytes',
  'services',
  'dns_addr', 'dns_domain', 'dns_ttl',
  'http_addr',
] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/** Fields SIGHUP applies to a running agent; a change to any other field needs a restart. */
export const RELOADABLE_FIELDS: readonly ConfigField[] = ['log_level', 'join', 'services'];

export const DEFAULTS = {
  bind: `0.0.0.0:${DEFAULT_PORT}`,
  profile: 'lan',
  cluster: 'default',
  logLevel: 'info',
  packetBytes: LIMITS.packetBytesDefault,
  encryptVerifyIncoming: true,
  encryptVerifyOutgoing: true,
  dnsDomain: 'swimd',
  dnsTtl: 0,
} as const;

const FLAG_OF: Readonly<Record<ConfigField, string | null>> = {
  name: 'name', bind: 'bind', advertise: 'advertise', join: 'join', socket: 'socket',
  data_dir: 'data-dir', profile: 'profile', cluster: 'cluster', encrypt_key_file: 'encrypt-key-file',
  log_level: 'log-level', packet_bytes: null, encrypt_verify_incoming: null, encrypt_verify_outgoing: null,
  services: null,
  dns_addr: 'dns-addr', dns_domain: 'dns-domain', dns_ttl: 'dns-ttl',
  http_addr: 'http-addr',
};

export function resolveConfig(flags: AgentFlags, env: Env = process.env, platform: Platform = currentPlatform()): AgentConfig {
  const configFile = flags.config === undefined ? null : resolve(platform.cwd, flags.config);
  const file = configFile === null ? {} : readConfigFile(configFile);

  /** The flag if given, else the file's value, validated and labelled with where it came from. */
  function pick<T>(field: ConfigField, flag: unknown, parse: (v: unknown, source: ValueSource) => T): T | undefined {
    if (flag !== undefined) return labelled(`flag --${FLAG_OF[field] ?? field}`, () => parse(flag, 'flag'));
    if (Object.hasOwn(file, field)) {
      return labelled(`config ${configFile}: field "${field}"`, () => parse(file[field], 'file'));
    }
    return undefined;
  }
  const path = (max?: number) => (v: unknown, source: ValueSource) => parsePath(v, source, platform.cwd, max);

  const name = pick('name', flags.name, parseName)
    ?? labelled(`default name (host name ${JSON.stringify(platform.hostname)})`, () => parseName(platform.hostname));
  const bind = pick('bind', flags.bind, parseBind) ?? parseBind(DEFAULTS.bind);
  const advertise = pick('advertise', flags.advertise, parseAdvertise) ?? null;
  const join = pick('join', flags.join, parseSeeds) ?? [];
  const envSocket = env[SOCKET_ENV];
  const socket = pick('socket', flags.socket, path(DAEMON_LIMITS.socketPathBytesMax))
    ?? (envSocket !== undefined && envSocket !== ''
      ? labelled(`env ${SOCKET_ENV}`, () => parsePath(envSocket, 'env', platform.cwd, DAEMON_LIMITS.socketPathBytesMax))
      : labelled('default socket', () => parsePath(defaultSocketPath(env, platform), 'default', platform.cwd, DAEMON_LIMITS.socketPathBytesMax)));
  const dataDir = pick('data_dir', flags.dataDir, path()) ?? defaultDataDir(env, platform);
  const profile = pick('profile', flags.profile, parseProfile) ?? DEFAULTS.profile;
  const cluster = pick('cluster', flags.cluster, parseCluster) ?? DEFAULTS.cluster;
  const encryptKeyFile = pick('encrypt_key_file', flags.encryptKeyFile, path()) ?? null;
  const logLevel = pick('log_level', flags.logLevel, parseLogLevel) ?? DEFAULTS.logLevel;
  const packetBytes = pick('packet_bytes', undefined, parsePacketBytes) ?? DEFAULTS.packetBytes;
  const encryptVerifyIncoming = pick('encrypt_verify_incoming', undefined, parseBool) ?? DEFAULTS.encryptVerifyIncoming;
  const encryptVerifyOutgoing = pick('encrypt_verify_outgoing', undefined, parseBool) ?? DEFAULTS.encryptVerifyOutgoing;
  const services = pick('services', undefined, parseConfigServices) ?? [];
  const dnsAddr = pick('dns_addr', flags.dnsAddr, parseDnsAddr) ?? null;
  const dnsDomain = pick('dns_domain', flags.dnsDomain, parseDnsDomain) ?? DEFAULTS.dnsDomain;
  const dnsTtl = pick('dns_ttl', flags.dnsTtl, parseDnsTtl) ?? DEFAULTS.dnsTtl;

  const httpAddr = pick('http_addr', flags.httpAddr, parseHttpAddr) ?? null;

  return { configFile, name, bind, advertise, join, socket, dataDir, profile, cluster, encryptKeyFile, logLevel, packetBytes,
    encryptVerifyIncoming, encryptVerifyOutgoing, services, dnsAddr, dnsDomain, dnsTtl, httpAddr };
}

function labelled<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof Invalid) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

/** Reads and shape-checks the file; field values are checked by resolveConfig. */
function readConfigFile(path: string): Record<string, unknown> {
  const fail = (reason: string): never => {
    throw new ConfigError(`config ${path}: ${reason}`);
  };
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > DAEMON_LIMITS.configFileBytesMax) {
      fail(`file is ${buf.length} bytes, larger than the ${DAEMON_LIMITS.configFileBytesMax}-byte limit`);
    }
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    return fail(err.code === undefined ? `cannot read: ${err.message}` : `cannot read: ${err.code}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return fail(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('expected a JSON object at the top level');
  }
  const obj = parsed as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) {
      const hint = suggest(key);
      fail(`field ${JSON.stringify(key)}: unknown field${hint === null ? '' : ` (did you mean "${hint}"?)`}; known fields: ${CONFIG_FIELDS.join(', ')}`);
    }
  }
  return obj;
}

/** "dataDir", "data-dir" and "DATA_DIR" all mean data_dir. */
function suggest(key: string): ConfigField | null {
  const norm = (s: string): string => s.replace(/[-_]/g, '').toLowerCase();
  return CONFIG_FIELDS.find((f) => norm(f) === norm(key)) ?? null;
}

/** One field whose value differs between two configs, shown as text for the log. */
export interface ConfigChange {
  readonly field: ConfigField;
  readonly from: string;
  readonly to: string;
}

/** Splits the differences between two configs into those SIGHUP applies and those needing a restart. */
export function diffConfig(before: AgentConfig, after: AgentConfig): { reloadable: ConfigChange[]; restartRequired: ConfigChange[] } {
  const reloadable: ConfigChange[] = [];
  const restartRequired: ConfigChange[] = [];
  const a = displayFields(before);
  const b = displayFields(after);
  for (const field of CONFIG_FIELDS) {
    if (a[field] === b[field]) continue;
    const change = { field, from: a[field], to: b[field] };
    (RELOADABLE_FIELDS.includes(field) ? reloadable : restartRequired).push(change);
  }
  return { reloadable, restartRequired };
}

function displayFields(c: AgentConfig): Record<ConfigField, string> {
  return {
    name: c.name,
    bind: addressKey(c.bind),
    advertise: c.advertise === null ? '(auto)' : c.advertise.port === null ? c.advertise.host : addressKey({ host: c.advertise.host, port: c.advertise.port }),
    join: c.join.join(','),
    socket: c.socket,
    data_dir: c.dataDir,
    profile: c.profile,
    cluster: c.cluster,
    encrypt_key_file: c.encryptKeyFile ?? '(none)',
    encrypt_verify_incoming: String(c.encryptVerifyIncoming),
    encrypt_verify_outgoing: String(c.encryptVerifyOutgoing),
    log_level: c.logLevel,
    packet_bytes: String(c.packetBytes),
    services: describeConfigServices(c.services),
    dns_addr: c.dnsAddr === null ? '(off)' : addressKey(c.dnsAddr),
    dns_domain: c.dnsDomain,
    dns_ttl: String(c.dnsTtl),
    http_addr: c.httpAddr === null ? '(off)' : addressKey(c.httpAddr),
  };
}
