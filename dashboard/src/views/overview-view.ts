// The page site managers keep open: power flow, per-phase headroom, one card per connector.
import type { StateView } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { toMs } from '../normalize.ts';
import { siteBanners } from '../site-banners.ts';
import { ConnectorCard, connectorId } from './connector-card.ts';
import { CircuitsPanel } from './circuits-panel.ts';
import { PowerFlow } from './power-flow.ts';
import { SiteLimitPanel } from './site-limit-panel.ts';
import { TodayStrip } from './today-strip.ts';

export function overviewView(ctx: AppContext): View {
  const flow = new PowerFlow();
  const today = new TodayStrip(ctx.api, () => ctx.siteTime());
  const circuits = new CircuitsPanel(ctx.api);
  const siteLimit = new SiteLimitPanel(ctx);
  const banners = h('div', { class: 'banners', 'aria-live': 'polite' });
  const cards = h('div', { class: 'cards', 'data-testid': 'connectors' });
  const summary = h('p', { class: 'muted small' });
  const byId = new Map<string, ConnectorCard>();
  const search = h('input', { id: 'conn-filter', type: 'search', placeholder: 'Charger or tag', autocomplete: 'off' });
  const show = h(
    'select',
    { id: 'conn-show' },
    h('option', { value: 'all' }, 'All connectors'),
    h('option', { value: 'car' }, 'With a car'),
    h('option', { value: 'charging' }, 'Charging'),
    h('option', { value: 'attention' }, 'Needs attention'),
  );
  const filters = h(
    'div',
    { class: 'filters', role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'conn-filter' }, 'Find'), search),
    h('div', { class: 'field' }, h('label', { for: 'conn-show' }, 'Show'), show),
  );
  const matches = (card: ConnectorCard) => {
    const text = search.value.trim().toLowerCase();
    if (text && !card.searchText().includes(text)) return false;
    switch (show.value) {
      case 'car':
        return card.view.session !== null;
      case 'charging':
        return card.view.status === 'Charging';
      case 'attention':
        return card.needsAttention();
      default:
        return true;
    }
  };
  const applyFilter = () => {
    let shown = 0;
    for (const card of byId.values()) {
      const visible = matches(card);
      card.el.hidden = !visible;
      if (visible) shown++;
    }
    const total = byId.size;
    const withCar = [...byId.values()].filter((c) => c.view.session).length;
    setText(summary, shown === total ? `${withCar} of ${total} with a car` : `showing ${shown} of ${total}`);
  };
  search.addEventListener('input', applyFilter);
  show.addEventListener('change', applyFilter);
  const el = h(
    'div',
    { class: 'page overview' },
    banners,
    today.el,
    flow.el,
    h('section', { class: 'panel', 'aria-labelledby': 'conn-title' }, h('div', { class: 'panel-head' }, h('h2', { id: 'conn-title' }, 'Connectors'), summary), filters, cards),
    siteLimit.el,
    circuits.el,
  );
  circuits.start();
  today.start();

  const render = (state: StateView) => {
    flow.update(state);
    siteLimit.update(state);
    renderBanners(state);
    cards.querySelector(':scope > .placeholder')?.remove();
    const seen = new Set<string>();
    const ordered = [...state.connectors].sort((a, b) => a.chargerId.localeCompare(b.chargerId, undefined, { numeric: true }) || a.connectorId - b.connectorId);
    const rankedCount = state.connectors.filter((c) => typeof c.rank === 'number' && c.rank > 0).length || undefined;
    let previous: Element | null = null;
    for (const view of ordered) {
      const key = connectorId(view);
      seen.add(key);
      let card = byId.get(key);
      if (!card) byId.set(key, (card = new ConnectorCard(ctx, view)));
      card.update(view, rankedCount, { tiers: state.site.tiers, voltage: state.site.voltage });
      const want: Element | null = previous ? previous.nextElementSibling : cards.firstElementChild;
      if (want !== card.el) cards.insertBefore(card.el, want);
      previous = card.el;
    }
    for (const [key, card] of byId) {
      if (!seen.has(key)) {
        card.el.remove();
        byId.delete(key);
      }
    }
    applyFilter();
  };

  let bannersKey = '';
  const renderBanners = (state: StateView) => {
    const list = siteBanners(state, toMs(state.at) ?? Date.now());
    const key = JSON.stringify(list);
    if (key === bannersKey) return; // unchanged: do not make screen readers announce it again
    bannersKey = key;
    replace(
      banners,
      ...list.map((b) => h('div', { class: `banner tone-${b.tone}`, role: b.tone === 'bad' ? 'alert' : null }, h('strong', {}, b.title), ' ', b.text)),
    );
  };

  const unsubscribe = ctx.subscribe(render);
  if (!ctx.latest()) cards.append(h('p', { class: 'muted placeholder' }, 'Waiting for the first reading…'));
  return {
    el,
    destroy: () => {
      unsubscribe();
      circuits.stop();
      today.stop();
    },
  };
}
