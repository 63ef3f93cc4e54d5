// The logged-in app: header, navigation between the pages, the live feed they share.
import type { ApiClient } from '../api-client.ts';
import type { Role, StateView } from '../api-types.ts';
import type { AppContext, View } from '../app-context.ts';
import { canAdminister } from '../app-context.ts';
import { h, replace, setText } from '../dom.ts';
import { SiteTime } from '../format.ts';
import { LiveFeed, type FeedStatus } from '../live-feed.ts';
import { eventsView } from './events-view.ts';
import { overviewView } from './overview-view.ts';
import { sessionsView } from './sessions-view.ts';
import { zoneHintText } from './zone-hint.ts';

interface Route {
  path: string;
  label: string;
  icon: string;
  view: (ctx: AppContext) => View | Promise<View>;
}

const ROUTES: Route[] = [
  { path: '', label: 'Overview', icon: '◉', view: overviewView },
  { path: 'history', label: 'History', icon: '∿', view: async (ctx) => (await import('./history-view.ts')).historyView(ctx) },
  { path: 'plan', label: 'Plan', icon: '▦', view: async (ctx) => (await import('./plan-view.ts')).planView(ctx) },
  { path: 'sessions', label: 'Sessions', icon: '☰', view: sessionsView },
  { path: 'events', label: 'Events', icon: '⚑', view: eventsView },
  { path: 'settings', label: 'Settings', icon: '⚙', view: async (ctx) => (await import('./settings-view.ts')).settingsView(ctx) },
];

const FEED_TEXT: Record<FeedStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Updating every few seconds',
  offline: 'Not connected',
};

export interface ShellHandlers {
  /** The user pressed "Log out" (the server session is already ended). */
  onLoggedOut(): void;
  /** The server said the session is gone (expired, ended elsewhere). */
  onSessionEnded(): void;
}

/**
 * The logged-in app: header with the live status, the pages behind hash routes, the live feed.
 * Returns the function that tears it all down (timers, sockets, listeners).
 */
