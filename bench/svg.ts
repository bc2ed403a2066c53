/**
 * The chart: for each timed change, the fraction of nodes whose view held it against the time since
 * it happened, on a log time axis (the interesting part of a join spans seconds, of a registration
 * milliseconds). Written by hand: a few paths and labels are not worth a plotting dependency.
 */
import type { Curve, CurveName } from './result.js';

const W = 900;
const H = 500;
const M = { left: 70, right: 270, top: 78, bottom: 62 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;
/** Points per curve at most; a million-node curve is thinned to quantiles. */
const MAX_POINTS = 600;

const COLORS: Readonly<Record<CurveName, string>> = {
  join: '#1f77b4', new_member: '#9467bd', register: '#2ca02c', deregister: '#ff7f0e', dead: '#d62728', dead_during_burst: '#8c564b', dissemination: '#17becf',
};

export interface ChartInput {
  readonly title: string;
  /** Lines under the title: what ran, and the command that ran it. */
  readonly subtitle: readonly string[];
  /** One entry per curve; several runs of a scenario are pooled into one curve. */
  readonly curves: readonly { readonly name: CurveName; readonly runs: readonly Curve[] }[];
  /** Dashed vertical lines, e.g. the forwarding lower bound. */
  readonly markers?: readonly { readonly ms: number; readonly label: string }[];
}

export function renderSvg(input: ChartInput): string {
  const series = input.curves.map(({ name, runs }) => pool(name, runs)).filter((s) => s.expected > 0);
  // Each series is sorted: its extremes are at its ends (no spreading a million values into Math.min).
  const firsts = series.map((s) => s.sorted.find((v) => v > 0)).filter((v): v is number => v !== undefined);
  const lasts = series.map((s) => s.sorted[s.sorted.length - 1]).filter((v): v is number => v !== undefined);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, firsts.length > 0 ? Math.min(...firsts) : 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(lo * 10, lasts.length > 0 ? Math.max(...lasts) : 10)));
  const x = (ms: number): number => M.left + (PLOT_W * (Math.log10(Math.max(ms, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const y = (frac: number): number => M.top + PLOT_H * (1 - frac);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(text(M.left, 24, input.title, 'start', 16, 'bold'));
  input.subtitle.forEach((line, i) => out.push(text(M.left, 42 + i * 15, line, 'start', 11, 'normal', '#555', W - M.left - 10)));

  // Grid and axes.
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi * 1.0001) break;
      const gx = x(v);
      out.push(`<line x1="${r(gx)}" y1="${M.top}" x2="${r(gx)}" y2="${M.top + PLOT_H}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      if (m === 1 || hi / lo <= 1000) out.push(text(gx, M.top + PLOT_H + 16, msLabel(v), 'middle', 11));
    }
  }
  for (let p = 0; p <= 100; p += 20) {
    const gy = y(p / 100);
    out.push(`<line x1="${M.left}" y1="${r(gy)}" x2="${M.left + PLOT_W}" y2="${r(gy)}" stroke="#ddd"/>`);
    out.push(text(M.left - 8, gy + 4, `${p}%`, 'end', 11));
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333"/>`);
  out.push(text(M.left + PLOT_W / 2, H - 18, 'time since the change (ms, log scale)', 'middle', 12));
  const midY = M.top + PLOT_H / 2;
  out.push(`<text x="18" y="${midY}" text-anchor="middle" font-size="12" transform="rotate(-90 18 ${midY})">nodes whose view holds the change</text>`);

  for (const m of input.markers ?? []) {
    if (!(m.ms > 0) || m.ms < lo || m.ms > hi) continue;
    const mx = x(m.ms);
    out.push(`<line x1="${r(mx)}" y1="${M.top}" x2="${r(mx)}" y2="${M.top + PLOT_H}" stroke="#777" stroke-dasharray="4 3"/>`);
    // At the foot of the line: to its right, curves have mostly risen by then.
    out.push(text(mx + 4, M.top + PLOT_H - 8, m.label, 'start', 10, 'normal', '#555'));
  }

  // Curves: a step up at each node's time; the fraction is of the nodes expected, so a curve that
  // stops short of 100% shows nodes that never got the change.
  for (const s of series) {
    const pts = thin(s.sorted);
    let d = `M${r(x(pts[0]?.[0] ?? lo))},${r(y(0))}`;
    for (const [ms, rank] of pts) d += `H${r(x(ms))}V${r(y(rank / s.expected))}`;
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[s.name]}" stroke-width="2"/>`);
  }

  // Legend, outside the plot on the right.
  const lx = M.left + PLOT_W + 16;
  series.forEach((s, i) => {
    const ly = M.top + 10 + i * 38;
    const p99 = s.sorted.length > 0 ? s.sorted[Math.min(s.sorted.length - 1, Math.ceil(0.99 * s.sorted.length) - 1)] ?? 0 : 0;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${COLORS[s.name]}" stroke-width="3"/>`);
    out.push(text(lx + 28, ly + 4, s.name.replace('_', ' '), 'start', 12, 'bold'));
    out.push(text(lx + 28, ly + 19, `${s.sorted.length}/${s.expected} reached, p99 ${msLabel(p99)}`, 'start', 11, 'normal', '#444'));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

interface Series {
  readonly name: CurveName;
  readonly sorted: number[];
  readonly expected: number;
}

function pool(name: CurveName, runs: readonly Curve[]): Series {
  const sorted = runs.flatMap((c) => c.latencies).sort((a, b) => a - b);
  return { name, sorted, expected: runs.reduce((s, c) => s + c.expected, 0) };
}

/** [time, nodes reached by then] pairs; thinned to MAX_POINTS evenly spaced ranks, the last kept. */
function thin(sorted: readonly number[]): [number, number][] {
  const n = sorted.length;
  const step = Math.max(1, Math.ceil(n / MAX_POINTS));
  const out: [number, number][] = [];
  for (let i = step - 1; i < n; i += step) out.push([sorted[i] as number, i + 1]);
  if (n > 0 && (out.length === 0 || (out[out.length - 1] as [number, number])[1] !== n)) out.push([sorted[n - 1] as number, n]);
  return out;
}

function msLabel(ms: number): string {
  if (ms >= 1000) return `${+(ms / 1000).toPrecision(3)} s`;
  return `${+ms.toPrecision(3)} ms`;
}

function r(v: number): string {
  return v.toFixed(1);
}

/** `maxWidth`: a line that would run past it (at ~0.56 em per character) is squeezed to fit. */
function text(tx: number, ty: number, s: string, anchor: 'start' | 'middle' | 'end', size: number,
  weight: 'normal' | 'bold' = 'normal', fill = '#222', maxWidth = Infinity): string {
  const fit = s.length * size * 0.56 > maxWidth ? ` textLength="${r(maxWidth)}" lengthAdjust="spacingAndGlyphs"` : '';
  return `<text x="${r(tx)}" y="${r(ty)}" text-anchor="${anchor}" font-size="${size}" font-weight="${weight}" fill="${fill}"${fit}>${escape(s)}</text>`;
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
