/**
 * The drill's split-based procedures, as a deploy tool would run them with `swimd split` (here its
 * API call, the same request the command makes, so the CLI's own start-up is not timed):
 *
 * - weighted (canary): `split app v1=100 --wait` before v2 exists, so v2 gets nothing when it turns
 *   passing; bring v2 up; `split app v1=90 v2=10 --wait`; hold; `split app v2=100 --wait`; retire v1.
 * - rollback: the same up to the held 90/10 split, then `split app v1=100 --wait`, timed from the
 *   call until the last new request reaches v2; v2 is left running, with no share.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostAgent } from './agents.js';
import { bringUp, type DrillContext, type Instance, mark, type MarkKind, retire, SERVICE, startInstance } from './steps.js';

/** The canary split the drill holds. */
export const SPLIT_PERCENT = { v1: 90, v2: 10 } as const;

const text = (w: Readonly<Record<string, number>>): string => Object.entries(w).map(([v, p]) => `${v}=${p}`).join(' ');

/** `swimd split app WEIGHTS --wait` through `via`'s agent, marked before and after. */
async function split(ctx: DrillContext, via: HostAgent, weights: Readonly<Record<string, number>>, before?: MarkKind, after?: MarkKind): Promise<void> {
  const t0 = before === undefined ? performance.now() : mark(ctx, before, text(weights));
  const r = await via.client.setSplit(SERVICE, weights, { wait: ctx.opts.waitMs });
  if (after !== undefined) mark(ctx, after);
  ctx.say(`  split ${SERVICE} ${text(weights)}: every member confirmed (${(performance.now() - t0).toFixed(1)} ms, ${r.wait?.confirmed ?? 0} others)`);
}

/** v2 up beside v1 with no share, then the 90/10 split held for `holdMs`. */
async function canary(ctx: DrillContext, host: HostAgent, holdMs: number): Promise<Instance> {
  await split(ctx, host, { v1: 100 });
  mark(ctx, 'v2_start');
  const v2 = await startInstance(ctx, host, 'v2', 1);
  await bringUp(ctx, v2);
  await split(ctx, host, SPLIT_PERCENT, 'split', 'split_set');
  ctx.say(`  holding ${text(SPLIT_PERCENT)} for ${holdMs} ms`);
  await sleep(holdMs);
  return v2;
}

export async function splitDeploy(ctx: DrillContext, v1: Instance, host: HostAgent, holdMs: number): Promise<Instance> {
  const v2 = await canary(ctx, host, holdMs);
  await split(ctx, host, { v2: 100 }, 'split_end');
  await retire(ctx, v1);
  return v2;
}

export async function rollbackDeploy(ctx: DrillContext, host: HostAgent, holdMs: number): Promise<Instance> {
  const v2 = await canary(ctx, host, holdMs);
  await split(ctx, host, { v1: 100 }, 'rollback', 'rolled_back');
  return v2;
}
