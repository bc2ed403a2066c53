import type { AgentApi } from './api/agent-api.js';
import { coreRoutes } from './api/routes-core.js';
import { keyringRoutes } from './api/routes-keyring.js';
import { serviceRoutes } from './api/routes-services.js';
import { splitRoutes } from './api/routes-splits.js';
import type { SplitsApi } from './services/local-splits.js';
import type { Route } from './api/router.js';
import type { RoutingState } from './api/shapes.js';
import type { Logger } from './log.js';
import type { ServicesApi } from './services/local-services.js';
import type { EventLog } from './watch/event-log.js';
import { watchRoutes } from './watch/routes-watch.js';

/**
 * Every API route. To add endpoints, write an api/routes-<topic>.ts exporting a function that takes
 * what it needs (widen AgentApi, or pass its own dependency) and returns Route[], and list it here.
 * The list lives above api/ and watch/ so that the watch route can use the API's router and the API
 * needs nothing of the watch code.
 */
export function buildRoutes(agent: AgentApi, watch: EventLog, log?: Logger, services?: ServicesApi, routing?: RoutingState, splits?: SplitsApi): Route[] {
  return [
    ...coreRoutes(agent), ...watchRoutes(watch, log), ...keyringRoutes(agent), ...(services === undefined ? [] : serviceRoutes(services, routing)),
    ...(splits === undefined || routing === undefined ? [] : splitRoutes(splits, routing)),
  ];
}
