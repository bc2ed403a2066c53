/**
 * The simulator keeps every node's full state in one process: 5,000 nodes hold 25 million member
 * records, more than Node's default heap limit allows. Simulated runs therefore re-run the bench in
 * a child Node with a heap limit of half the machine's memory (the rest stays with the system and
 * whatever else runs), and a larger young generation, which cuts the garbage collector's share of a
 * large simulation by about a fifth.
 */
import { spawnSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

const MARK = 'SWIMD_BENCH_HEAP_SET';

/** Returns the child's exit code when it re-ran the bench, or null when this process should go on. */
export function rerunWithLargerHeap(script: string, args: readonly string[]): number | null {
  if (process.env[MARK] !== undefined) return null;
  const wantMb = Math.floor(Math.min(totalmem() * 0.5, 32 * 2 ** 30) / 2 ** 20);
  if (getHeapStatistics().heap_size_limit / 2 ** 20 >= wantMb * 0.9) return null;
  const r = spawnSync(process.execPath, [`--max-old-space-size=${wantMb}`, '--max-semi-space-size=64', ...process.execArgv, script, ...args], {
    stdio: 'inherit', env: { ...process.env, [MARK]: '1' },
  });
  if (r.error !== undefined) throw r.error;
  if (r.signal !== null) {
    process.stderr.write(`bench: the simulation process was ended by ${r.signal}` +
      `${r.signal === 'SIGKILL' ? ' (by the kernel out of memory, or from outside)' : ''}\n`);
    return 128;
  }
  return r.status ?? 1;
}
