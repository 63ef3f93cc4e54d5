// The last 24 h (or a chosen range) of grid, PV, battery, EV total and the limit, drawn by uPlot.
import uPlot from 'uplot';
import type { HistoryPoint } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatDateTime, formatEnergy, formatPower, formatTime, fromLocalInput, toLocalInput } from '../format.ts';
import { resolutionFor, summarizeHistory } from '../history-summary.ts';
import { historyPoints, toMs as toMsOf } from '../normalize.ts';

const RANGES: { label: string; ms: number }[] = [
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 24 * 3_600_000 },
  { label: '7 d', ms: 7 * 86_400_000 },
];

const SERIES: { key: keyof Omit<HistoryPoint, 'atMs'>; label: string; stroke: string; dash?: number[]; width?: number }[] = [
  { key: 'gridPowerW', label: 'Grid (kW, + import)', stroke: '#2b6cb0', width: 2 },
  { key: 'pvPowerW', label: 'Solar (kW)', stroke: '#b7791f', width: 2 },
  { key: 'batteryPowerW', label: 'Battery (kW, + discharge)', stroke: '#2f855a', dash: [2, 3] },
  { key: 'evPowerW', label: 'EV total (kW)', stroke: '#6b46c1', width: 2 },
  { key: 'buildingPowerW', label: 'Building (kW)', stroke: '#718096', dash: [1, 2] },
  { key: 'limitW', label: 'Limit (kW)', stroke: '#c53030', dash: [8, 4] },
];

export function historyView(ctx: AppContext): View {
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'History chart' });
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const summary = h('dl', { class: 'facts summary' });
  const monthPeak = h('div', { class: 'fact' });
  const from = h('input', { type: 'datetime-local', id: 'hist-from' });
  const to = h('input', { type: 'datetime-local', id: 'hist-to' });
  const quick = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Quick range' });
  let plot: uPlot | null = null;
  let rangeMs = 24 * 3_600_000;
  let customTo: number | null = null;

  for (const range of RANGES) {
    quick.append(
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(range.ms === rangeMs),
          onclick: () => {
            rangeMs = range.ms;
            customTo = null;
            quick.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.textContent === range.label)));
            void load();
          },
        },
        range.label,
      ),
    );
  }

  const custom = h(
    'form',
    { class: 'range-form', 'aria-label': 'Custom range' },
    h('div', { class: 'field' }, h('label', { for: 'hist-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'hist-to' }, 'To'), to),
    h('button', { type: 'submit', class: 'secondary' }, 'Show'),
  );
  custom.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = fromLocalInput(from.value);
    const t = fromLocalInput(to.value);
    if (f === null || t === null || t <= f) {
      setText(status, 'Choose a start before the end.');
      return;
    }
    rangeMs = t - f;
    customTo = t;
    quick.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', 'false'));
    void load();
  });

  const el = h(
    'div',
    { class: 'page history' },
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'hist-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'hist-title' }, 'History'), quick),
      custom,
      chartBox,
      status,
      summary,
    ),
  );

  const width = () => Math.max(280, Math.floor(chartBox.clientWidth || 320));
  const height = () => (window.innerWidth < 600 ? 240 : 340);

  const draw = (points: HistoryPoint[], fromMs: number, toMs: number) => {
    const data: uPlot.AlignedData = [points.map((p) => p.atMs / 1000), ...SERIES.map((s) => points.map((p) => (p[s.key] === null ? null : p[s.key]! / 1000)))];
    plot?.destroy();
    plot = new uPlot(
      {
        width: width(),
        height: height(),
        scales: { x: { time: true, min: fromMs / 1000, max: toMs / 1000 } },
        axes: [{ stroke: '#4a5568', grid: { stroke: '#edf0f4' } }, { stroke: '#4a5568', grid: { stroke: '#edf0f4' }, size: 48 }],
        series: [{ label: 'Time' }, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width ?? 1.5, dash: s.dash, spanGaps: false }))],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      },
      data,
      chartBox,
    );
  };

  const load = async () => {
    // "Now" is the EMS's clock (the demo may run faster than real time).
    const toMs = customTo ?? toMsOf(ctx.latest()?.at) ?? Date.now();
    const fromMs = toMs - rangeMs;
    from.value = toLocalInput(fromMs);
    to.value = toLocalInput(toMs);
    if (!plot) setText(status, 'Loading…');
    try {
      const nowMs = toMsOf(ctx.latest()?.at) ?? Date.now();
      const answer = await ctx.api.history(fromMs, toMs, resolutionFor(fromMs, toMs, nowMs));
      const points = historyPoints(answer);
      const resolution = (answer as { resolution?: string } | null)?.resolution ?? resolutionFor(fromMs, toMs, nowMs);
      draw(points, fromMs, toMs);
      setText(status, points.length ? `${points.length} points at ${resolution} resolution.` : 'No history recorded in this range yet.');
      const s = summarizeHistory(points);
      const now = Date.now();
      replace(
        summary,
        h('div', { class: 'fact' }, h('dt', {}, 'Peak import'), h('dd', {}, s.peakImportW === null ? '—' : `${formatPower(s.peakImportW)} at ${formatTime(s.peakAtMs, now)}`)),
        h('div', { class: 'fact' }, h('dt', {}, 'Grid import'), h('dd', {}, formatEnergy(s.importEnergyWh))),
        h('div', { class: 'fact' }, h('dt', {}, 'Into cars'), h('dd', {}, formatEnergy(s.evEnergyWh))),
        h('div', { class: 'fact' }, h('dt', {}, 'Solar'), h('dd', {}, formatEnergy(s.pvEnergyWh))),
        monthPeak,
      );
      void ctx.api
        .peak()
        .then((p) => replace(monthPeak, h('dt', {}, 'Peak this month (15-min mean)'), h('dd', {}, p.peakPowerW === null ? '—' : `${formatPower(p.peakPowerW)}${p.at ? ` on ${formatDateTime(toMsOf(p.at), now)}` : ''}`)))
        .catch(() => replace(monthPeak));
    } catch (error) {
      setText(status, `Could not load history: ${(error as Error).message}`);
    }
  };

  const resize = new ResizeObserver(() => plot?.setSize({ width: width(), height: height() }));
  resize.observe(chartBox);
  queueMicrotask(() => void load());
  // A range that ends now moves on with time; a custom range stays put.
  const follow = setInterval(() => {
    if (customTo === null && document.visibilityState === 'visible') void load();
  }, 30_000);
  return {
    el,
    destroy: () => {
      clearInterval(follow);
      resize.disconnect();
      plot?.destroy();
    },
  };
}
