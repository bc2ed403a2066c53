/**
 * Running the system tools the harness drives (ip, nft, tc). Every call has a deadline, and a
 * failure names the whole command line and the tool's own stderr: a namespace test that fails with
 * "exit 2" alone cannot be diagnosed after the fact.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the tool's stdin (e.g. an `nft -f -` script). */
  readonly input?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** Tool output is short; anything past this is noise that must not grow without bound. */
const OUTPUT_BYTES_MAX = 1024 * 1024;

/** Runs `cmd args`; resolves with the exit code (127 when the tool is missing), never rejects. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (r: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: 124, stdout, stderr: `${stderr}\n(timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms)` });
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => { if (stdout.length < OUTPUT_BYTES_MAX) stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < OUTPUT_BYTES_MAX) stderr += c.toString('utf8'); });
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: e.code === 'ENOENT' ? 127 : 126, stdout, stderr: e.message }));
    child.on('close', (code) => finish({ code: code ?? 1, stdout, stderr }));
    // A tool that exits before reading its stdin makes the write fail with EPIPE; its exit code says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(readonly command: string, readonly result: RunResult) {
    super(`\`${command}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim() || '(no output)'}`);
  }
}

/** Runs `cmd args` and returns stdout; throws CommandError on a non-zero exit. */
export async function must(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError([cmd, ...args].join(' '), r);
  return r.stdout;
}

/**
 * Synchronous best-effort variant for 'exit' handlers, where nothing asynchronous runs any more.
 * Errors are swallowed: cleanup of something already gone is not a failure.
 */
export function runSyncQuiet(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).toString('utf8');
  } catch {
    return '';
  }
}
