import type { MemberView } from '../../protocol/effects.js';
import type { JoinResult, KeyringKey } from '../../client/contract/json.js';

/**
 * What the API routes need from the running agent. Routes depend on this interface, not on the
 * Agent class, so they can be tested against a fake and new routes extend it as they need more.
 */
export interface AgentApi {
  members(): readonly MemberView[];
  info(): AgentInfo;
  /** Joins through the given seeds ("host:port"); resolves once they answered or the wait ran out. */
  join(seeds: readonly string[]): Promise<JoinResult>;
  /** Starts a graceful leave followed by process exit, as SIGTERM does. Returns at once. */
  requestLeave(): void;
  /** Prometheus text exposition. */
  metricsText(): string;
  /** The gossip keyring; null (or absent) when encryption is off. */
  keyring?(): KeyringControl | null;
}

/**
 * The keyring operations behind /v1/keyring. Mutations are persisted before they take effect and
 * reject with a KeyringError (bad key, not installed, primary, full) when refused.
 */
export interface KeyringControl {
  list(): readonly KeyringKey[];
  install(key: string): Promise<readonly KeyringKey[]>;
  use(key: string): Promise<readonly KeyringKey[]>;
  remove(key: string): Promise<readonly KeyringKey[]>;
}

/** GET /v1/info. Fields may be added, never renamed. */
export interface AgentInfo {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Known members, every status, including this node. */
  readonly members: number;
  /** Members currently alive, including this node. */
  readonly alive: number;
  readonly profile: string;
  readonly cluster: string;
  readonly version: string;
  readonly incarnation: number;
  readonly local_health: number;
  readonly uptime_s: number;
}
