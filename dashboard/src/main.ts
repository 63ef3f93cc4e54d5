// The dashboard's entry: find out who is logged in, then show the login (or the first-start
// setup) or the app shell with its pages (hash routes, so any static server can serve it).
import { ApiClient, ApiError } from './api-client.ts';
import type { LoginResult, Role } from './api-types.ts';
import { h, replace } from './dom.ts';
import { mountAppShell } from './views/app-shell.ts';
import { mountHoldingsMarks } from './holdings-marks.ts';
import { mountSecurePanels } from './secure-panels.ts';
import { mountUplinkPanel } from './uplink-panel.ts';
import { loginView } from './views/login-view.ts';
import { setupView } from './views/setup-view.ts';
// uPlot's styles ride with the first load: CSS of a lazily loaded chunk would not be applied.
import 'uplot/dist/uPlot.min.css';
import './app.css';

// Only a hint for the page after a reload when the EMS cannot say who is logged in; the server
// decides what each role may do.
const ROLE_KEY = 'ems.role';
const USER_KEY = 'ems.user';

const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const api = new ApiClient();
mountSecurePanels(root, api);
mountUplinkPanel(root, api);
mountHoldingsMarks(root, api);
let stopApp: (() => void) | null = null;

function startApp(username: string, role: Role): void {
  stopApp?.();
  stopApp = mountAppShell(root, api, username, role, {
    onLoggedOut: () => {
      sessionStorage.removeItem(ROLE_KEY);
      stopApp = null;
      showLogin();
    },
    onSessionEnded: () => {
      stopApp = null;
      showLogin('Your session has ended. Please log in again.');
    },
  });
}

function loggedIn(result: LoginResult, username: string): void {
  sessionStorage.setItem(ROLE_KEY, result.role);
  sessionStorage.setItem(USER_KEY, username);
  startApp(username, result.role);
}

function showLogin(notice?: string): void {
  document.title = 'Log in · Site energy';
  replace(root, loginView(api, loggedIn, notice));
}

function showSetup(): void {
  document.title = 'First start · Site energy';
  replace(root, setupView(api, (result) => loggedIn(result, 'admin')));
}

async function boot(): Promise<void> {
  try {
    const me = await api.whoAmI();
    if (me) {
      startApp(me.username ?? sessionStorage.getItem(USER_KEY) ?? 'you', me.role);
      return;
    }
    await api.state();
    startApp(sessionStorage.getItem(USER_KEY) ?? 'you', (sessionStorage.getItem(ROLE_KEY) as Role | null) ?? 'viewer');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      if (await api.setupRequired()) showSetup();
      else showLogin();
    } else showLogin(`Cannot reach the EMS: ${(error as Error).message}`);
  }
}

void boot();
