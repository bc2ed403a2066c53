/**
 * A client of HAProxy's Runtime API: the stats socket declared with `stats socket PATH level admin`.
 *
 * One connection per batch: the batch is sent in interactive (`prompt`) mode, where HAProxy ends
 * every answer with "\n> ", so the answer of each command can be told apart even when it is empty;
 * `quit` ends the session. A batch is bounded in commands, answer bytes and time; a connection that
 * cannot be made, is cut, or runs out of time is a RuntimeApiError the caller takes for "HAProxy is
 * unreachable". An answer that reports a failed command is not an exception but a CommandResult
 * with `ok: false` and HAProxy's own words, so one bad slot does not hide the others' outcomes.
 */
import net from 'node:net';

export type RuntimeApiErrorCode = 'unreachable' | 'timeout' | 'too_large' | 'protocol';

export class RuntimeApiError extends Error {
  override readonly name = 'RuntimeApiError';
  constructor(readonly code: RuntimeApiErrorCode, message: string) {
    super(message);
  }
}

export interface CommandResult {
  readonly command: string;
  /** HAProxy's answer, without the prompt and surrounding blank lines. */
  readonly text: string;
  /** False when the answer reports the command as refused or failed. */
  readonly ok: boolean;
}

export interface RuntimeApiOptions {
  readonly socketPath: string;
  /** Whole batch: connect, send, read every answer. Default 2 s. */
  readonly timeoutMs?: number;
  /** Largest answer accepted for a batch. Default 4 MiB (`show servers state` of thousands of slots). */
  readonly maxAnswerBytes?: number;
}

/** Commands per connection; a longer list is sent over several connections, in order. */
export const MAX_COMMANDS_PER_BATCH = 200;
const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const PROMPT = '\n> ';

/**
 * Answers of `set server` / `set weight` that mean success: nothing at all, or a note that the
 * address or port changed (or did not need to). Anything else — "No such server.", "Invalid
 * addr ...", "Absolute weight can only be between 0 and 256 inclusive.", "Unknown command",
 * "Permission denied" — is a failure. A list of successes rather than of failures, so an error
 * message this code has never seen is still an error.
 */
const SET_SUCCESS = [/^IP changed from /, /^no need to change the addr/, /^port changed from /];

export function setCommandSucceeded(text: string): boolean {
  const t = text.trim();
  return t === '' || SET_SUCCESS.some((re) => re.test(t));
}

/** Failure words of the `show` commands used here; their successful answers are parsed by the caller. */
const SHOW_FAILURE = [/^Can't find backend\./, /^Unknown command/i, /^Permission denied/i];

export function answerSucceeded(command: string, text: string): boolean {
  if (command.startsWith('set ')) return setCommandSucceeded(text);
  return !SHOW_FAILURE.some((re) => re.test(text.trim()));
}

/** A command is one line of printable text; a newline or ';' would smuggle in another command. */
export function checkCommand(command: string): void {
  if (/[\x00-\x1f\x7f;]/.test(command) || command.length === 0 || command.length > 1024) {
    throw new RuntimeApiError('protocol', `refusing to send a malformed command: ${JSON.stringify(command.slice(0, 80))}`);
  }
}

/**
 * Splits the output of a prompt-mode session into the answers of `count` commands. The session
 * starts with the prompt that `prompt` itself prints, and every answer ends with one more.
 */
export function splitPromptAnswers(output: string, count: number): string[] {
  if (!output.startsWith(PROMPT)) throw new RuntimeApiError('protocol', `unexpected start of a Runtime API session: ${JSON.stringify(output.slice(0, 80))}`);
  const parts = output.slice(PROMPT.length).split(PROMPT);
  // After the last answer's prompt comes what `quit` leaves: nothing.
  if (parts.length < count + 1) {
    throw new RuntimeApiError('protocol', `the Runtime API answered ${Math.max(0, parts.length - 1)} of ${count} commands`);
  }
  return parts.slice(0, count).map((p) => p.replace(/^\n+|\n+$/g, ''));
}

export class RuntimeApi {
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;

  constructor(private readonly o: RuntimeApiOptions) {
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAnswerBytes = o.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  }

  get socketPath(): string {
    return this.o.socketPath;
  }

  /** Runs the commands in order; throws RuntimeApiError when HAProxy cannot be reached or answered garbage. */
  async run(commands: readonly string[]): Promise<CommandResult[]> {
    for (const c of commands) checkCommand(c);
    const out: CommandResult[] = [];
    for (let i = 0; i < commands.length; i += MAX_COMMANDS_PER_BATCH) {
      const batch = commands.slice(i, i + MAX_COMMANDS_PER_BATCH);
      const answers = splitPromptAnswers(await this.session(batch), batch.length);
      batch.forEach((command, j) => {
        const text = answers[j] ?? '';
        out.push({ command, text, ok: answerSucceeded(command, text) });
      });
    }
    return out;
  }

  /** One command; its answer text, or a RuntimeApiError when HAProxy refused it. */
  async one(command: string): Promise<string> {
    const [r] = await this.run([command]);
    if (r === undefined) throw new RuntimeApiError('protocol', `no answer to ${command}`);
    if (!r.ok) throw new RuntimeApiError('protocol', `${command}: ${r.text}`);
    return r.text;
  }

  private session(commands: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const sock = net.createConnection({ path: this.o.socketPath });
      const finish = (e: RuntimeApiError | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (e !== null) reject(e);
        else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      const timer = setTimeout(() => {
        finish(new RuntimeApiError('timeout', `HAProxy's Runtime API on ${this.o.socketPath} did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      sock.on('connect', () => {
        sock.write(`prompt\n${commands.join('\n')}\nquit\n`);
      });
      sock.on('data', (c: Buffer) => {
        size += c.length;
        if (size > this.maxAnswerBytes) {
          finish(new RuntimeApiError('too_large', `HAProxy's answer exceeded ${this.maxAnswerBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      sock.on('error', (e: NodeJS.ErrnoException) => {
        finish(new RuntimeApiError('unreachable', `HAProxy's Runtime API on ${this.o.socketPath}: ${e.code ?? e.message}`));
      });
      sock.on('end', () => finish(null));
      sock.on('close', () => finish(null));
    });
  }
}
