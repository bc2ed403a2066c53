import { LIMITS } from '../../protocol/limits.js';
import type { AgentConfig } from '../config/config.js';
import { readKeyFile, KeyringStore } from './keyring-store.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SecureChannel } from './channel.js';

/**
 * Turns the config's cluster and encryption settings into the running pieces: the keyring (if
 * encryption is on), the channel every packet and stream passes through, and the packet sizes
 * that leave room for what the channel adds.
 */

export type EncryptionMode = 'off' | 'on' | 'transition';

export interface Security {
  readonly channel: SecureChannel;
  readonly keyring: KeyringStore | null;
  readonly mode: EncryptionMode;
  /** Datagram budget of the core: packet_bytes less what the channel adds, so wrapped packets fit. */
  readonly corePacketBytes: number;
  /** Largest datagram accepted: what a peer with the same settings can send (at least packet_bytes). */
  readonly receiveBytes: number;
}

export interface SecurityDeps {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: () => number;
}

/** Reads the key file and the persisted keyring; throws ConfigError for a bad key file. */
export async function openSecurity(config: AgentConfig, deps: SecurityDeps): Promise<Security> {
  const { log } = deps;
  let keyring: KeyringStore | null = null;
  if (config.encryptKeyFile === null) {
    if (!config.encryptVerifyIncoming || !config.encryptVerifyOutgoing) {
      log.warn('encrypt_verify_incoming/encrypt_verify_outgoing have no effect without encrypt_key_file');
    }
  } else {
    const seed = readKeyFile(config.encryptKeyFile, log);
    keyring = await KeyringStore.open(config.dataDir, seed, log);
  }
  const mode: EncryptionMode = keyring === null ? 'off'
    : config.encryptVerifyIncoming && config.encryptVerifyOutgoing ? 'on' : 'transition';
  if (mode === 'transition') {
    log.warn('encryption transition mode: unencrypted gossip is accepted or sent; set encrypt_verify_incoming and encrypt_verify_outgoing back to true once every agent has the key', {
      verify_incoming: config.encryptVerifyIncoming, verify_outgoing: config.encryptVerifyOutgoing,
    });
  }
  const channel = new SecureChannel({
    cluster: config.cluster,
    keyring,
    verifyIncoming: config.encryptVerifyIncoming,
    verifyOutgoing: config.encryptVerifyOutgoing,
    metrics: deps.metrics,
    log,
    clock: deps.clock,
  });
  const corePacketBytes = Math.max(LIMITS.packetBytesMin, config.packetBytes - channel.overhead);
  return { channel, keyring, mode, corePacketBytes, receiveBytes: corePacketBytes + channel.overhead };
}
