// Local-controller mode (config `upstream`) on the overview page: per charger, its link to the EMS,
// the EMS's link to the operator's cloud CSMS, how many transaction frames wait for the CSMS, and
// the last message each way. Hidden when the site has no upstream. Data: GET /api/v1/upstream.
// main.ts calls mountUplinkPanel once; a MutationObserver puts the panel on the overview page
// whenever that page appears (after a login, on navigation).
import { ApiError, type ApiClient } from './api-client.ts';
import { h, replace, setText } from './dom.ts';
import { serverNowOf, siteTimeOf } from './format.ts';
import { toMs } from './normalize.ts';
import './uplink-panel.css';
import { PanelPoller } from './panel-poller.ts';

/** One charger as GET /api/v1/upstream gives it (src/api/upstream-view.ts). */
export interface UplinkView {
  chargerId: string;
  upstreamId: string;
  chargerLink: 'connected' | 'disconnected';
  uplink: 'connecting' | 'online' | 'offline' | 'refused' | 'closed';
  queueLength: number;
  csmsProfiles: number;
  lastFromCharger: string | null;
  lastToCharger: string | null;
  lastFromCsms: string | null;
  lastToCsms: string | null;
  lastError: string | null;
}

export interface UplinkList {
  enabled: boolean;
  chargers: UplinkView[];
}

type Tone = 'ok' | 'warn' | 'bad' | 'idle';

/** The uplink in words (first) and a tone (second). Pure. */
export function uplinkHealth(c: UplinkView): { tone: Tone; text: string } {
  switch (c.uplink) {
    case 'online':
      return { tone: 'ok', text: 'Online' };
    case 'connecting':
      return { tone: 'warn', text: 'Connecting…' };
    case 'offline':
      return { tone: 'bad', text: 'Offline' };
    case 'refused':
      return { tone: 'bad', text: 'Refused by the CSMS' };
    case 'closed':
      return { tone: 'idle', text: c.chargerLink === 'connected' ? 'Closed' : 'Closed (charger away)' };
  }
}

/** "3 frames wait for the CSMS" / "nothing waiting". Pure. */
export function queueText(queueLength: number): string {
  if (queueLength === 0) return 'nothing waiting';
  return `${queueLength} frame${queueLength === 1 ? '' : 's'} wait${queueLength === 1 ? 's' : ''} for the CSMS`;
}

export class UplinkPanel {
  readonly el: HTMLElement;
  private readonly body = h('tbody');
  private readonly summary = h('span', { class: 'muted small', 'data-testid': 'uplink-summary' });
  private readonly status = h('p', { class: 'muted small', role: 'status' });
  private readonly poller: PanelPoller;

  constructor(
    private readonly api: ApiClient,
    refreshMs = 5_000,
  ) {
    this.el = h(
      'section',
      { class: 'panel uplink', 'aria-labelledby': 'uplink-title', 'data-panel': 'uplink', hidden: true },
      h('div', { class: 'panel-head' }, h('h2', { id: 'uplink-title' }, 'Cloud CSMS uplink'), this.summary),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'uplink-table' },
          h(
            'thead',
            {},
            h('tr', {}, ...['Charger', 'Charger link', 'Uplink', 'Queue', 'CSMS profiles', 'Last from CSMS', 'Last to CSMS', 'Error'].map((t) => h('th', { scope: 'col' }, t))),
          ),
          this.body,
        ),
      ),
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
      const list = await this.api.request<UplinkList>('GET', '/api/v1/upstream');
      this.render(list, serverNowOf(this.el));
      setText(this.status, '');
    } catch (error) {
      // An EMS without the route (older) or a viewer without access: say so once, keep the last rows.
      setText(this.status, error instanceof ApiError ? `Uplink status unavailable: ${error.message}` : 'Uplink status unavailable.');
    }
  }

  render(list: UplinkList, nowMs: number): void {
    this.el.hidden = !list.enabled;
    if (!list.enabled) return;
    const online = list.chargers.filter((c) => c.uplink === 'online').length;
    const queued = list.chargers.reduce((sum, c) => sum + c.queueLength, 0);
    setText(this.summary, `${online} of ${list.chargers.length} online · ${queueText(queued)}`);
    replace(
      this.body,
      ...list.chargers.map((c) => {
        const health = uplinkHealth(c);
        return h(
          'tr',
          { 'data-uplink': c.chargerId },
          h('th', { scope: 'row' }, c.chargerId, c.upstreamId !== c.chargerId ? h('span', { class: 'muted small' }, ` as ${c.upstreamId}`) : null),
          h('td', {}, c.chargerLink === 'connected' ? 'Connected' : 'Away'),
          h('td', { 'data-field': 'uplink' }, h('span', { class: `uplink-state tone-${health.tone}` }, health.text)),
          h('td', { 'data-field': 'queue' }, String(c.queueLength)),
          h('td', {}, String(c.csmsProfiles)),
          h('td', {}, siteTimeOf(this.el).time(toMs(c.lastFromCsms), nowMs)),
          h('td', {}, siteTimeOf(this.el).time(toMs(c.lastToCsms), nowMs)),
          h('td', { class: 'uplink-error' }, c.lastError ?? ''),
        );
      }),
    );
  }
}

export function mountUplinkPanel(root: HTMLElement, api: ApiClient): void {
  const place = () => {
    const overview = root.querySelector('.page.overview');
    if (!overview || overview.querySelector('[data-panel="uplink"]')) return;
    const panel = new UplinkPanel(api);
    overview.append(panel.el);
    panel.start();
  };
  new MutationObserver(place).observe(root, { childList: true, subtree: true });
  place();
}
