// Chargers the EMS cannot cap (they refuse profiles, answer NotSupported / NotImplemented, ignore
// them, or are configured without smart charging) count at their max current whatever the EMS
// decides. The overview says so: a warning panel naming them with what to do, and a mark on each
// of their connector cards. Data: GET /api/v1/state (connectors[].profile.uncontrollable,
// reservedA). main.ts calls mountHoldingsMarks once; a MutationObserver puts the panel and the
// marks back whenever the overview (or a card) is drawn again.
import type { ApiClient } from './api-client.ts';
import { h, replace, setText } from './dom.ts';
import './holdings-marks.css';
import { PanelPoller } from './panel-poller.ts';

/** The part of a connector in GET /api/v1/state this needs (src/api/view-schemas.ts). */
export interface HeldConnector {
  chargerId: string;
  connectorId: number;
  profile?: { reservedA?: number; uncontrollable?: boolean } | null;
}

export interface UncontrollableCharger {
  chargerId: string;
  /** Reserved at its max on each connector, A per phase. */
  reservedA: number;
  connectors: number[];
}

/** The chargers that cannot be capped, from the state's connectors. Pure. */
export function uncontrollableChargers(connectors: readonly HeldConnector[]): UncontrollableCharger[] {
  const byCharger = new Map<string, UncontrollableCharger>();
  for (const c of connectors) {
    if (!c.profile?.uncontrollable) continue;
    const entry = byCharger.get(c.chargerId) ?? { chargerId: c.chargerId, reservedA: 0, connectors: [] };
    entry.reservedA = Math.max(entry.reservedA, c.profile.reservedA ?? 0);
    entry.connectors.push(c.connectorId);
    byCharger.set(c.chargerId, entry);
  }
  return [...byCharger.values()].sort((a, b) => a.chargerId.localeCompare(b.chargerId));
}

const MARK = 'uncontrollable-mark';

export class HoldingsMarks {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'uncontrollable-list' });
  private uncontrollable = new Set<string>();
  private readonly poller: PanelPoller;

  constructor(
    private readonly api: ApiClient,
    refreshMs = 5_000,
  ) {
    this.el = h(
      'section',
      { class: 'panel uncontrollable', role: 'alert', 'aria-labelledby': 'uncontrollable-title', 'data-panel': 'uncontrollable', hidden: true },
      h('h2', { id: 'uncontrollable-title' }, '⚠ Chargers the EMS cannot cap'),
      h(
        'p',
        { class: 'small' },
        'Each counts at its full current on every connector, whatever the EMS decides, and the others share what is left. Enable OCPP smart charging on it (the SmartCharging feature profile), or set chargers[].smartCharging: false so check-config can plan for it.',
      ),
      this.list,
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
      const state = await this.api.state();
      this.render(uncontrollableChargers(state.connectors as HeldConnector[]));
    } catch {
      // The overview shows its own connection trouble; the last list stays.
    }
  }

  render(chargers: readonly UncontrollableCharger[]): void {
    this.uncontrollable = new Set(chargers.map((c) => c.chargerId));
    this.el.hidden = chargers.length === 0;
    replace(
      this.list,
      ...chargers.map((c) =>
        h(
          'li',
          { 'data-uncontrollable': c.chargerId },
          h('strong', {}, c.chargerId),
          ` counted at ${c.reservedA} A on connector${c.connectors.length === 1 ? '' : 's'} ${c.connectors.join(', ')}`,
        ),
      ),
    );
    const root = this.el.parentElement;
    if (root) this.markCards(root);
  }

  /** Puts (or takes away) the mark on every connector card of the page. */
  markCards(root: ParentNode): void {
    for (const card of Array.from(root.querySelectorAll<HTMLElement>('.card.connector[data-connector]'))) {
      const chargerId = card.dataset.connector!.slice(0, card.dataset.connector!.lastIndexOf('/'));
      const mark = card.querySelector(`.${MARK}`);
      if (this.uncontrollable.has(chargerId) && !mark) {
        const badge = h('span', { class: MARK, title: 'This charger refuses or ignores charging profiles: it counts at its max current.' });
        setText(badge, 'Not controllable');
        (card.querySelector('.card-head') ?? card).append(badge);
      } else if (!this.uncontrollable.has(chargerId) && mark) mark.remove();
    }
  }
}

export function mountHoldingsMarks(root: HTMLElement, api: ApiClient): void {
  let marks: HoldingsMarks | null = null;
  const place = () => {
    const overview = root.querySelector('.page.overview');
    if (!overview) return;
    if (!overview.querySelector('[data-panel="uncontrollable"]')) {
      marks?.stop();
      marks = new HoldingsMarks(api);
      overview.prepend(marks.el);
      marks.start();
    }
    marks?.markCards(overview);
  };
  new MutationObserver(place).observe(root, { childList: true, subtree: true });
  place();
}
