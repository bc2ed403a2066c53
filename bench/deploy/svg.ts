/**
 * The drill's chart, hand-written SVG: one panel per run, stacked, each showing answers per second
 * by version and failures per second over the run, with the deploy's steps as dashed markers. All
 * panels share the y scale so that runs can be compared by eye.
 */
import type { RunSummary } from './analyze.js';
import type { MarkKind } from './steps.js';

const WIDTH = 960;
const PANEL_H = 230;
const M = { left: 64, right: 150, top: 34, bottom: 40 };
const COLORS = { v1: '#1f6fd1', v2: '#1a9e4b', failed: '#d62728', mark: '#777' } as const;

/** Steps drawn as markers, with their short labels. */
const MARKERS: readonly [MarkKind, string][] = [
  ['register', 'register v2'], ['confirmed', 'v2 passing everywhere'], ['split', 'split v1=90 v2=10'],
  ['split_end', 'split v2=100'], ['rollback', 'rollback v1=100'], ['drain', 'drain v1'],
  ['stop', 'stop v1'], ['deregistered', 'v1 deregistered'],
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` ticks over `max`. */
export function niceStep(max: number, count: number): number {
  const raw = Math.max(max, 1e-9) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

function polyline(values: readonly number[], x: (i: number) => number, y: (v: number) => number, color: string, width: number): string {
  if (values.length === 0) return '';
  // Steps, not slopes: each bin is a count over its whole width.
  const pts: string[] = [];
  values.forEach((v, i) => {
    pts.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`, `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`);
  });
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round" points="${pts.join(' ')}"/>`;
}

function panel(s: RunSummary, top: number, yMax: number): string {
  const plotW = WIDTH - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const bins = s.series.v1.length;
  const binS = s.series.bin_ms / 1000;
  const totalS = Math.max(bins * binS, 1e-3);
  const xs = (t: number): number => M.left + (t / totalS) * plotW;
  const xb = (i: number): number => xs(i * binS);
  const y = (v: number): number => top + M.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const out: string[] = [];
  const title = `${s.name}: ${s.sent.toLocaleString('en-US')} sent, ${s.failed.toLocaleString('en-US')} failed, mixed window ${s.mixed_window_ms} ms`;
  out.push(`<text x="${M.left}" y="${top + 20}" font-size="14" font-weight="bold">${esc(title)}</text>`);
  // Grid and y axis.
  const yStep = niceStep(yMax, 4);
  for (let k = 0; k * yStep <= yMax + 1e-9; k++) {
    const v = Math.round(k * yStep * 1000) / 1000;
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${v}</text>`);
  }
  out.push(`<text transform="translate(${M.left - 46},${top + M.top + plotH / 2}) rotate(-90)" font-size="12" text-anchor="middle">requests/s</text>`);
  // x axis.
  const xStep = niceStep(totalS, 10);
  for (let k = 0; k * xStep <= totalS + 1e-9; k++) {
    const t = k * xStep;
    const xx = xs(t).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${top + M.top + plotH}" y2="${top + M.top + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${xx}" y="${top + M.top + plotH + 18}" font-size="11" text-anchor="middle">${Math.round(t * 10) / 10}</text>`);
  }
  out.push(`<text x="${M.left + plotW / 2}" y="${top + PANEL_H - 6}" font-size="12" text-anchor="middle">time since the load started (s)</text>`);
  out.push(`<rect x="${M.left}" y="${top + M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  // Deploy steps.
  // One row per marker kind: the steps of a swimd deploy are milliseconds apart, so labels would collide.
  MARKERS.forEach(([kind, label], n) => {
    const at = s.marks_ms[kind];
    if (at === undefined) return;
    const xx = xs(at / 1000).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${top + M.top}" y2="${top + M.top + plotH}" stroke="${COLORS.mark}" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${(Number(xx) + 3).toFixed(1)}" y="${top + M.top + 12 + n * 12}" font-size="10" fill="${COLORS.mark}">${esc(label)}</text>`);
  });
  out.push(polyline(s.series.v1, xb, y, COLORS.v1, 1.5));
  out.push(polyline(s.series.v2, xb, y, COLORS.v2, 1.5));
  out.push(polyline(s.series.failed, xb, y, COLORS.failed, 2));
  // Legend, right of the plot.
  const lx = M.left + plotW + 16;
  const entries: [string, string][] = [['v1 answered', COLORS.v1], ['v2 answered', COLORS.v2], ['failed', COLORS.failed], ['deploy step', COLORS.mark]];
  entries.forEach(([label, color], i) => {
    const ly = top + M.top + 10 + i * 18;
    const dash = label === 'deploy step' ? ' stroke-dasharray="4 3"' : '';
    out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 26}" y="${ly + 4}" font-size="11">${esc(label)}</text>`);
  });
  out.push(`<text x="${lx}" y="${top + M.top + 90}" font-size="10" fill="#555">bins of ${s.series.bin_ms} ms</text>`);
  return out.join('\n');
}

export function renderSvg(runs: readonly RunSummary[], rate: number): string {
  const peak = Math.max(rate, ...runs.flatMap((s) => [...s.series.v1, ...s.series.v2, ...s.series.failed]));
  const yMax = niceStep(peak * 1.1, 4) * Math.ceil((peak * 1.1) / niceStep(peak * 1.1, 4));
  const height = Math.max(1, runs.length) * PANEL_H + 10;
  const body = runs.map((s, i) => panel(s, i * PANEL_H + 5, yMax)).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">
<title>swimd deploy drill: requests per second by version, and failures</title>
<rect width="100%" height="100%" fill="#fff"/>
${body}
</svg>
`;
}
