import type { AgentFlags } from './config/config.js';

/**
 * The daemon as the command line sees it: `swimd agent`'s flags (their defaults and validators, the
 * ones the agent itself applies) and runAgent. runAgent loads the rest of the daemon only when called,
 * so that the client commands start without it.
 */
export { CONFIG_FIELDS, DEFAULTS, type AgentFlags } from './config/config.js';
export { parseAdvertise, parseBind } from './config/config-fields.js';
export { parseHttpAddr } from './config/config-fields.js';
export { LOG_LEVELS } from './log.js';

/** Runs the agent in the foreground until it stops; resolves to the process's exit status. */
export async function runAgent(flags: AgentFlags): Promise<number> {
  const run = await import('./run.js');
  return run.runAgent(flags);
}
