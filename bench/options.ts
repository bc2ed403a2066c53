/**
 * `npm run bench -- [options]`: parsing and validation. A bad option stops the bench before anything
 * starts, with the option and the reason.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { LIMITS } from '../protocol/limits.js';
import { isProfileName, PROFILES, type Profile } from '../protocol/profiles.js';
import { loadMatrix, MatrixError, type RegionMatrix } from './regions/matrix.js';
import { DEFAULT_SCENARIOS, isScenarioName, SCENARIOS, type ScenarioName } from './result.js';

export type Mode = 'real' | 'sim' | 'dissemination-only';
export type SimStart = 'join' | 'converged';

export interface BenchOptions {
  readonly mode: Mode;
  readonly nodes: number;
  /** In run order; starts with join, unless a simulation starts converged. */
  readonly scenarios: readonly ScenarioName[];
  readonly steadyS: number;
  /** Wait before the steady period, counted from the start of the nodes; null: the default (steady.ts). */
  readonly warmupS: number | null;
  readonly lossPct: number;
  /** The loss applies from the start (join and every timed change), not only in the steady period. */
  readonly lossAll: boolean;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly joinSpreadMs: number;
  /** Sim: how the cluster forms — a real join, or every node starting with every member alive. */
  readonly simStart: SimStart;
  readonly runs: number;
  readonly seed: number;
  readonly workers: number;
  /** Real mode: the seed shares a worker process with other agents (the layout before 2026-12-01). */
  readonly sharedSeed: boolean;
  readonly profile: Profile['name'];
  readonly json: string | null;
  readonly svg: string | null;
  /** Real mode: CPU profiles of the workers during each timed scenario go here. */
  readonly cpuProfDir: string | null;
  /** Sim, dead_during_burst: service registrations made across the cluster at once. */
  readonly burst: number;
  /** Sim: nodes spread evenly over these regions, latencies from the matrix; null: one latency for all. */
  readonly regions: RegionMatrix | null;
  /**
   * Sim: virtual seconds the cluster runs before the timed changes, so that its probes have
   * measured round trips (dissemination picks near relays from them), as in a fleet that has run a while.
   */
  readonly probeWarmupS: number;
  /** Sim and dissemination-only: catalog updates go down the update tree, the queue repeats digests (profile field updateTree). */
  readonly updateTree: boolean;
  /** Sim with --regions: extra loss on every datagram a node of one region sends or receives. */
  readonly regionLoss: RegionLoss | null;
  /** Sim, scenario region_cut: the region cut off from the rest, and for how long. */
  readonly cutRegion: number;
  readonly cutS: number;
}

export interface RegionLoss {
  /** Index in the matrix. */
  readonly region: number;
  readonly lossPct: number;
}

/**
 * --probe-warmup when not given: with regions and anything that learns from measured round trips
 * (the update tree picks near relays, adaptive probe timeouts), long enough for about 200 probes
 * per node, as in a fleet that has run a while; otherwise 0.
 */
export function probeWarmupDefaultS(regions: boolean, profile: Profile): number {
  return regions && (profile.updateTree || profile.rto !== null) ? Math.round((200 * profile.probeIntervalMs) / 1000) : 0;
}

/** The profile the simulated nodes run: the named one, with the update tree as --update-tree / --flooding say. */
/** Real mode: the worker processes the agents share (the seed's own process, unless --shared-seed, comes on top). */
export function sharedWorkers(o: Pick<BenchOptions, 'workers' | 'nodes' | 'sharedSeed'>): number {
  return Math.max(1, Math.min(o.workers, o.sharedSeed ? o.nodes : o.nodes - 1));
}

export function benchProfile(o: Pick<BenchOptions, 'profile' | 'updateTree'>): Profile {
  return { ...PROFILES[o.profile], updateTree: o.updateTree };
}

/** The update tree unless --flooding; --update-tree forces it on whatever the profile says. */
function updateTreeOption(profile: Profile['name'], flooding: boolean, tree: boolean): boolean {
  if (flooding && tree) throw new UsageError('--flooding and --update-tree contradict each other');
  return flooding ? false : tree || PROFILES[profile].updateTree;
}

/** Jitter added to each region pair's one-way latency when --jitter-ms is not given, ms. */
export const REGION_JITTER_DEFAULT_MS = 2;

export class UsageError extends Error {}

/**
 * Runs a command-line parser: options, or an exit code once --help was printed (0) or a usage
 * error was reported with the usage text (2).
 */
