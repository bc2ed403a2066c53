/**
 * The proxy a deploy drill sends its load through, as the drill sees it: the built-in proxy
 * (proxy.ts, fed by the watch stream in-process) or a real HAProxy fed by the companion
 * (haproxy-proxy.ts). The runs, the steps and the analysis only use this.
 */
export type ProxyKind = 'builtin' | 'haproxy' | 'haproxy-dns';
export const PROXY_KINDS: readonly ProxyKind[] = ['builtin', 'haproxy', 'haproxy-dns'];

export interface DrillProxyOptions {
  /** The local agent's socket. */
  readonly socketPath: string;
  readonly service: string;
  readonly host: string;
  /** Keep a client on what it was first sent to (the built-in proxy: the version; HAProxy: the server). */
  readonly sticky: boolean;
  /** The agent's DNS port on 127.0.0.1 (haproxy-dns only). */
  readonly dnsPort?: number;
}

export interface DrillProxy {
  readonly kind: ProxyKind;
  readonly url: string;
  /**
   * True when a client pinned to an instance keeps being sent there while it drains (HAProxy's
   * persistence cookies: `drain` ends new sessions, not pinned ones). Such an instance only stops
   * getting requests once it leaves the catalog, so the deploy removes it before waiting for it
   * to be idle and stopping it.
   */
  readonly pinsThroughDrain: boolean;
  /** Resolves once the proxy sends new requests to instance `key` (`node/id`). */
  waitRoutable(key: string, timeoutMs: number): Promise<void>;
  /**
   * Resolves once the proxy knows `key` is draining (or gone) and has no request to it in flight:
   * the old instance may stop without cutting anyone off.
   */
  waitIdle(key: string, timeoutMs: number): Promise<void>;
  /** When the proxy started sending new requests to `key` (performance.now()), or null. */
  firstRoutableAt(key: string): number | null;
  /** When the proxy stopped sending new requests to `key` because it drains, or null. */
  firstDrainingAt(key: string): number | null;
  /**
   * The first time at or after `at` (performance.now()) the proxy changed how it routes (a
   * backend's weight or state), or null: when a split (e.g. a rollback) reached the traffic.
   */
  firstRoutingChangeAfter(at: number): number | null;
  /** Problems worth printing with the run (lost watch stream, refused commands). */
  problems(): string[];
  close(): Promise<void>;
}
