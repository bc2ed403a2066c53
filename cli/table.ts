/**
 * Aligned plain-text tables for human output. Cells can hold names and tags that arrived from other
 * hosts by gossip, so control characters are neutralised: a peer must not be able to drive the
 * operator's terminal with escape sequences.
 */

export interface Column {
  readonly header: string;
  /** Numbers read better right-aligned. */
  readonly align?: 'left' | 'right';
}

const GAP = '  ';

// C0 and C1 controls plus DEL; kept as a literal class so the intent is visible.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function sanitizeCell(text: string): string {
  return text.replace(CONTROL, '?');
}

/** Width in code points: close enough for names and addresses, and never splits a surrogate pair. */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function pad(text: string, to: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Formats rows under headers, each column as wide as its widest cell. Short rows are padded with
 * empty cells; extra cells are ignored. Lines carry no trailing spaces; the result ends with "\n".
 */
export function formatTable(columns: readonly (string | Column)[], rows: readonly (readonly string[])[]): string {
  const cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const body = rows.map((r) => cols.map((_, i) => sanitizeCell(r[i] ?? '')));
  const headers = cols.map((c) => sanitizeCell(c.header));
  const widths = cols.map((_, i) => Math.max(width(headers[i] ?? ''), ...body.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => pad(cell, widths[i] ?? 0, cols[i]?.align ?? 'left')).join(GAP).trimEnd();
  return [line(headers), ...body.map(line)].join('\n') + '\n';
}

/** Two columns, field and value, for one record such as `swimd info`. */
export function formatRecord(record: Readonly<Record<string, unknown>>): string {
  const rows = Object.entries(record).map(([k, v]) => [k, renderValue(v)]);
  return formatTable(['FIELD', 'VALUE'], rows);
}

export function renderValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length === 0 ? '-' : v.join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
