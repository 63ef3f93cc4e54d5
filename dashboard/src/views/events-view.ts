// Events: faults, grid signals, config changes and every audited write, newest first.
import type { AppContext, View } from '../app-context.ts';
import { ApiError } from '../api-client.ts';
import type { DeviceView, SignalView } from '../api-types.ts';
import { h, replace, setText } from '../dom.ts';
import { buildEvents, type EventKind, type SiteEvent, type SiteLogEntry } from '../event-log.ts';
import { auditEntries, listOf, toMs } from '../normalize.ts';
import { GridEventsPanel } from './grid-events-panel.ts';

const KINDS: { kind: EventKind | 'all'; label: string; icon: string }[] = [
  { kind: 'all', label: 'All', icon: '' },
  { kind: 'fault', label: 'Faults & equipment', icon: '⚠' },
  { kind: 'signal', label: 'Grid signals', icon: '⚑' },
  { kind: 'session', label: 'Sessions', icon: '⚡' },
  { kind: 'config', label: 'Config changes', icon: '⚙' },
  { kind: 'audit', label: 'Actions', icon: '✎' },
];
const iconOf = (kind: EventKind) => KINDS.find((k) => k.kind === kind)?.icon ?? '';

export function eventsView(ctx: AppContext): View {
  const list = h('ol', { class: 'events', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted small' });
  const filters = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Show' });
  let filter: EventKind | 'all' = 'all';
  let events: SiteEvent[] = [];

  for (const k of KINDS) {
    filters.append(
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(k.kind === filter),
          onclick: (event: Event) => {
            filter = k.kind;
            filters.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b === event.currentTarget)));
            render();
          },
        },
        k.label,
      ),
    );
  }

  const render = () => {
    const now = toMs(ctx.latest()?.at) ?? Date.now();
    const shown = events.filter((e) => (filter === 'all' ? !e.quiet : e.kind === filter));
    if (!shown.length) {
      replace(list, h('li', { class: 'muted' }, 'Nothing to show.'));
      return;
    }
    replace(
      list,
      ...shown.slice(0, 300).map((e) =>
        h(
          'li',
          { class: `event kind-${e.kind}${e.severity ? ` severity-${e.severity}` : ''}` },
          h('span', { class: 'event-icon', 'aria-hidden': 'true' }, e.severity === 'error' || e.severity === 'warning' ? '⚠' : e.severity === 'info' && e.kind === 'fault' ? '✓' : iconOf(e.kind)),
          h(
            'div',
            { class: 'event-body' },
            h(
              'div',
              { class: 'event-title' },
              h('span', { class: 'visually-hidden' }, `${KINDS.find((k) => k.kind === e.kind)?.label}: `),
              e.severity === 'error' ? h('span', { class: 'severity' }, 'Error: ') : e.severity === 'warning' ? h('span', { class: 'severity' }, 'Warning: ') : null,
              e.title,
            ),
            e.detail ? h('div', { class: 'muted small' }, e.detail) : null,
          ),
          h('time', { class: 'muted small' }, e.atMs === null ? 'now' : ctx.siteTime().time(e.atMs, now)),
        ),
      ),
    );
  };

  const load = async () => {
    setText(status, 'Loading…');
    const latest = ctx.latest();
    const optional = async (get: () => Promise<unknown>): Promise<unknown> => {
      try {
        return await get();
      } catch (error) {
        if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return [];
        throw error;
      }
    };
    try {
      const [audit, signals, devices, siteLog] = await Promise.all([
        optional(() => ctx.api.audit()),
        optional(() => ctx.api.signals()),
        optional(() => ctx.api.devices()),
        ctx.api.siteEvents(),
      ]);
      events = buildEvents({
        audit: auditEntries(audit),
        signals: listOf(signals, ['signals', 'items']) as SignalView[],
        devices: (listOf(devices, ['devices', 'items']) as DeviceView[]).length ? (listOf(devices, ['devices', 'items']) as DeviceView[]) : (latest?.devices ?? []),
        connectors: latest?.connectors ?? [],
        siteLog: siteLog as SiteLogEntry[] | null,
        time: ctx.siteTime(),
      });
      setText(status, '');
      render();
    } catch (error) {
      setText(status, `Could not load events: ${(error as Error).message}`);
    }
  };

  const gridEventsPanel = new GridEventsPanel(ctx.api, ctx.role, () => ctx.siteTime());
  void gridEventsPanel.load(toMs(ctx.latest()?.at) ?? Date.now());
  const el = h(
    'div',
    { class: 'page events-page' },
    gridEventsPanel.el,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'ev-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'ev-title' }, 'Events'), h('button', { type: 'button', class: 'secondary', onclick: () => void load() }, '↻ Refresh')),
      filters,
      status,
      list,
    ),
  );
  void load();
  return { el };
}
