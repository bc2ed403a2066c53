/**
 * Structured logging: one JSON object per line on stderr, so journald and log shippers need no
 * parser configuration. Fields never override ts/level/msg.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export type LogFields = Readonly<Record<string, unknown>>;

export interface LogSink {
  write(line: string): unknown;
}

export class Logger {
  private threshold: number;

  constructor(
    private levelName: LogLevel,
    private readonly sink: LogSink = process.stderr,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.threshold = LOG_LEVELS.indexOf(levelName);
  }

  get level(): LogLevel {
    return this.levelName;
  }

  setLevel(level: LogLevel): void {
    this.levelName = level;
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.threshold;
  }

  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields); }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record: Record<string, unknown> = {};
    if (fields) {
      for (const [k, v] of Object.entries(fields)) record[k] = plain(v);
    }
    record['ts'] = this.clock().toISOString();
    record['level'] = level;
    record['msg'] = msg;
    // Re-order so the three fixed keys come first for people reading raw lines.
    const { ts, level: lv, msg: m, ...rest } = record;
    let line: string;
    try {
      line = JSON.stringify({ ts, level: lv, msg: m, ...rest });
    } catch {
      // A field that cannot be serialised (cycle, BigInt) must not lose the message itself.
      line = JSON.stringify({ ts, level: lv, msg: m, log_error: 'unserialisable fields' });
    }
    this.sink.write(line + '\n');
  }
}

/** Errors serialise to {} by default; keep what an operator needs. */
function plain(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as NodeJS.ErrnoException).code;
    return code === undefined ? { message: v.message } : { message: v.message, code };
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return new Logger('error', { write: () => true });
}
