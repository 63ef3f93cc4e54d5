// Sessions: the cars plugged in now (live) and the recent ones (from storage).
import type { ConnectorView, SessionRecord, StateView } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatCurrent, formatDuration, formatEnergy, formatMoney, formatPercent, statusLook, type SiteTime } from '../format.ts';
import { priorityRank, sessionRecords, toMs } from '../normalize.ts';
import { table } from './table.ts';
import { whyText } from '../why-text.ts';
import { zoneHint } from './zone-hint.ts';

const DAY_MS = 86_400_000;

/** The day after "2026-12-06" ("2026-12-07"), calendar arithmetic (no DST involved). */
const nextDay = (isoDay: string): string => {
  const [y, m, d] = isoDay.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
};

/**
 * Download links for the billing exports over a range of the site's days (from its 00:00 to the
 * end of `to`): "today" and midnight are the site's, on the EMS's clock, whatever the browser's zone.
 */
export function exportsPanel(time: SiteTime, nowMs: number): HTMLElement {
  const from = h('input', { type: 'date', id: 'export-from', value: time.isoDay(nowMs - 30 * DAY_MS) });
  const to = h('input', { type: 'date', id: 'export-to', value: time.isoDay(nowMs) });
  const sessions = h('a', { class: 'button secondary', 'data-testid': 'export-sessions', download: '' }, 'Sessions (CSV)');
  const bills = h('a', { class: 'button secondary', 'data-testid': 'export-bills', download: '' }, 'Bills (CSV)');
  const problem = h('p', { class: 'form-error', role: 'alert' });
  const update = () => {
    const fromMs = time.dayStartMs(from.value);
    const toDay = time.dayStartMs(to.value);
    const ok = fromMs !== null && toDay !== null && fromMs <= toDay;
    setText(problem, ok ? '' : 'Choose a start day on or before the end day.');
    for (const [link, path] of [[sessions, '/api/v1/sessions'], [bills, '/api/v1/bills']] as const) {
      if (ok) link.setAttribute('href', `${path}?format=csv&from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(time.dayStartMs(nextDay(to.value))!).toISOString())}`);
      else link.removeAttribute('href');
      link.setAttribute('aria-disabled', String(!ok));
    }
  };
  from.addEventListener('change', update);
  to.addEventListener('change', update);
  update();
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title' }, 'Export for billing'),
    h('p', { class: 'muted small' }, 'Per session: tag and name, tier, charger, start and stop, meter readings, kWh, cost and idle time. Days run midnight to midnight', zoneHint(), '.'),
    h(
      'div',
      { class: 'exports' },
      h('div', { class: 'field' }, h('label', { for: 'export-from' }, 'From'), from),
      h('div', { class: 'field' }, h('label', { for: 'export-to' }, 'To (inclusive)'), to),
      sessions,
      bills,
    ),
    problem,
  );
}

export function sessionsView(ctx: AppContext): View {
  const active = h('div', {});
  const past = h('div', {});
  const pastStatus = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const el = h(
    'div',
    { class: 'page sessions' },
    h('section', { class: 'panel', 'aria-labelledby': 'active-title' }, h('h2', { id: 'active-title' }, 'Plugged in now'), active),
    h('section', { class: 'panel', 'aria-labelledby': 'past-title' }, h('h2', { id: 'past-title' }, 'Finished sessions'), pastStatus, past),
    exportsPanel(ctx.siteTime(), toMs(ctx.latest()?.at) ?? Date.now()),
  );

  const renderActive = (state: StateView) => {
    // "Today" is the site's day on the EMS's clock.
    const now = toMs(state.at) ?? Date.now();
    const time = ctx.siteTime();
    const rows = state.connectors.filter((c): c is ConnectorView & { session: NonNullable<ConnectorView['session']> } => c.session !== null);
    replace(
      active,
      table(
        'Sessions in progress',
        [
          { label: 'Connector', cell: (c) => `${c.chargerId} / ${c.connectorId}`, nowrap: true },
          { label: 'Status', cell: (c) => `${statusLook(c.status).icon} ${c.session.paused ? 'Paused by operator' : statusLook(c.status).label}` },
          { label: 'Car', cell: (c) => c.session.name ?? c.session.idTag, nowrap: true },
          { label: 'Tier', cell: (c) => c.session.tier, nowrap: true },
          { label: 'Plugged in', cell: (c) => time.time(toMs(c.session.startedAt), now), nowrap: true },
          { label: 'Departure', cell: (c) => time.time(toMs(c.session.departure), now), nowrap: true },
          { label: 'Energy', cell: (c) => formatEnergy(c.session.energyWh), numeric: true },
          { label: 'Cost', cell: (c) => formatMoney(c.session.cost, c.session.currency), numeric: true },
          { label: 'SoC', cell: (c) => formatPercent(c.session.soc), numeric: true },
          { label: 'Cap', cell: (c) => formatCurrent(c.capA), numeric: true },
          {
            label: 'Priority',
            cell: (c) => {
              const r = priorityRank(c.rank, c.reason);
              return r ? String(r.rank) : '—';
            },
            numeric: true,
          },
          { label: 'Why', cell: (c) => whyText(c, now, time) },
        ],
        rows,
        'No car is plugged in.',
      ),
    );
  };

  const loadPast = async () => {
    setText(pastStatus, 'Loading…');
    try {
      // Running ones are in the table above; this one is the record of finished sessions.
      const records = sessionRecords(await ctx.api.sessions())
        .filter((r) => r.endedAt !== null)
        .sort((a, b) => (toMs(b.endedAt) ?? 0) - (toMs(a.endedAt) ?? 0));
      const now = toMs(ctx.latest()?.at) ?? Date.now();
      const time = ctx.siteTime();
      setText(pastStatus, '');
      replace(
        past,
        table<SessionRecord>(
          'Finished sessions',
          [
            { label: 'Connector', cell: (r) => `${r.chargerId} / ${r.connectorId}`, nowrap: true },
            { label: 'Car', cell: (r) => r.name ?? r.idTag, nowrap: true },
            { label: 'Tier', cell: (r) => r.tier ?? '—', nowrap: true },
            { label: 'Started', cell: (r) => time.time(toMs(r.startedAt), now), nowrap: true },
            { label: 'Ended', cell: (r) => time.time(toMs(r.endedAt), now), nowrap: true },
            {
              label: 'Duration',
              cell: (r) => {
                const s = toMs(r.startedAt);
                const e = toMs(r.endedAt) ?? now;
                return s === null ? '—' : formatDuration(e - s);
              },
            },
            { label: 'Energy', cell: (r) => formatEnergy(r.energyWh), numeric: true },
            { label: 'Cost', cell: (r) => formatMoney(r.cost, r.currency), numeric: true },
          ],
          records.slice(0, 200),
          'No finished sessions yet.',
        ),
      );
    } catch (error) {
      setText(pastStatus, `Could not load sessions: ${(error as Error).message}`);
    }
  };

  const unsubscribe = ctx.subscribe(renderActive);
  void loadPast();
  return { el, destroy: unsubscribe };
}
