import type { NameConflict } from '../protocol/effects.js';
import { Agent } from './agent.js';
import { type AgentConfig, type AgentFlags, ConfigError, diffConfig, resolveConfig } from './config/config.js';
import { DAEMON_LIMITS } from './limits.js';
import { Logger } from './log.js';
import { describe } from './net/net-util.js';
import { SeedJoiner } from './net/seed-joiner.js';

/**
 * `swimd agent`: the process around an Agent — config, seeds, signals, exit code.
 *
 * Exit codes: 0 after a graceful stop (SIGTERM, SIGINT, POST /v1/leave); 1 when start-up fails;
 * 2 for an invalid configuration; 3 when, while joining, another live agent turned out to use this
 * agent's name (EXIT_NAME_CONFLICT: a restart cannot fix it either). If the graceful leave has not finished within
 * DAEMON_LIMITS.shutdownDeadlineMs the process exits (status 0) anyway.
 */

export type { AgentFlags } from './config/config.js';

/** Exit status when another live agent already uses this agent's name (see swimd.service). */
export const EXIT_NAME_CONFLICT = 3;

export async function runAgent(flags: AgentFlags): Promise<number> {
  let config: AgentConfig;
  try {
    config = resolveConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`swimd: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // A closed log pipe must not crash the agent (EPIPE is emitted as an 'error' event).
  process.stderr.on('error', () => undefined);
  const log = new Logger(config.logLevel);

  let agent: Agent | null = null;
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  let shuttingDown = false;
  const shutdown = (reason: string): void => {
    if (shuttingDown || agent === null) return;
    shuttingDown = true;
    log.info('shutting down', { reason });
    // unref: a clean shutdown must not wait for this timer, but a hung one is cut short by it.
    const hard = setTimeout(() => {
      log.warn('graceful leave did not finish in time; exiting', { deadline_ms: DAEMON_LIMITS.shutdownDeadlineMs });
      process.exit(0);
    }, DAEMON_LIMITS.shutdownDeadlineMs);
    hard.unref();
    agent.leave().then(
      () => exit(0),
      (err: unknown) => {
        log.error('error during leave', { err });
        exit(0);
      },
    ).finally(() => clearTimeout(hard));
  };

  let conflict: NameConflict | null = null;
  const stopForConflict = (): void => {
    if (conflict === null || agent === null || shuttingDown) return;
    shuttingDown = true;
    const c = conflict;
    const what = c.phase === 'join' ? 'this agent did not join' : 'this agent started after it and stops';
    process.stderr.write(`swimd: another live agent at ${describe(c.other)} already uses the name ${JSON.stringify(c.name)}; ` +
      `${what}. Give it another name (--name or "name" in the config; cloned hosts keep the host name).\n`);
    // No leave: a leave under this name would speak for the other agent.
    agent.stop().then(() => exit(EXIT_NAME_CONFLICT), () => exit(EXIT_NAME_CONFLICT));
  };

  try {
    agent = await Agent.start(config, log, {
      onLeaveRequested: () => shutdown('leave requested over the API'),
      onNameConflict: (c) => {
        conflict ??= c;
        stopForConflict();
      },
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`swimd: ${e.message}\n`);
      return 2;
    }
    log.error('cannot start the agent', { err: e });
    return 1;
  }

  // A conflict found while start-up was still finishing.
  stopForConflict();
  const seeds = new SeedJoiner(agent, log);
  // The members known before a restart too: the configured seeds may be gone, or this agent may be
  // the others' only seed (after its leave they would not come back to it soon).
  const known = agent.lastKnownMembers.filter((m) => !config.join.includes(m));
  if (known.length > 0) log.info('rejoining through the members known before the restart', { members: known });
  seeds.add([...config.join, ...known]);

  const onTerm = (): void => shutdown('SIGTERM');
  const onInt = (): void => shutdown('SIGINT');
  const onHup = (): void => {
    const next = reload(flags, config, log);
    if (next === null) return;
    const added = next.join.filter((s) => !config.join.includes(s));
    config = next;
    seeds.add(added);
    agent?.reloadServices(next.services);
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);

  const code = await exited;
  seeds.stop();
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  process.off('SIGHUP', onHup);
  return code;
}

/**
 * SIGHUP: re-reads the file and applies the reloadable fields. Returns the config now in effect
 * (the running one with the reloadable fields replaced), or null when the new file is invalid.
 */
function reload(flags: AgentFlags, current: AgentConfig, log: Logger): AgentConfig | null {
  let next: AgentConfig;
  try {
    next = resolveConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error('config reload failed; keeping the running configuration', { error: e.message });
      return null;
    }
    throw e;
  }
  const { reloadable, restartRequired } = diffConfig(current, next);
  for (const c of restartRequired) log.warn('config change needs a restart; not applied', { ...c });
  if (next.logLevel !== current.logLevel) log.setLevel(next.logLevel);
  for (const c of reloadable) log.info('config change applied', { ...c });
  if (reloadable.length === 0 && restartRequired.length === 0) log.info('config reloaded; nothing changed');
  return { ...current, logLevel: next.logLevel, join: next.join, services: next.services };
}
