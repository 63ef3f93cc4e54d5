// The OpenADR VENs on the events page: per configured VTN, whether the site is registered, when the
// VTN last answered, the fault right now, the certificate's expiry and the events the VEN knows.
// Hidden when the config has no openadr section. Data: GET /api/v1/openadr.
import type { OpenAdrView, VenView } from '../../../src/api/openadr-view.ts';
import { ApiError, type ApiClient } from '../api-client.ts';
import { h, replace, setText } from '../dom.ts';
import { serverNowOf, siteTimeOf, type SiteTime } from '../format.ts';
import { toMs } from '../normalize.ts';
import { PanelPoller } from '../panel-poller.ts';

export interface VenLine {
  label: string;
  value: string;
  tone?: 'bad' | 'warn' | 'ok';
}

/** Whether the VEN is fine, in trouble, or not (yet) registered; words first, colour second. */
export function venHealth(ven: VenView): { tone: 'ok' | 'warn' | 'bad'; text: string } {
  if (ven.lastError) return { tone: 'bad', text: ven.registered ? 'Registered, VTN not answering' : 'Not registered' };
  if (!ven.registered) return { tone: 'warn', text: 'Registering…' };
  return { tone: 'ok', text: 'Registered' };
}

/** The facts of one VEN as label/value lines. Pure. */
export function venLines(ven: VenView, nowMs: number, time: SiteTime): VenLine[] {
  const lines: VenLine[] = [
    { label: 'VEN id', value: ven.venId ?? '—' },
    { label: 'Last poll', value: time.time(toMs(ven.lastPollAt), nowMs) },
    { label: 'Last answer', value: time.time(toMs(ven.lastContactAt), nowMs) },
  ];
  if (ven.lastError) lines.push({ label: 'Error', value: ven.lastError, tone: 'bad' });
  const days = ven.certificate.expiresInDays;
  if (ven.certificate.expiresAt !== null && days !== null) {
    lines.push({
      label: 'Certificate',
      value: days < 0 ? `expired ${time.time(toMs(ven.certificate.expiresAt), nowMs)}` : `expires in ${days} day${days === 1 ? '' : 's'}`,
      ...(days < 0 ? { tone: 'bad' as const } : days < 30 ? { tone: 'warn' as const } : {}),
    });
  }
  if (ven.notifications.length) lines.push({ label: 'Push', value: ven.notifications.join(', ') });
  return lines;
}

export class VenStatusPanel {
  readonly el: HTMLElement;
  private readonly list = h('div', { class: 'ven-list' });
  private readonly status = h('p', { class: 'muted small', role: 'status' });
  private readonly poller: PanelPoller;

  constructor(
    private readonly api: ApiClient,
    refreshMs = 10_000,
  ) {
    this.el = h(
      'section',
      { class: 'panel ven-status', 'aria-labelledby': 'ven-status-title', 'data-panel': 'ven-status', hidden: true },
      h('div', { class: 'panel-head' }, h('h2', { id: 'ven-status-title' }, 'OpenADR link'), h('button', { type: 'button', class: 'secondary', onclick: () => void this.load() }, '↻ Refresh')),
      this.list,
      this.status,
    );
    this.poller = new PanelPoller(this.el, () => this.load(), refreshMs);
  }

  /** Loads now and every refreshMs while the panel is on the page. */
  start(): void {
    this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  async load(): Promise<void> {
    try {
      const view = await this.api.request<OpenAdrView>('GET', '/api/v1/openadr');
      this.render(view.vtns ?? [], serverNowOf(this.el));
      setText(this.status, '');
    } catch (error) {
      if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
        this.el.hidden = true;
        return;
      }
      setText(this.status, `Could not load the OpenADR status: ${(error as Error).message}`);
    }
  }

  private render(vens: readonly VenView[], nowMs: number): void {
    this.el.hidden = vens.length === 0;
    replace(
      this.list,
      ...vens.map((ven) => {
        const health = venHealth(ven);
        const events = ven.events.filter((e) => e.state !== 'completed' && e.state !== 'cancelled');
        return h(
          'article',
          { class: 'ven', 'data-vtn': ven.id },
          h(
            'h3',
            { class: 'sub' },
            `${ven.id} `,
            h('span', { class: 'muted small' }, `OpenADR ${ven.version}${ven.vtnId ? ` · VTN ${ven.vtnId}` : ''} `),
            h('span', { class: `badge tone-${health.tone}`, 'data-testid': 'ven-health' }, `${health.tone === 'ok' ? '✓' : '⚠'} ${health.text}`),
          ),
          h(
            'dl',
            { class: 'ven-facts' },
            ...venLines(ven, nowMs, siteTimeOf(this.el)).flatMap((line) => [h('dt', {}, line.label), h('dd', line.tone ? { class: `tone-${line.tone}` } : {}, line.value)]),
          ),
          events.length
            ? h(
                'ul',
                { class: 'ven-events' },
                ...events.map((e) =>
                  h('li', { 'data-event': e.eventId }, `${e.eventId} · ${e.program || 'no program'} · ${e.state}${e.opt === 'out' ? ' · opted out' : ''}${e.applied ? '' : ' · not applied'}${e.note ? ` · ${e.note}` : ''}`),
                ),
              )
            : h('p', { class: 'muted small' }, 'No event from this VTN right now.'),
        );
      }),
    );
  }
}
