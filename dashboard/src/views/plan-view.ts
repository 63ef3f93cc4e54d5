// The plan: for each car the power the horizon planner intends per slot, drawn against the import
// price, the PV forecast and the import limit it planned with, and whether the car will be ready by
// its departure. From GET /api/v1/plan, refreshed every half minute.
import uPlot from 'uplot';
import type { PlanView } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatEnergy, formatPower, type SiteTime } from '../format.ts';
import { siteTzDate, timeAxis } from './time-axis.ts';
import { toMs } from '../normalize.ts';

const REFRESH_MS = 30_000;
type Plan = NonNullable<PlanView['plan']>;
type PlannedSession = Plan['sessions'][number];

/** "Ready by 07:30", "3.2 kWh short at 07:30", or "no departure set". */
export function readiness(s: PlannedSession, nowMs: number, time: SiteTime): { text: string; tone: 'ok' | 'warn' | 'idle' } {
  const departure = toMs(s.departure);
  if (departure === null) return { text: `No departure set: planned ${formatEnergy(s.plannedWh)}`, tone: 'idle' };
  if (s.readyByDeparture) return { text: `✓ Ready by ${time.time(departure, nowMs)} (${formatEnergy(s.plannedWh)} planned)`, tone: 'ok' };
  return { text: `⚠ ${formatEnergy(s.unmetWh)} short at departure ${time.time(departure, nowMs)}`, tone: 'warn' };
}

function sessionChart(box: HTMLElement, plan: Plan, s: PlannedSession, width: number, time: SiteTime): uPlot {
  const x = plan.slots.map((slot) => (toMs(slot.start) ?? 0) / 1000);
  const kW = (values: (number | null)[]) => values.map((v) => (v === null ? null : v / 1000));
  return new uPlot(
    {
      tzDate: siteTzDate(time),
      width,
      height: 180,
      scales: { x: { time: true }, kw: { auto: true }, price: { auto: true } },
      axes: [
        timeAxis(box, time),
        { scale: 'kw', stroke: '#4a5568', grid: { stroke: '#edf0f4' }, size: 44, label: 'kW' },
        { scale: 'price', side: 1, stroke: '#9c4221', grid: { show: false }, size: 52, label: 'per kWh' },
      ],
      series: [
        { label: 'Time', value: (_u, v) => time.legendTime(v) },
        { label: 'This car (kW)', scale: 'kw', points: { show: false }, stroke: '#6b46c1', width: 2, fill: 'rgba(107,70,193,0.12)', paths: uPlot.paths.stepped!({ align: 1 }) },
        { label: 'PV forecast (kW)', scale: 'kw', points: { show: false }, stroke: '#b7791f', width: 1.5 },
        { label: 'Import limit (kW)', scale: 'kw', points: { show: false }, stroke: '#c53030', dash: [8, 4], width: 1.5 },
        { label: 'Import price', scale: 'price', points: { show: false }, stroke: '#9c4221', dash: [2, 3], width: 1.5, paths: uPlot.paths.stepped!({ align: 1 }) },
      ],
      legend: { live: false },
      cursor: { points: { show: false } },
    },
    [x, kW(s.powerW), kW(plan.slots.map((slot) => slot.pvW)), kW(plan.slots.map((slot) => slot.limitW)), plan.slots.map((slot) => slot.importPricePerKWh)],
    box,
  );
}

export function planView(ctx: AppContext): View {
  const status = h('p', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'plan-status' });
  const summary = h('p', { class: 'small' });
  const list = h('div', { 'data-testid': 'plan-sessions' });
  const el = h(
    'div',
    { class: 'page plan' },
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'plan-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'plan-title' }, 'Charging plan'), status),
      h('p', { class: 'muted small' }, 'What the planner intends for each car over the coming hours, against the import price, the PV forecast and the import limit it planned with. The control loop follows it within the live limits.'),
      summary,
      list,
    ),
  );
  let charts: uPlot[] = [];
  let stopped = false;

  const render = (view: PlanView) => {
    charts.forEach((c) => c.destroy());
    charts = [];
    const nowMs = toMs(ctx.latest()?.at) ?? Date.now();
    if (!view.enabled) {
      setText(status, 'The planner is switched off (planner.enabled): cars charge by the live allocation alone.');
      replace(list);
      setText(summary, '');
      return;
    }
    const plan = view.plan;
    if (!plan) {
      setText(status, view.lastError ? `No plan in force: ${view.lastError}` : 'No plan in force: no car to plan for.');
      replace(list);
      setText(summary, '');
      return;
    }
    setText(status, `Planned ${view.lastPlanAt ? ctx.siteTime().time(toMs(view.lastPlanAt), nowMs) : ''} · ${plan.slots.length} slots of ${Math.round(plan.slotMs / 60_000)} min`);
    setText(summary, `Planned peak import ${formatPower(plan.peakW)} over the horizon.`);
    const width = Math.max(280, Math.min(900, (list.clientWidth || 600) - 8));
    replace(
      list,
      ...plan.sessions.map((s) => {
        const ready = readiness(s, nowMs, ctx.siteTime());
        const box = h('div', { class: 'plan-chart', role: 'img', 'aria-label': `Planned power for ${s.name ?? s.idTag ?? s.chargerId}` });
        const item = h(
          'article',
          { class: 'plan-session', 'data-plan-session': `${s.chargerId}/${s.connectorId ?? ''}` },
          h('h3', {}, `${s.name ?? s.idTag ?? 'Car'} · ${s.chargerId}${s.connectorId === null ? '' : ` / ${s.connectorId}`}`),
          h('p', { class: `plan-ready tone-${ready.tone}`, 'data-testid': 'plan-ready' }, ready.text),
          s.steer ? null : h('p', { class: 'muted small' }, 'Planned as load only (charges as soon as it can).'),
          box,
        );
        charts.push(sessionChart(box, plan, s, width, ctx.siteTime()));
        return item;
      }),
    );
    if (!plan.sessions.length) replace(list, h('p', { class: 'muted' }, 'No car in the plan.'));
  };

  const load = async () => {
    try {
      const view = await ctx.api.plan(96);
      if (!stopped) render(view);
    } catch (error) {
      if (!stopped) setText(status, `Could not load the plan: ${(error as Error).message}`);
    }
  };
  queueMicrotask(() => void load());
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void load();
  }, REFRESH_MS);
  return {
    el,
    destroy: () => {
      stopped = true;
      clearInterval(timer);
      charts.forEach((c) => c.destroy());
    },
  };
}
