// The dashboard's entry: find out who is logged in, then show the login or the app shell with
// its pages (hash routes, so any static server can serve it).
import { ApiClient, ApiError } from './api-client.ts';
import type { Role, StateView } from './api-types.ts';
import type { AppContext, View } from './app-context.ts';
import { canAdminister } from './app-context.ts';
import { h, replace, setText } from './dom.ts';
import { LiveFeed, type FeedStatus } from './live-feed.ts';
import { eventsView } from './views/events-view.ts';
import { loginView } from './views/login-view.ts';
import { overviewView } from './views/overview-view.ts';
import { sessionsView } from './views/sessions-view.ts';
import { setupView } from './views/setup-view.ts';
// uPlot's styles ride with the first load: CSS of a lazily loaded chunk would not be applied.
import 'uplot/dist/uPlot.min.css';
import './app.css';

const ROLE_KEY = 'ems.role';
const USER_KEY = 'ems.user';

interface Route {
  path: string;
  label: string;
  icon: string;
  view: (ctx: AppContext) => View | Promise<View>;
}

const ROUTES: Route[] = [
  { path: '', label: 'Overview', icon: '◉', view: overviewView },
  { path: 'history', label: 'History', icon: '∿', view: async (ctx) => (await import('./views/history-view.ts')).historyView(ctx) },
  { path: 'sessions', label: 'Sessions', icon: '☰', view: sessionsView },
  { path: 'events', label: 'Events', icon: '⚑', view: eventsView },
  { path: 'settings', label: 'Settings', icon: '⚙', view: async (ctx) => (await import('./views/settings-view.ts')).settingsView(ctx) },
];

const FEED_TEXT: Record<FeedStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Updating every few seconds',
  offline: 'Not connected',
};

const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const api = new ApiClient();

function showLogin(notice?: string): void {
  document.title = 'Log in · Site energy';
  replace(
    root,
    loginView(
      api,
      (result, username) => {
        sessionStorage.setItem(ROLE_KEY, result.role);
        sessionStorage.setItem(USER_KEY, username);
        startApp(username, result.role);
      },
      notice,
    ),
  );
}

let stopApp: (() => void) | null = null;

function startApp(username: string, role: Role): void {
  stopApp?.();
  let latest: StateView | null = null;
  const listeners = new Set<(state: StateView) => void>();
  const feedBadge = h('span', { class: 'feed', role: 'status', 'data-testid': 'feed-status' });
  const updated = h('span', { class: 'muted small updated' });
  const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  const siteName = h('span', { class: 'site-name' }, 'Site energy');
  const lost = h('div', { class: 'lost banner tone-bad', role: 'alert', hidden: true });
  let toastTimer: ReturnType<typeof setTimeout> | null = null;

  const feed = new LiveFeed(
    api,
    (state) => {
      latest = state;
      if (state.site.name) setText(siteName, state.site.name);
      setText(updated, `Updated ${new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`);
      for (const listener of [...listeners]) listener(state);
    },
    (status) => {
      lost.hidden = status !== 'offline' || latest === null;
      if (!lost.hidden)
        setText(lost, `⚠ Lost contact with the EMS. The values shown are from ${new Date(feed.lastUpdateMs).toLocaleTimeString()}; retrying.`);
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
    sessionStorage.removeItem(ROLE_KEY);
    stopApp?.();
    showLogin();
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
  replace(root, h('a', { class: 'skip', href: '#main' }, 'Skip to content'), header, lost, main, h('footer', { class: 'footer' }, updated), toast);

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
    const view = await match.view(ctx);
    if (mine !== generation) {
      view.destroy?.();
      return;
    }
    current = view;
    replace(main, view.el);
  };
  window.addEventListener('hashchange', route);
  api.onUnauthorized = () => {
    stopApp?.();
    showLogin('Your session has ended. Please log in again.');
  };
  stopApp = () => {
    window.removeEventListener('hashchange', route);
    current?.destroy?.();
    feed.stop();
    api.onUnauthorized = () => {};
    stopApp = null;
  };
  feed.start();
  void route();
}

async function boot(): Promise<void> {
  try {
    const me = await api.whoAmI();
    if (me) {
      startApp(me.username ?? sessionStorage.getItem(USER_KEY) ?? 'you', me.role);
      return;
    }
    await api.state();
    const role = (sessionStorage.getItem(ROLE_KEY) as Role | null) ?? 'viewer';
    startApp(sessionStorage.getItem(USER_KEY) ?? 'you', role);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      if (await api.setupRequired()) showSetup();
      else showLogin();
    } else showLogin(`Cannot reach the EMS: ${(error as Error).message}`);
  }
}

function showSetup(): void {
  document.title = 'First start · Site energy';
  replace(
    root,
    setupView(api, (result) => {
      sessionStorage.setItem(ROLE_KEY, result.role);
      sessionStorage.setItem(USER_KEY, 'admin');
      startApp('admin', result.role);
    }),
  );
}

void boot();
