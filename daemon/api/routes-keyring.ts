import { KeyringError, type KeyringErrorCode } from '../../client/contract/key.js';
import type { KeyringKey } from '../../client/contract/json.js';
import type { AgentApi, KeyringControl } from './agent-api.js';
import { apiError, isObject, json, unknownFields } from './http-util.js';
import type { Reply, Route } from './router.js';

/**
 * The gossip keyring of this agent: GET /v1/keyring, POST /v1/keyring/install|use|remove with
 * {"key": "<base64>"}. Each acts on the local agent only; a rotation runs each step on every agent
 * (daemon/SECURITY.md). Answers are {"keys": [{"fingerprint", "primary"}]}: never the keys themselves,
 * which anyone in the socket's group could otherwise read.
 */

const STATUS_OF: Readonly<Record<KeyringErrorCode, number>> = {
  bad_key: 400,
  not_installed: 404,
  primary: 409,
  full: 409,
};

type Op = 'install' | 'use' | 'remove';

export function keyringRoutes(agent: AgentApi): Route[] {
  const ops: Op[] = ['install', 'use', 'remove'];
  return [
    { method: 'GET', pattern: '/v1/keyring', body: 'none', handle: () => withKeyring(agent, (k) => answer(k.list())) },
    ...ops.map((op): Route => ({
      method: 'POST', pattern: `/v1/keyring/${op}`, body: 'json',
      handle: (ctx) => withKeyring(agent, (k) => change(k, op, ctx.body)),
    })),
  ];
}

function answer(keys: readonly KeyringKey[]): Reply {
  return json(200, { keys });
}

function withKeyring(agent: AgentApi, f: (k: KeyringControl) => Reply | Promise<Reply>): Reply | Promise<Reply> {
  const k = agent.keyring?.() ?? null;
  if (k === null) return apiError(409, 'encryption is not enabled on this agent; start it with --encrypt-key-file (or encrypt_key_file in the config)');
  return f(k);
}

async function change(k: KeyringControl, op: Op, body: unknown): Promise<Reply> {
  if (!isObject(body)) return apiError(400, 'expected a JSON object {"key": "<base64 key>"}');
  const extra = unknownFields(body, ['key']);
  if (extra.length > 0) return apiError(400, `unknown field ${JSON.stringify(extra[0])}; expected {"key": "<base64 key>"}`);
  const key = body['key'];
  if (typeof key !== 'string') return apiError(400, 'key: expected a string (base64 of 32 bytes, as printed by `swimd keygen`)');
  try {
    return answer(await k[op](key));
  } catch (e) {
    if (e instanceof KeyringError) return apiError(STATUS_OF[e.code], e.message);
    // Anything else is the keyring file failing to persist; the keyring was left unchanged.
    return apiError(500, `keyring unchanged: cannot persist it: ${(e as Error).message}`);
  }
}