export function parseCommandLine<T>(parse: () => T | 'help', usage: string): T | number {
  let parsed: T | 'help';
  try {
    parsed = parse();
  } catch (e) {
    // node:util parseArgs reports an unknown or malformed option as a TypeError with an ERR_PARSE_ARGS_* code.
    const parseArgsError = e instanceof TypeError && String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS');
    if (!(e instanceof UsageError) && !parseArgsError) throw e;
    process.stderr.write(`bench: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (parsed !== 'help') return parsed;
  process.stdout.write(usage);
  return 0;
}

export const USAGE = `npm run bench -- [options]

Real agents on loopback (default), or the simulator driving the same protocol code.

  --nodes N               agents / simulated nodes (default 200 real, 5000 sim, 1000000 dissemination-only)
  --scenario NAME         ${SCENARIOS.join(', ')}; repeatable or comma-separated
                          (default: ${DEFAULT_SCENARIOS.join(', ')}; join always runs)
  --steady SECONDS        steady period in which false deaths and traffic are counted (default 30)
  --loss PCT              datagram loss during the steady period, percent (default 0)
  --loss-all              apply --loss from the start: the join and every timed change run under it
  --warmup SECONDS        the steady period starts no sooner than this after the nodes started
                          (default: once every node's first push-pull is past, 46 s on lan)
  --join-spread-ms MS     spread the joins over this long (default 0: all at once; with
                          --sim-start join above 2,000 nodes, 12 ms per node: thousands of
                          simultaneous joins make every node queue every member at once, which
                          takes more memory than the members themselves — about 14 GB at 5,000)
  --runs K                repeat K times; figures are medians, with min/max spread (default 1)
  --profile NAME          lan, wan or local (default lan)
  --workers W             real mode: worker processes the agents share (default one per core, at
                          most 2); the seed has one of its own
  --shared-seed           real mode: the seed shares a worker process with other agents instead
  --sim                   run on the deterministic simulator
  --dissemination-only    with --sim: one update spreading through the dissemination code alone
  --sim-start HOW         sim: join (every node joins through the first, timed) or converged
                          (every node starts knowing every member alive; join not measured).
                          Default: join up to 2,000 nodes, converged above: a join of n nodes
                          delivers about n² × fanout datagrams (5,000 nodes: over an hour)
  --latency-ms MS         sim: one-way latency (default 1)
  --jitter-ms MS          sim: latency is uniform in latency ± jitter (default latency / 2)
  --regions NAME|FILE     sim: nodes spread evenly over the regions of a measured latency matrix
                          (one-way latency = round trip / 2 + jitter in [0, --jitter-ms), default
                          jitter ${REGION_JITTER_DEFAULT_MS} ms); NAME: a matrix shipped in bench/regions (aws: 32 AWS
                          regions; ibm: 10 IBM Cloud regions), FILE: JSON {"regions": [...],
                          "rtt_ms": [[...], ...]}, symmetric round trips in ms
  --probe-warmup SECONDS  sim: run this long before the timed changes, so that probes have
                          measured round trips to other nodes, as in a fleet that has run a
                          while (default: with --regions, 200 probe intervals — 60 s on lan,
                          600 s on wan; otherwise 0)
  --flooding              sim and --dissemination-only: fresh catalog updates are flooded on
                          first receipt to ceil(ln n) + 2 members and the queue repeats the
                          whole entry, as before the update tree (profile field updateTree
                          off; every shipped profile has it on)
  --update-tree           the update tree even on a profile that has it off (the default)
  --region-loss NAME:PCT  sim with --regions: every datagram a node of region NAME sends or
                          receives is also lost with PCT% (on top of --loss, and when --loss is
                          in force: the steady period, or throughout with --loss-all)
  --cut-region NAME       sim with --regions, scenario region_cut: the region cut off from every
                          other (default: the matrix's first region)
  --cut-s SECONDS         scenario region_cut: how long the cut lasts (default 60); then the
                          time until every node lists every member alive again is measured
  --seed N                sim: seed (default 1; run k uses seed + k - 1)
  --burst N               sim, scenario dead_during_burst: N service registrations spread over
                          the nodes at once, then a node crashes; times its death reaching
                          every node while the registrations spread (default 2000)
  --json FILE             write every figure as one JSON object
  --svg FILE              write a chart: fraction of nodes holding each change against time
  --cpu-prof-dir DIR      real mode: CPU profile of each worker during each timed scenario
                          (DIR/<scenario>-w<k>.cpuprofile, for Chrome DevTools)
  --help

The deploy drill has its own options: npm run bench -- --scenario deploy --help
The DNS bench has its own options: npm run bench -- --scenario dns --help
The Consul API bench has its own options: npm run bench -- --scenario consul --runs 200 --polls 4000
The HAProxy companion bench: npm run bench -- --scenario haproxy [--json FILE]
`;

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string' }, scenario: { type: 'string', multiple: true }, steady: { type: 'string' },
        loss: { type: 'string' }, 'loss-all': { type: 'boolean' }, warmup: { type: 'string' }, 'join-spread-ms': { type: 'string' }, runs: { type: 'string' },
        profile: { type: 'string' }, workers: { type: 'string' }, 'shared-seed': { type: 'boolean' }, sim: { type: 'boolean' },
        'dissemination-only': { type: 'boolean' }, 'latency-ms': { type: 'string' }, 'jitter-ms': { type: 'string' },
        'sim-start': { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, svg: { type: 'string' }, 'cpu-prof-dir': { type: 'string' },
        burst: { type: 'string' }, regions: { type: 'string' }, 'region-loss': { type: 'string' },
        'cut-region': { type: 'string' }, 'cut-s': { type: 'string' }, 'probe-warmup': { type: 'string' },
        'update-tree': { type: 'boolean' }, flooding: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v['dissemination-only'] === true && v.sim !== true) throw new UsageError('--dissemination-only needs --sim');
  const mode: Mode = v.sim === true ? (v['dissemination-only'] === true ? 'dissemination-only' : 'sim') : 'real';
  if (mode === 'real') {
    for (const k of ['latency-ms', 'jitter-ms', 'seed', 'sim-start', 'burst', 'regions', 'region-loss', 'cut-region', 'cut-s', 'probe-warmup', 'update-tree', 'flooding'] as const) {
      if (v[k] !== undefined) throw new UsageError(`--${k} applies to --sim only (real agents use loopback)`);
    }
  } else {
    for (const k of ['workers', 'cpu-prof-dir', 'shared-seed'] as const) {
      if (v[k] !== undefined) throw new UsageError(`--${k} applies to real mode only (the simulator runs in one process: use node --cpu-prof)`);
    }
  }
  if (v['loss-all'] === true && (v.loss === undefined || Number(v.loss) === 0)) throw new UsageError('--loss-all needs --loss PCT above 0');
  if (v['loss-all'] === true && mode === 'dissemination-only') throw new UsageError('--loss-all does not apply to --dissemination-only (its --loss is always in force)');
  const defaultNodes = mode === 'real' ? 200 : mode === 'sim' ? 5000 : 1_000_000;
  const nodes = int(v.nodes, 'nodes', defaultNodes, 2, mode === 'real' ? 2000 : mode === 'sim' ? 10_000 : 10_000_000);
  const latencyMs = num(v['latency-ms'], 'latency-ms', 1, 0, 10_000);
  const regions = v.regions === undefined ? null : matrixOption(v.regions);
  if (regions !== null && v['latency-ms'] !== undefined) throw new UsageError('--latency-ms does not apply with --regions (the matrix gives every latency)');
  const simStart: SimStart = mode === 'sim' ? startOf(v['sim-start'], v.scenario, nodes) : 'join';
  if (mode === 'dissemination-only' && v['sim-start'] !== undefined) throw new UsageError('--sim-start does not apply to --dissemination-only');
  if (mode === 'dissemination-only' && v['probe-warmup'] !== undefined) throw new UsageError('--probe-warmup does not apply to --dissemination-only (it has no probes)');
  const chosen = scenarios(v.scenario, mode, simStart);
  if (mode === 'real' && chosen.includes('dead_during_burst')) {
    throw new UsageError('--scenario dead_during_burst runs on --sim only (thousands of registrations at once are too much for real agents on one machine)');
  }
  if (regions === null) {
    for (const k of ['region-loss', 'cut-region'] as const) if (v[k] !== undefined) throw new UsageError(`--${k} needs --regions`);
    if (chosen.includes('region_cut')) throw new UsageError('--scenario region_cut needs --regions (it cuts one region off)');
  }
  const cutRegion = v['cut-region'] === undefined || regions === null ? 0 : regionIndex(regions, v['cut-region'], 'cut-region');
  const profile = v.profile ?? 'lan';
  if (!isProfileName(profile)) throw new UsageError(`--profile: expected lan, wan or local, got ${JSON.stringify(profile)}`);
  const updateTree = updateTreeOption(profile, v.flooding === true, v['update-tree'] === true);
  return {
    mode,
    nodes,
    scenarios: chosen,
    steadyS: num(v.steady, 'steady', 30, 0, 86_400),
    warmupS: v.warmup === undefined ? null : num(v.warmup, 'warmup', 0, 0, 86_400),
    lossPct: num(v.loss, 'loss', 0, 0, 100),
    lossAll: v['loss-all'] === true,
    latencyMs,
    jitterMs: regions === null
      ? num(v['jitter-ms'], 'jitter-ms', latencyMs / 2, 0, latencyMs)
      : num(v['jitter-ms'], 'jitter-ms', REGION_JITTER_DEFAULT_MS, 0, 1000),
    joinSpreadMs: num(v['join-spread-ms'], 'join-spread-ms', mode === 'sim' && simStart === 'join' && nodes > 2000 ? 12 * nodes : 0, 0, 600_000),
    simStart,
    runs: int(v.runs, 'runs', 1, 1, 1000),
    seed: int(v.seed, 'seed', 1, 0, 2 ** 32 - 1),
    workers: int(v.workers, 'workers', Math.min(2, availableParallelism()), 1, 64),
    profile,
    json: v.json ?? null,
    svg: v.svg ?? null,
    cpuProfDir: v['cpu-prof-dir'] ?? null,
    sharedSeed: v['shared-seed'] === true,
    burst: int(v.burst, 'burst', 2000, 1, LIMITS.servicesMax),
    regions,
    probeWarmupS: mode === 'sim'
      ? num(v['probe-warmup'], 'probe-warmup', probeWarmupDefaultS(regions !== null, benchProfile({ profile, updateTree })), 0, 86_400)
      : 0,
    regionLoss: v['region-loss'] === undefined || regions === null ? null : regionLossOption(regions, v['region-loss']),
    cutRegion,
    cutS: num(v['cut-s'], 'cut-s', 60, 1, 3600),
    updateTree,
  };
}

function regionIndex(m: RegionMatrix, name: string, option: string): number {
  const i = m.regions.indexOf(name);
  if (i < 0) throw new UsageError(`--${option}: no region ${JSON.stringify(name)} in ${m.source}; regions: ${m.regions.join(', ')}`);
  return i;
}

function regionLossOption(m: RegionMatrix, arg: string): RegionLoss {
  const colon = arg.lastIndexOf(':');
  if (colon < 1) throw new UsageError(`--region-loss: expected NAME:PCT, got ${JSON.stringify(arg)}`);
  const region = regionIndex(m, arg.slice(0, colon), 'region-loss');
  return { region, lossPct: num(arg.slice(colon + 1), 'region-loss', 0, 0, 100) };
}

function matrixOption(arg: string): RegionMatrix {
  try {
    return loadMatrix(arg);
  } catch (e) {
    if (e instanceof MatrixError) throw new UsageError(`--regions: ${e.message}`);
    throw e;
  }
}

function startOf(given: string | undefined, scenarioArgs: readonly string[] | undefined, nodes: number): SimStart {
  const joinAsked = (scenarioArgs ?? []).some((g) => g.split(',').some((s) => s.trim() === 'join'));
  if (given === undefined) return joinAsked || nodes <= 2000 ? 'join' : 'converged';
  if (given !== 'join' && given !== 'converged') throw new UsageError(`--sim-start: expected join or converged, got ${JSON.stringify(given)}`);
  if (given === 'converged' && joinAsked) throw new UsageError('--scenario join needs --sim-start join (a converged start has no join to time)');
  return given;
}

function scenarios(given: readonly string[] | undefined, mode: Mode, start: SimStart): ScenarioName[] {
  if (mode === 'dissemination-only') {
    if (given !== undefined) throw new UsageError('--scenario does not apply to --dissemination-only (it spreads one update)');
    return [];
  }
  const converged = mode === 'sim' && start === 'converged';
  if (given === undefined) return DEFAULT_SCENARIOS.filter((s) => !(converged && s === 'join'));
  const wanted = new Set<ScenarioName>(converged ? [] : ['join']);
  for (const name of given.flatMap((g) => g.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    const n = name === 'steady' ? 'false_dead' : name;
    if (!isScenarioName(n)) throw new UsageError(`--scenario: unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.join(', ')}`);
    wanted.add(n);
  }
  // A deregistration needs a registration first; it runs (and is reported) too.
  if (wanted.has('deregister')) wanted.add('register');
  return SCENARIOS.filter((s) => wanted.has(s));
}

function num(text: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || x < min || x > max) {
    throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return x;
}

function int(text: string | undefined, name: string, dflt: number, min: number, max: number): number {
  const x = num(text, name, dflt, min, max);
  if (!Number.isInteger(x)) throw new UsageError(`--${name}: expected a whole number, got ${JSON.stringify(text)}`);
  return x;
}
