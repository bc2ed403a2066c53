import { STATUS_BY_CODE } from '../../protocol/messages.js';
import { Invalid, parseSeed } from '../config/config-fields.js';
import { DAEMON_LIMITS } from '../limits.js';
import type { AgentApi } from './agent-api.js';
import { apiError, isObject, json, unknownFields } from './http-util.js';
import type { Reply, Route } from './router.js';
import { memberJson } from './shapes.js';

/** Membership and agent-level endpoints: members, info, join, leave, metrics. */

export function coreRoutes(agent: AgentApi): Route[] {
  return [
    { method: 'GET', pattern: '/v1/members', body: 'none', query: ['status'], handle: (ctx) => members(agent, ctx.query) },
    { method: 'GET', pattern: '/v1/info', body: 'none', handle: () => json(200, agent.info()) },
    { method: 'POST', pattern: '/v1/join', body: 'json', handle: (ctx) => join(agent, ctx.body) },
    {
      method: 'POST', pattern: '/v1/leave', body: 'none',
      // Answer first: the agent's exit closes this very socket.
      handle: () => ({ kind: 'json', status: 200, body: { left: true }, afterSent: () => agent.requestLeave() }),
    },
    {
      method: 'GET', pattern: '/v1/metrics', body: 'none',
      handle: () => ({ kind: 'text', status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: agent.metricsText() }),
    },
  ];
}

function members(agent: AgentApi, query: URLSearchParams): Reply {
  const wanted = query.getAll('status');
  for (const s of wanted) {
    if (!(STATUS_BY_CODE as readonly string[]).includes(s)) {
      return apiError(400, `status: expected one of ${STATUS_BY_CODE.join(', ')}, got ${JSON.stringify(s)}`);
    }
  }
  const list = agent.members()
    .filter((m) => wanted.length === 0 || wanted.includes(m.status))
    .map(memberJson)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return json(200, list);
}

async function join(agent: AgentApi, body: unknown): Promise<Reply> {
  if (!isObject(body)) return apiError(400, 'expected a JSON object {"addresses": ["host:port", ...]}');
  const extra = unknownFields(body, ['addresses']);
  if (extra.length > 0) return apiError(400, `unknown field ${JSON.stringify(extra[0])}; expected {"addresses": [...]}`);
  const addresses = body['addresses'];
  if (!Array.isArray(addresses) || addresses.length === 0) {
    return apiError(400, 'addresses: expected a non-empty array of "host:port" strings');
  }
  if (addresses.length > DAEMON_LIMITS.joinSeedsMax) {
    return apiError(400, `addresses: at most ${DAEMON_LIMITS.joinSeedsMax} per join, got ${addresses.length}`);
  }
  const seeds: string[] = [];
  for (const [i, a] of addresses.entries()) {
    try {
      seeds.push(parseSeed(a));
    } catch (e) {
      if (e instanceof Invalid) return apiError(400, `addresses[${i}]: ${e.message}`);
      throw e;
    }
  }
  const result = await agent.join(seeds);
  return json(200, { joined: result.joined, failed: result.failed });
}
