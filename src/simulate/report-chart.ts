// The replay as a self-contained HTML page with two SVG charts: site import, EV power and the import
// limit over time; and each session's delivered energy over time (up to 60 sessions drawn).
import type { ReplaySeries } from './replay.ts';
import type { SimulateReport } from './simulate-report.ts';

const W = 960;
const H = 320;
const PAD = { left: 64, right: 16, top: 16, bottom: 36 };
const MAX_SESSIONS = 60;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function scale(values: readonly number[], lo: number, hi: number, from: number, to: number): number[] {
  const span = hi - lo || 1;
  return values.map((v) => from + ((v - lo) / span) * (to - from));
}

function path(xs: readonly number[], ys: readonly number[]): string {
  return xs.map((x, i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${ys[i].toFixed(1)}`).join('');
}

function axes(title: string, yMax: number, unit: string, fromMs: number, toMs: number): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = H - PAD.bottom - f * (H - PAD.top - PAD.bottom);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${((yMax * f) / 1000).toFixed(f ? 1 : 0)}</text>`;
  });
  const hours = (toMs - fromMs) / 3_600_000;
  const stepH = hours > 72 ? 24 : hours > 24 ? 6 : 2;
  const xTicks: string[] = [];
  for (let h = 0; h <= hours; h += stepH) {
    const x = PAD.left + (h / Math.max(hours, 1e-9)) * (W - PAD.left - PAD.right);
    xTicks.push(`<text x="${x}" y="${H - PAD.bottom + 16}" text-anchor="middle">${esc(new Date(fromMs + h * 3_600_000).toISOString().slice(5, 16).replace('T', ' '))}</text>`);
  }
  return `<text x="${PAD.left}" y="12" font-weight="bold">${esc(title)}</text><text x="8" y="${PAD.top + 8}">${unit}</text>${ticks.join('')}${xTicks.join('')}`;
}

export function seriesSvg(series: ReplaySeries): { power: string; energy: string } {
  const n = series.atMs.length;
  const from = series.atMs[0] ?? 0;
  const to = series.atMs[n - 1] ?? 1;
  const xs = scale(series.atMs, from, to, PAD.left, W - PAD.right);
  const yMax = Math.max(1, ...series.gridW, ...series.evW, ...series.limitW) * 1.05;
  const y = (vs: readonly number[]) => scale(vs, 0, yMax, H - PAD.bottom, PAD.top);
  const power =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">` +
    axes('Site import (blue), EV power (green) and import limit (red)', yMax, 'kW', from, to) +
    `<path d="${path(xs, y(series.limitW))}" fill="none" stroke="#c00" stroke-dasharray="6 3"/>` +
    `<path d="${path(xs, y(series.gridW))}" fill="none" stroke="#1f5fbf"/>` +
    `<path d="${path(xs, y(series.evW))}" fill="none" stroke="#2a9d3a"/></svg>`;
  const ids = Object.keys(series.sessionWh).slice(0, MAX_SESSIONS);
  const eMax = Math.max(1, ...ids.flatMap((id) => series.sessionWh[id])) * 1.05;
  const lines = ids.map((id, k) => {
    const values = series.sessionWh[id];
    const startIndex = series.sessionFirst[id] ?? 0;
    const sx = xs.slice(startIndex, startIndex + values.length);
    return `<path d="${path(sx, scale(values, 0, eMax, H - PAD.bottom, PAD.top))}" fill="none" stroke="hsl(${(k * 47) % 360},60%,45%)"><title>${esc(id)}</title></path>`;
  });
  const energy = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">${axes(`Energy delivered per session (${ids.length} of ${Object.keys(series.sessionWh).length} drawn)`, eMax, 'kWh', from, to)}${lines.join('')}</svg>`;
  return { power, energy };
}

export function reportHtml(report: SimulateReport, table: string, series: ReplaySeries | undefined): string {
  const charts = series ? seriesSvg(series) : undefined;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(report.site.name)}: ems simulate</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1000px}pre{background:#f6f6f6;padding:12px;overflow-x:auto}svg{width:100%;height:auto;border:1px solid #eee;margin:8px 0}</style></head>
<body><h1>${esc(report.site.name)}</h1><p>${esc(report.headline)}</p><pre>${esc(table)}</pre>
${charts ? `${charts.power}\n${charts.energy}` : '<p>No time series recorded.</p>'}
</body></html>
`;
}
