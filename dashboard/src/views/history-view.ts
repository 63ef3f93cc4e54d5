// The last 24 h (or a chosen range) drawn by uPlot: the site's powers (grid, PV, battery, EV total,
// limit), the grid current per phase, or one connector (current per phase, cap, energy).
import uPlot from 'uplot';
import type { ConnectorHistoryView, HistoryPoint } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatEnergy, formatPower } from '../format.ts';
import { siteTzDate, timeAxis } from './time-axis.ts';
import { breakGaps, RESOLUTION_MS, resolutionFor, summarizeHistory } from '../history-summary.ts';
import { historyPoints, toMs as toMsOf } from '../normalize.ts';
import { zoneHint } from './zone-hint.ts';

const RANGES: { label: string; ms: number }[] = [
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 24 * 3_600_000 },
  { label: '7 d', ms: 7 * 86_400_000 },
];

/** A site with less history than this opens on the last hour. */
const FRESH_MS = 3_600_000;

const SERIES: { key: keyof Omit<HistoryPoint, 'atMs'>; label: string; stroke: string; dash?: number[]; width?: number }[] = [
  { key: 'gridPowerW', label: 'Grid (kW, + import)', stroke: '#2b6cb0', width: 2 },
  { key: 'pvPowerW', label: 'Solar (kW)', stroke: '#b7791f', width: 2 },
  { key: 'batteryPowerW', label: 'Battery (kW, + discharge)', stroke: '#2f855a', dash: [2, 3] },
  { key: 'evPowerW', label: 'EV total (kW)', stroke: '#6b46c1', width: 2 },
  { key: 'buildingPowerW', label: 'Building (kW)', stroke: '#718096', dash: [1, 2] },
  { key: 'limitW', label: 'Limit (kW)', stroke: '#c53030', dash: [8, 4] },
];

const PHASE_SERIES = [
  { key: 'gridL1A', label: 'L1 (A)', stroke: '#2b6cb0' },
  { key: 'gridL2A', label: 'L2 (A)', stroke: '#b7791f' },
  { key: 'gridL3A', label: 'L3 (A)', stroke: '#2f855a' },
] as const;

/** What the chart shows: the site, the grid phases, or one connector ("CP001/1"). */
type Subject = { kind: 'site' } | { kind: 'phases' } | { kind: 'connector'; chargerId: string; connectorId: number };

/** A gap in the site's history longer than this is time without data (the EMS was not running). */
const siteGapMs = (resolution: string): number => Math.max(10_000, 3 * (RESOLUTION_MS[resolution] ?? 60_000));

const subjectOf = (value: string): Subject => {
  if (value === 'phases') return { kind: 'phases' };
  const m = /^connector:(.+)\/(\d+)$/.exec(value);
  return m ? { kind: 'connector', chargerId: m[1], connectorId: Number(m[2]) } : { kind: 'site' };
};

