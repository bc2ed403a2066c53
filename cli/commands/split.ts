/**
 * `swimd split SERVICE [VERSION=PERCENT...] [--wait [D]] [--clear]`: show, set or clear a service's
 * traffic split. The split is held by every agent; it can be set from any of them.
 */
import type { Command } from 'commander';
import { isClientError, type SplitDetailJson } from '../../client/index.js';
import { LIMITS } from '../../protocol/limits.js';
import { type Ctx, printJson } from '../context.js';
import { addClientOptions, type ClientFlags } from '../options.js';
import { formatTable, sanitizeCell } from '../table.js';
import { reportMutation, WAIT_HELP, waitOf, waitOption } from '../wait.js';
import { formatSplitWeights } from '../watch-format.js';

interface SplitFlags extends ClientFlags {
  readonly wait?: string | true;
  readonly clear?: boolean;
}

/** A usage error: exit status 2 with this message. */
class SplitUsage extends Error {}

/** VERSION=PERCENT arguments as a split; throws SplitUsage naming what is wrong. */
export function parseAssignments(args: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of args) {
    const eq = a.lastIndexOf('=');
    if (eq <= 0) throw new SplitUsage(`${JSON.stringify(a)}: expected VERSION=PERCENT, e.g. v2=10`);
    const version = a.slice(0, eq);
    const text = a.slice(eq + 1);
    if (Buffer.byteLength(version, 'utf8') > LIMITS.splitVersionBytesMax) throw new SplitUsage(`version label ${JSON.stringify(version.slice(0, 80))}: longer than ${LIMITS.splitVersionBytesMax} bytes`);
    if (!/^\d+$/.test(text) || Number(text) > 100) throw new SplitUsage(`${JSON.stringify(a)}: the percentage must be a whole number from 0 to 100`);
    if (Object.hasOwn(out, version)) throw new SplitUsage(`version ${JSON.stringify(version)} is given twice`);
    out[version] = Number(text);
  }
  const n = Object.keys(out).length;
  if (n > LIMITS.splitVersionsMax) throw new SplitUsage(`${n} versions; a split names at most ${LIMITS.splitVersionsMax}`);
  const total = Object.values(out).reduce((s, p) => s + p, 0);
  if (total !== 100) throw new SplitUsage(`the percentages sum to ${total}, not 100`);
  return out;
}

export function formatSplitDetail(d: SplitDetailJson): string {
  const head = d.split === null
    ? `${sanitizeCell(d.service)}: no split; each instance gets its own weight\n`
    : `${sanitizeCell(d.service)}: ${sanitizeCell(formatSplitWeights(d.split.weights))} (set by ${sanitizeCell(d.split.writer)} at ${new Date(d.split.hlc.wall_ms).toISOString()})\n`;
  const table = d.versions.length === 0 ? '' : formatTable(
    ['VERSION', { header: 'PERCENT', align: 'right' }, { header: 'ROUTABLE', align: 'right' }, { header: 'INSTANCES', align: 'right' }, { header: 'EFFECTIVE', align: 'right' }],
    d.versions.map((v) => [
      v.version === '' ? '-' : v.version, v.percent === null ? '-' : String(v.percent), String(v.routable), String(v.instances.length),
      String(Math.round(v.effective_weight * 100) / 100),
    ]),
  );
  const warnings = d.unserved.map((v) => {
    const p = d.split?.weights[v] ?? 0;
    return `warning: version ${sanitizeCell(v)} has ${p}% of the traffic but no routable instance: that share goes unused\n`;
  });
  return head + table + warnings.join('');
}

export function registerSplit(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('split')
    .description('show, set or clear the traffic split of a service between its versions')
    .argument('<SERVICE>', 'service name')
    .argument('[VERSION=PERCENT...]', 'the new split: whole percentages summing to 100; versions not named get none')
    .option('--clear', 'remove the split: every instance gets its own weight again')
    .addOption(waitOption());
  addClientOptions(cmd)
    .addHelpText('after', `
Each routable instance of a version gets the version's percentage, divided among
the version's routable instances in proportion to their own weights. A version
named with no routable instance leaves its share unused (shown as a warning).
Concurrent writes from several hosts settle on the same split everywhere.
${WAIT_HELP}

Examples:
  $ swimd split app v1=90 v2=10 --wait
  $ swimd split app v1=100 --wait        # roll back
  $ swimd split app
  $ swimd split app --clear`)
    .action(async function (this: Command, service: string, assignments: string[], flags: SplitFlags) {
      try {
        await run(ctx, service, assignments, flags);
      } catch (e) {
        // Bad input, whether the CLI or the agent found it, is a usage error: nothing was changed.
        if (e instanceof SplitUsage) this.error(`error: ${e.message}`, { exitCode: 2 });
        if (isClientError(e) && e.code === 'http' && [400, 404, 409].includes(e.status ?? 0)) this.error(`error: ${e.message}`, { exitCode: 2 });
        throw e;
      }
    });
}

async function run(ctx: Ctx, service: string, assignments: readonly string[], flags: SplitFlags): Promise<void> {
  const client = ctx.client(flags.socket);
  if (flags.clear === true) {
    if (assignments.length > 0) throw new SplitUsage('--clear takes no VERSION=PERCENT');
    await reportMutation(ctx, flags, `cleared the split of ${service}`, () => client.clearSplit(service, waitOf(flags)));
    return;
  }
  if (assignments.length === 0) {
    if (flags.wait !== undefined) throw new SplitUsage('--wait goes with a change: give VERSION=PERCENT or --clear');
    const detail = await client.splitDetail(service);
    if (flags.json === true) printJson(ctx.io, detail);
    else ctx.io.out(formatSplitDetail(detail));
    return;
  }
  const weights = parseAssignments(assignments);
  await reportMutation(ctx, flags, `split ${service}: ${formatSplitWeights(weights)}`, () => client.setSplit(service, weights, waitOf(flags)));
}