export function mountAppShell(root: HTMLElement, api: ApiClient, username: string, role: Role, handlers: ShellHandlers): () => void {
  let latest: StateView | null = null;
  const listeners = new Set<(state: StateView) => void>();
  const feedBadge = h('span', { class: 'feed', role: 'status', 'data-testid': 'feed-status' });
  const updated = h('span', { class: 'muted small updated', 'data-testid': 'updated-at' });
  const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  const siteName = h('span', { class: 'site-name' }, 'Site energy');
  const lost = h('div', { class: 'lost banner tone-bad', role: 'alert', hidden: true });
  let toastTimer: ReturnType<typeof setTimeout> | null = null;
  // The site's zone, from the state; the browser's until the first state says otherwise.
  let siteTime = new SiteTime();
  let zoneAsked: string | null = null;
  const zoneNote = h('span', { class: 'muted small zone', 'data-testid': 'site-zone' });
  let firstState: () => void = () => {};
  const stateSeen = new Promise<void>((resolve) => (firstState = resolve));

  const feed = new LiveFeed(
    api,
    (state) => {
      latest = state;
      if (state.site.name) setText(siteName, state.site.name);
      const zone = state.site.timezone ?? null;
      if (zone !== zoneAsked) {
        zoneAsked = zone;
        siteTime = new SiteTime(zone);
        root.dataset.siteTimeZone = siteTime.timeZone;
        setText(zoneNote, `Times are site time (${siteTime.timeZone})`);
        root.querySelectorAll('[data-zone-hint]').forEach((hint) => setText(hint as HTMLElement, ` ${zoneHintText(siteTime.timeZone)}`));
      }
      // The EMS's clock (a demo may run faster than real time), in the 24 h format of every page.
      const atMs = state.at ? Date.parse(state.at) : Number.NaN;
      if (Number.isFinite(atMs)) {
        // For the panels without an AppContext (serverNowOf): "now" is the EMS's clock.
        root.dataset.serverAtMs = String(atMs);
        root.dataset.serverSeenMs = String(Date.now());
      }
      setText(updated, `Updated ${siteTime.clock(Number.isFinite(atMs) ? atMs : Date.now())}`);
      firstState();
      for (const listener of [...listeners]) listener(state);
    },
    (status) => {
      lost.hidden = status !== 'offline' || latest === null;
      if (!lost.hidden)
        setText(lost, `⚠ Lost contact with the EMS. The values shown are from ${siteTime.clock(latest?.at ? Date.parse(latest.at) : feed.lastUpdateMs)}; retrying.`);
      document.body.classList.toggle('stale', !lost.hidden);
      feedBadge.className = `feed feed-${status}`;
      replace(feedBadge, h('span', { class: 'dot', 'aria-hidden': 'true' }, status === 'live' ? '●' : status === 'offline' ? '✕' : '◌'), ` ${FEED_TEXT[status]}`);
    },
  );

  const ctx: AppContext = {
    api,
    feed,
    username,
    role,
    latest: () => latest,
    siteTime: () => siteTime,
    subscribe(listener) {
      listeners.add(listener);
      if (latest) listener(latest);
      return () => listeners.delete(listener);
    },
    notify(message, tone = 'ok') {
      toast.className = `toast show tone-${tone}`;
      setText(toast, message);
      if (toastTimer) clearTimeout(toastTimer);
      toastTimer = setTimeout(() => (toast.className = 'toast'), 4000);
    },
  };

  const nav = h('nav', { class: 'tabs', 'aria-label': 'Pages' });
  const links = new Map<string, HTMLAnchorElement>();
  for (const route of ROUTES) {
    if (route.path === 'settings' && !canAdminister(role)) continue;
    const link = h('a', { href: `#/${route.path}` }, h('span', { class: 'tab-icon', 'aria-hidden': 'true' }, route.icon), h('span', {}, route.label));
    links.set(route.path, link);
    nav.append(link);
  }
  const logout = h('button', { type: 'button', class: 'secondary small-button' }, 'Log out');
  logout.addEventListener('click', async () => {
    try {
      await api.logout();
    } catch {
      // The session may already be gone; the login page is right either way.
    }
    stop();
    handlers.onLoggedOut();
  });

  const main = h('main', { id: 'main', tabindex: '-1' });
  const header = h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'topbar-row' },
      h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '⚡'), siteName),
      h('div', { class: 'who' }, feedBadge, h('span', { class: 'muted small user' }, `${username} (${role})`), logout),
    ),
    h('div', { class: 'topbar-row' }, nav),
  );
  replace(root, h('a', { class: 'skip', href: '#main' }, 'Skip to content'), header, lost, main, h('footer', { class: 'footer' }, updated, ' · ', zoneNote), toast);

  let current: View | null = null;
  let generation = 0;
  const route = async () => {
    const path = location.hash.replace(/^#\/?/, '').split('?')[0];
    const match = ROUTES.find((r) => r.path === path && links.has(r.path)) ?? ROUTES[0];
    for (const [p, link] of links) {
      if (p === match.path) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = `${match.label} · Site energy`;
    current?.destroy?.();
    current = null;
    const mine = ++generation;
    // Pages read "now" and the zone from the state: wait for the first one (a while at most, so an
    // EMS that does not answer still gets its page and its "Not connected").
    await Promise.race([stateSeen, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (mine !== generation) return;
    const view = await match.view(ctx);
    if (mine !== generation) {
      view.destroy?.();
      return;
    }
    current = view;
    replace(main, view.el);
  };
  window.addEventListener('hashchange', route);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    window.removeEventListener('hashchange', route);
    current?.destroy?.();
    feed.stop();
    if (toastTimer) clearTimeout(toastTimer);
    document.body.classList.remove('stale');
    api.onUnauthorized = () => {};
  };
  api.onUnauthorized = () => {
    stop();
    handlers.onSessionEnded();
  };
  feed.start();
  void route();
  return stop;
}