export function historyView(ctx: AppContext): View {
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'History chart' });
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const summary = h('dl', { class: 'facts summary' });
  const monthPeak = h('div', { class: 'fact' });
  const csv = h('a', { class: 'button secondary', download: '', 'data-testid': 'export-history' }, 'Download CSV');
  const connectorCsv = h('a', { class: 'button secondary', download: '', 'data-testid': 'export-connector-history' }, 'Per-connector CSV');
  const show = h('select', { id: 'hist-show', 'data-testid': 'history-show' }, h('option', { value: 'site' }, 'Site power'), h('option', { value: 'phases' }, 'Grid current per phase'));
  const connectorGroup = h('optgroup', { label: 'Connector' });
  show.append(connectorGroup);
  const fillConnectors = () => {
    const connectors = ctx.latest()?.connectors ?? [];
    const known = new Set(Array.from(connectorGroup.querySelectorAll('option')).map((o) => o.value));
    for (const c of connectors) {
      const value = `connector:${c.chargerId}/${c.connectorId}`;
      if (!known.has(value)) connectorGroup.append(h('option', { value }, `${c.chargerId} connector ${c.connectorId}`));
    }
  };
  fillConnectors();
  const unsubscribe = ctx.subscribe(() => fillConnectors());
  show.addEventListener('change', () => void load(true));
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
            firstView = false;
            pressRange();
            void load(true);
          },
        },
        range.label,
      ),
    );
  }

  const custom = h(
    'form',
    { class: 'range-form', 'aria-label': 'Custom range' },
    h('div', { class: 'field' }, h('label', { for: 'hist-from' }, 'From', zoneHint()), from),
    h('div', { class: 'field' }, h('label', { for: 'hist-to' }, 'To', zoneHint()), to),
    h('button', { type: 'submit', class: 'secondary' }, 'Show'),
  );
  custom.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = ctx.siteTime().fromInput(from.value);
    const t = ctx.siteTime().fromInput(to.value);
    if (f === null || t === null || t <= f) {
      setText(status, 'Choose a start before the end.');
      return;
    }
    rangeMs = t - f;
    customTo = t;
    firstView = false;
    pressRange();
    void load(true);
  });

  const el = h(
    'div',
    { class: 'page history' },
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'hist-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'hist-title' }, 'History'), quick),
      h('div', { class: 'field history-show' }, h('label', { for: 'hist-show' }, 'Show'), show),
      custom,
      chartBox,
      status,
      summary,
      h('div', { class: 'exports' }, csv, connectorCsv),
    ),
  );

  const width = () => Math.max(280, Math.floor(chartBox.clientWidth || 320));
  const height = () => (window.innerWidth < 600 ? 240 : 340);

  interface Line {
    label: string;
    stroke: string;
    width?: number;
    dash?: number[];
    values: (number | null)[];
  }

  const draw = (rawTimes: number[], rawLines: Line[], fromMs: number, toMs: number, fromZero = false, maxGapMs = Number.POSITIVE_INFINITY) => {
    const gapped = breakGaps(rawTimes, rawLines.map((l) => l.values), maxGapMs);
    const times = gapped.times;
    const lines = rawLines.map((l, i) => ({ ...l, values: gapped.columns[i] }));
    // A fresh install has minutes of data in a 24 h range: start the axis at the first point then.
    const first = times[0];
    if (first !== undefined && customTo === null && toMs - first < (toMs - fromMs) / 4) fromMs = Math.max(fromMs, first - Math.max(60_000, (toMs - first) / 20));
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...lines.map((l) => l.values)];
    const time = ctx.siteTime();
    plot?.destroy();
    plot = new uPlot(
      {
        tzDate: siteTzDate(time),
        width: width(),
        height: height(),
        scales: { x: { time: true, min: fromMs / 1000, max: toMs / 1000 }, ...(fromZero ? { y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, Math.max(1, max * 1.1)] } } : {}) },
        axes: [
          timeAxis(chartBox, time),
          { stroke: '#4a5568', grid: { stroke: '#edf0f4' }, size: 48 }],
        series: [{ label: 'Time', value: (_u, v) => time.legendTime(v) }, ...lines.map((l) => ({ label: l.label, stroke: l.stroke, width: l.width ?? 1.5, dash: l.dash, spanGaps: false }))],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      },
      data,
      chartBox,
    );
  };

  const fact = (label: string, value: string, testid?: string) => h('div', { class: 'fact' }, h('dt', {}, label), h('dd', testid ? { 'data-testid': testid } : {}, value));
  const csvRange = (fromMs: number, toMs: number) => `from=${fromMs}&to=${toMs}`;

  const showConnector = async (subject: Extract<Subject, { kind: 'connector' }>, fromMs: number, toMs: number, resolution: '1m' | '15m', stale: () => boolean) => {
    const answer: ConnectorHistoryView = await ctx.api.connectorHistory(fromMs, toMs, resolution, subject);
    if (stale()) return;
    const entry = answer.connectors.find((c) => c.chargerId === subject.chargerId && c.connectorId === subject.connectorId);
    const points = entry?.points ?? [];
    const times = points.map((p) => p.atMs);
    draw(
      times,
      [
        ...PHASE_SERIES.map((s, i) => ({ label: s.label, stroke: s.stroke, width: 2, values: points.map((p) => p.currentA[i]) })),
        { label: 'Cap (A)', stroke: '#c53030', dash: [8, 4], values: points.map((p) => p.capA) },
      ],
      fromMs,
      toMs,
      true,
      // An interval without a car is left out: no line across it.
      1.5 * (RESOLUTION_MS[answer.resolution] ?? 60_000),
    );
    const name = `${subject.chargerId} connector ${subject.connectorId}`;
    setText(status, points.length ? `${name}: ${points.length} ${points.length === 1 ? 'interval' : 'intervals'} at ${answer.resolution} resolution (intervals without a car are left out).` : `${name}: no car charged here in this range.`);
    const peak = points.reduce<{ w: number; at: number } | null>((best, p) => (best === null || p.powerW > best.w ? { w: p.powerW, at: p.atMs } : best), null);
    const now = toMsOf(ctx.latest()?.at) ?? Date.now();
    replace(
      summary,
      fact('Into this connector', formatEnergy(entry?.energyWh ?? 0), 'connector-energy'),
      fact(`Highest ${answer.resolution} mean power`, peak ? `${formatPower(peak.w)} at ${ctx.siteTime().time(peak.at, now)}` : '—'),
    );
    const q = `${csvRange(fromMs, toMs)}&resolution=${answer.resolution}&chargerId=${encodeURIComponent(subject.chargerId)}&connectorId=${subject.connectorId}`;
    csv.setAttribute('href', `/api/v1/history/connectors?format=csv&${q}`);
  };

  /** Draws the site (or its phases); returns the time of the first point in the range, or null. */
  const showSite = async (subject: Subject, fromMs: number, toMs: number, nowMs: number, stale: () => boolean): Promise<number | null | 'stale'> => {
    const answer = await ctx.api.history(fromMs, toMs, resolutionFor(fromMs, toMs, nowMs));
    if (stale()) return 'stale';
    const points = historyPoints(answer);
    const resolution = (answer as { resolution?: string } | null)?.resolution ?? resolutionFor(fromMs, toMs, nowMs);
    const times = points.map((p) => p.atMs);
    const now = nowMs;
    csv.setAttribute('href', `/api/v1/history?format=csv&resolution=${resolution}&${csvRange(fromMs, toMs)}`);
    if (subject.kind === 'phases') {
      const limitA = ctx.latest()?.site.limitA;
      const limit = limitA && limitA.length ? Math.min(...limitA) : null;
      draw(
        times,
        [
          ...PHASE_SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, values: points.map((p) => p[s.key]) })),
          ...(limit === null ? [] : [{ label: 'Limit now (A)', stroke: '#c53030', dash: [8, 4], values: points.map(() => limit) }]),
        ],
        fromMs,
        toMs,
        true,
        siteGapMs(resolution),
      );
      const hasPhases = points.some((p) => p.gridL1A !== null);
      setText(status, hasPhases ? `Grid current per phase: ${points.length} ${points.length === 1 ? 'point' : 'points'} at ${resolution} resolution.` : 'No per-phase grid current in this range (it needs a grid meter that reports phase currents).');
      const highest = PHASE_SERIES.map((s) => {
        let best: { a: number; at: number } | null = null;
        for (const p of points) {
          const a = p[s.key];
          if (a !== null && (best === null || a > best.a)) best = { a, at: p.atMs };
        }
        return fact(`Highest ${s.label.replace(' (A)', '')}`, best ? `${best.a.toFixed(1)} A at ${ctx.siteTime().time(best.at, now)}` : '—', `phase-peak-${s.key.slice(-2, -1)}`);
      });
      replace(summary, ...highest);
      return times[0] ?? null;
    }
    draw(times, SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width, dash: s.dash, values: points.map((p) => (p[s.key] === null ? null : p[s.key]! / 1000)) })), fromMs, toMs, false, siteGapMs(resolution));
    setText(status, points.length ? `${points.length} ${points.length === 1 ? 'point' : 'points'} at ${resolution} resolution.` : 'No history recorded in this range yet.');
    const sampleMs = (answer as { sampleMs?: unknown } | null)?.sampleMs;
    const s = summarizeHistory(points, undefined, RESOLUTION_MS[resolution], typeof sampleMs === 'number' && sampleMs > 0 ? sampleMs : undefined);
    if (s.nettedSamples > 0) {
      // Minutes recorded before the EMS kept import and export apart: said, not hidden.
      const minutes = Math.max(1, Math.round((s.nettedSamples * (typeof sampleMs === 'number' && sampleMs > 0 ? sampleMs : 1000)) / 60_000));
      status.append(` Grid import and export include ${minutes} min recorded by an older version, netted within each minute (both may read low there).`);
    }
    replace(
      summary,
      fact(`Highest ${resolution} import`, s.peakImportW === null ? '—' : `${formatPower(s.peakImportW)} at ${ctx.siteTime().time(s.peakAtMs, now)}`),
      fact('Grid import', formatEnergy(s.importEnergyWh)),
      fact('Grid export', formatEnergy(s.exportEnergyWh)),
      fact('Into cars', formatEnergy(s.evEnergyWh)),
      fact('Solar', formatEnergy(s.pvEnergyWh)),
      monthPeak,
    );
    void ctx.api
      .peak()
      .then((p) => !stale() && replace(monthPeak, h('dt', {}, 'Peak this month (15-min mean)'), h('dd', {}, p.peakPowerW === null ? '—' : `${formatPower(p.peakPowerW)}${p.at ? ` on ${ctx.siteTime().dateTime(toMsOf(p.at), now)}` : ''}`)))
      .catch(() => replace(monthPeak));
    return times[0] ?? null;
  };

  /** Presses the quick-range button for rangeMs (none for a custom range). */
  const pressRange = () => quick.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(customTo === null && RANGES.find((r) => r.label === b.textContent)?.ms === rangeMs)));
  // The first view on a fresh install: less than an hour recorded shows the last hour at 1 s
  // resolution, not two 1-min points in one pixel of a 24 h axis.
  let firstView = true;

  // Only the newest load draws: an older answer (the 30 s refresh of the last range, a slow
  // query on a busy EMS) that arrives after the operator chose another range is dropped, so the
  // chart, the status line and the pressed button always say the same range.
  let generation = 0;

  /** `chosen`: the operator changed what to show, so the status says it is loading at once. */
  const load = async (chosen = false): Promise<void> => {
    const mine = ++generation;
    const stale = () => mine !== generation;
    // "Now" is the EMS's clock (the demo may run faster than real time).
    const toMs = customTo ?? toMsOf(ctx.latest()?.at) ?? Date.now();
    const fromMs = toMs - rangeMs;
    from.value = ctx.siteTime().toInput(fromMs);
    to.value = ctx.siteTime().toInput(toMs);
    if (!plot || chosen) setText(status, 'Loading…');
    try {
      const nowMs = toMsOf(ctx.latest()?.at) ?? Date.now();
      const subject = subjectOf(show.value);
      const connectorResolution = resolutionFor(fromMs, toMs, nowMs) === '15m' ? '15m' : '1m';
      connectorCsv.setAttribute('href', `/api/v1/history/connectors?format=csv&resolution=${connectorResolution}&${csvRange(fromMs, toMs)}`);
      if (subject.kind === 'connector') await showConnector(subject, fromMs, toMs, connectorResolution, stale);
      else {
        const firstAtMs = await showSite(subject, fromMs, toMs, nowMs, stale);
        if (firstAtMs === 'stale') return;
        const young = firstAtMs === null || toMs - firstAtMs <= FRESH_MS;
        if (firstView && customTo === null && rangeMs > FRESH_MS && young) {
          firstView = false;
          rangeMs = FRESH_MS;
          pressRange();
          return load(true);
        }
      }
      firstView = false;
    } catch (error) {
      if (!stale()) setText(status, `Could not load history: ${(error as Error).message}`);
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
      unsubscribe();
      clearInterval(follow);
      resize.disconnect();
      plot?.destroy();
    },
  };
}
