import type { AgentApi } from './agent-api.js';
import { coreRoutes } from './routes-core.js';
import type { Route } from './router.js';

/**
 * Every API route. To add endpoints, write a routes-<topic>.ts exporting a function that takes
 * what it needs (widen AgentApi, or pass its own dependency) and returns Route[], and list it here.
 */
export function buildRoutes(agent: AgentApi): Route[] {
  return [...coreRoutes(agent)];
}
