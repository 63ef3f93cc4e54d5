// Grid events in force or coming (OpenADR, MQTT, operator): what they ask for, until when, and,
// for operators, opting the site out of an event or back in.
import { ApiError, type ApiClient } from '../api-client.ts';
import type { Role } from '../api-types.ts';
import { canSteer } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { formatPower, serverNowOf, type SiteTime } from '../format.ts';
import { listOf, toMs } from '../normalize.ts';

export interface GridEventView {
  id: string;
  source: string;
  kind: string;
  value: number;
  startMs: number | null;
  endMs: number | null;
  text?: string;
  detail?: string;
  eventId?: string;
  opt?: 'in' | 'out';
  active?: boolean;
}

export function gridEvents(body: unknown): GridEventView[] {
  return (listOf(body, ['signals', 'items']) as Record<string, unknown>[])
    .filter((s) => typeof s === 'object' && s !== null && typeof s.kind === 'string')
    .map((s): GridEventView => ({
      id: String(s.id ?? ''),
      source: String(s.source ?? ''),
      kind: String(s.kind),
      value: typeof s.value === 'number' ? s.value : Number.NaN,
      startMs: toMs(s.startMs ?? s.start),
      endMs: toMs(s.endMs ?? s.end),
      text: typeof s.text === 'string' ? s.text : undefined,
      detail: typeof s.detail === 'string' ? s.detail : undefined,
      eventId: typeof s.eventId === 'string' ? s.eventId : undefined,
      opt: s.opt === 'out' ? 'out' : s.opt === 'in' ? 'in' : undefined,
      active: typeof s.active === 'boolean' ? s.active : undefined,
    }))
    .sort((a, b) => (a.startMs ?? 0) - (b.startMs ?? 0));
}

function describe(e: GridEventView): string {
  const value = e.kind.endsWith('limit') ? formatPower(e.value) : e.kind === 'price' ? `${e.value}/kWh` : String(e.value);
  return `${e.text ?? e.kind} ${value}`;
}

export class GridEventsPanel {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'grid-events' });
  private readonly status = h('p', { class: 'muted small', role: 'status' });

  constructor(
    private readonly api: ApiClient,
    private readonly role: Role,
    private readonly siteTime: () => SiteTime,
  ) {
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'grid-events-title' }, h('h2', { id: 'grid-events-title' }, 'Grid events'), this.list, this.status);
  }

  async load(nowMs: number): Promise<void> {
    try {
      this.render(gridEvents(await this.api.signals()), nowMs);
    } catch (error) {
      setText(this.status, `Could not load grid events: ${(error as Error).message}`);
    }
  }

  private render(events: GridEventView[], nowMs: number): void {
    const shown = events.filter((e) => e.endMs === null || e.endMs > nowMs);
    if (!shown.length) {
      replace(this.list, h('li', { class: 'muted' }, 'No grid event in force or announced.'));
      return;
    }
    const byEvent = new Set<string>();
    replace(
      this.list,
      ...shown.map((e) => {
        const active = e.active ?? (e.startMs === null || e.startMs <= nowMs);
        const when = `${active ? 'now' : `from ${this.siteTime().time(e.startMs, nowMs)}`}${e.endMs !== null ? ` until ${this.siteTime().time(e.endMs, nowMs)}` : ''}`;
        // One opt button per event, on its first signal.
        const showButton = canSteer(this.role) && e.eventId !== undefined && !byEvent.has(e.eventId);
        if (e.eventId) byEvent.add(e.eventId);
        return h(
          'li',
          { class: `grid-event${e.opt === 'out' ? ' opted-out' : ''}`, 'data-event': e.eventId ?? e.id },
          h(
            'div',
            { class: 'event-body' },
            h('div', { class: 'event-title' }, `${active ? '⚑' : '◷'} ${describe(e)}`),
            h('div', { class: 'muted small' }, `${e.source}${e.detail ? ` · ${e.detail}` : ''} · ${when}${e.opt === 'out' ? ' · opted out: not applied' : ''}`),
          ),
          showButton ? this.optButton(e) : null,
        );
      }),
    );
  }

  private optButton(e: GridEventView): HTMLElement {
    const out = e.opt === 'out';
    const button = h('button', { type: 'button', class: 'secondary small-button' }, out ? 'Opt back in' : 'Opt out');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await this.api.request('POST', `/api/v1/signals/${encodeURIComponent(e.eventId!)}/${out ? 'opt-in' : 'opt-out'}`, {});
        setText(this.status, out ? `Opted back in to ${e.eventId}.` : `Opted out of ${e.eventId}; the site no longer follows it.`);
        await this.load(serverNowOf(this.el));
      } catch (error) {
        setText(this.status, error instanceof ApiError ? error.message : String(error));
        button.disabled = false;
      }
    });
    return button;
  }
}
