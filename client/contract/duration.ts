/**
 * Durations as people write them in flags, query strings and the config file: a number and a unit,
 * "500ms", "10s", "1.5m", "1h". A bare number is refused rather than guessed at: "5" could mean
 * seconds to a person and milliseconds to a program.
 */

export class DurationError extends Error {}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m|h)$/;

/** Parses a duration into whole milliseconds (rounded); throws DurationError with the reason. */
export function parseDuration(v: unknown): number {
  if (typeof v !== 'string') throw new DurationError(`expected a duration string such as "10s", got ${typeof v}`);
  const s = v.trim();
  const m = PATTERN.exec(s);
  if (m === null) {
    const hint = /^\d+(\.\d+)?$/.test(s) ? ' (a unit is required: ms, s, m or h)' : '';
    throw new DurationError(`expected a duration such as 500ms, 10s, 1m or 1h, got ${JSON.stringify(v.slice(0, 40))}${hint}`);
  }
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1));
}

/** Parses and checks a duration against [min, max]; the message names both bounds. */
export function parseDurationIn(v: unknown, minMs: number, maxMs: number): number {
  const ms = parseDuration(v);
  if (ms < minMs || ms > maxMs) {
    throw new DurationError(`expected a duration between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got ${formatDuration(ms)}`);
  }
  return ms;
}

/** The shortest exact form: 1500 → "1500ms", 30000 → "30s", 60000 → "1m". */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
