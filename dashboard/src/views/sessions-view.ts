// Sessions: the cars plugged in now (live) and the recent ones (from storage).
import type { ConnectorView, SessionRecord, StateView } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatCurrent, formatDuration, formatEnergy, formatMoney, formatPercent, formatTime, statusLook } from '../format.ts';
import { priorityRank, reasonText, sessionRecords, toMs } from '../normalize.ts';
import { table } from './table.ts';

export function sessionsView(ctx: AppContext): View {
  const active = h('div', {});
  const past = h('div', {});
  const pastStatus = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const el = h(
    'div',
    { class: 'page sessions' },
    h('section', { class: 'panel', 'aria-labelledby': 'active-title' }, h('h2', { id: 'active-title' }, 'Plugged in now'), active),
    h('section', { class: 'panel', 'aria-labelledby': 'past-title' }, h('h2', { id: 'past-title' }, 'Finished sessions'), pastStatus, past),
  );

  const renderActive = (state: StateView) => {
    const now = Date.now();
    const rows = state.connectors.filter((c): c is ConnectorView & { session: NonNullable<ConnectorView['session']> } => c.session !== null);
    replace(
      active,
      table(
        'Sessions in progress',
        [
          { label: 'Connector', cell: (c) => `${c.chargerId} / ${c.connectorId}` },
          { label: 'Status', cell: (c) => `${statusLook(c.status).icon} ${c.session.paused ? 'Paused by operator' : statusLook(c.status).label}` },
          { label: 'Tag', cell: (c) => c.session.idTag },
          { label: 'Tier', cell: (c) => c.session.tier },
          { label: 'Plugged in', cell: (c) => formatTime(toMs(c.session.startedAt), now) },
          { label: 'Departure', cell: (c) => formatTime(toMs(c.session.departure), now) },
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
          { label: 'Why', cell: (c) => reasonText(c.reason) },
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
      const now = Date.now();
      setText(pastStatus, '');
      replace(
        past,
        table<SessionRecord>(
          'Finished sessions',
          [
            { label: 'Connector', cell: (r) => `${r.chargerId} / ${r.connectorId}` },
            { label: 'Tag', cell: (r) => r.idTag },
            { label: 'Tier', cell: (r) => r.tier ?? '—' },
            { label: 'Started', cell: (r) => formatTime(toMs(r.startedAt), now) },
            { label: 'Ended', cell: (r) => formatTime(toMs(r.endedAt), now) },
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
