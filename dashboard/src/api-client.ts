// The browser's side of the EMS API: cookie session, CSRF header on writes, errors with the
// field problems the server named.
import type { ConnectorHistoryView, KpisView, LoginResult, PlanView, Role, SessionPatch, StateView } from './api-types.ts';
import { fieldIssues } from './normalize.ts';
import type { FieldIssue } from './api-types.ts';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: FieldIssue[] = [],
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

function messageOf(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string' && b.message) return b.message;
    if (typeof b.error === 'string' && b.error) return b.error;
  }
  if (typeof body === 'string' && body && body.length < 300) return body;
  if (status === 401) return 'Please log in.';
  if (status === 403) return 'Your role does not allow this.';
  return `The EMS answered ${status}.`;
}

export class ApiClient {
  /** Called when the server says the session is gone (401), so the page can show the login. */
  onUnauthorized: () => void = () => {};

  constructor(private readonly base = '') {}

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    if (method !== 'GET' && method !== 'HEAD') {
      const csrf = readCookie(document.cookie, 'ems_csrf');
      if (csrf) headers['x-csrf-token'] = csrf;
    }
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(`Cannot reach the EMS (${(error as Error).message}).`, 0);
    }
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      if (response.status === 401 && !path.startsWith('/api/v1/auth/login')) this.onUnauthorized();
      throw new ApiError(messageOf(parsed, response.status), response.status, fieldIssues(parsed), parsed);
    }
    return parsed as T;
  }

  login(username: string, password: string): Promise<LoginResult> {
    return this.request<LoginResult>('POST', '/api/v1/auth/login', { username, password });
  }

  /** Whether the EMS still waits for its first admin (no users yet, no EMS_ADMIN_PASSWORD). */
  async setupRequired(): Promise<boolean> {
    try {
      return (await this.request<{ setupRequired?: boolean }>('GET', '/api/v1/auth/setup')).setupRequired === true;
    } catch {
      return false;
    }
  }

  setupAdmin(token: string, password: string): Promise<LoginResult> {
    return this.request<LoginResult>('POST', '/api/v1/auth/setup', { token, password });
  }

  async logout(): Promise<void> {
    await this.request('POST', '/api/v1/auth/logout', {});
  }

  /** Who is logged in, when the API tells; null when it does not know this endpoint. */
  async whoAmI(): Promise<{ username?: string; role: Role } | null> {
    try {
      return await this.request<{ username?: string; role: Role }>('GET', '/api/v1/auth/me');
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  state(): Promise<StateView> {
    return this.request<StateView>('GET', '/api/v1/state');
  }

  steerSession(chargerId: string, connectorId: number, patch: SessionPatch): Promise<unknown> {
    return this.request('PATCH', `/api/v1/connectors/${encodeURIComponent(chargerId)}/${connectorId}/session`, patch);
  }

  history(fromMs: number, toMs: number, resolution: string): Promise<unknown> {
    const q = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), resolution });
    return this.request('GET', `/api/v1/history?${q}`);
  }

  /** Per-connector history (energy, current per phase, cap per interval); one connector when given. */
  connectorHistory(fromMs: number, toMs: number, resolution: '1m' | '15m', connector?: { chargerId: string; connectorId: number }): Promise<ConnectorHistoryView> {
    const q = new URLSearchParams({ from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), resolution });
    if (connector) {
      q.set('chargerId', connector.chargerId);
      q.set('connectorId', String(connector.connectorId));
    }
    return this.request<ConnectorHistoryView>('GET', `/api/v1/history/connectors?${q}`);
  }

  /** This month's peak of 15-min mean import (what the demand charge is billed on). */
  peak(): Promise<{ month?: string; peakPowerW: number | null; at: string | null }> {
    return this.request('GET', '/api/v1/peak');
  }

  /** Today's energy, cost and peak, the month's peak and the prices now; null when the EMS runs without its tariff service. */
  async kpis(): Promise<KpisView | null> {
    try {
      return await this.request<KpisView>('GET', '/api/v1/kpis');
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  plan(slots = 96): Promise<PlanView> {
    return this.request<PlanView>('GET', `/api/v1/plan?slots=${slots}`);
  }

  /** An operator limit on the site's import (or export), ending after `durationS` (open-ended without). */
  addSiteLimit(limit: { kind: 'import-limit' | 'export-limit'; valueW: number; durationS?: number }): Promise<{ id: string }> {
    return this.request<{ id: string }>('POST', '/api/v1/signals', { ...limit, source: 'operator' });
  }

  endSiteLimit(id: string): Promise<unknown> {
    return this.request('DELETE', `/api/v1/signals/${encodeURIComponent(id)}`);
  }

  sessions(): Promise<unknown> {
    return this.request('GET', '/api/v1/sessions');
  }

  audit(): Promise<unknown> {
    return this.request('GET', '/api/v1/audit');
  }

  signals(): Promise<unknown> {
    return this.request('GET', '/api/v1/signals');
  }

  devices(): Promise<unknown> {
    return this.request('GET', '/api/v1/devices');
  }

  /** The site config as YAML text, and the sections saved but waiting for a restart. */
  /** `path`: the file edits are saved to; null when the EMS runs without one. */
  async config(): Promise<{ yaml: string; restartRequired: string[]; path: string | null }> {
    const body = await this.request<unknown>('GET', '/api/v1/config');
    if (typeof body === 'string') return { yaml: body, restartRequired: [], path: null };
    const b = body as Record<string, unknown>;
    const restartRequired = Array.isArray(b.restartRequired) ? b.restartRequired.map(String) : [];
    const path = typeof b.path === 'string' ? b.path : null;
    if (typeof b.yaml === 'string') return { yaml: b.yaml, restartRequired, path };
    const { stringify } = await import('yaml');
    return { yaml: stringify(b.config ?? body), restartRequired, path };
  }

  /** Site events (faults, failsafe, chargers, devices, signals, sessions, config); null when the EMS has no such list. */
  async siteEvents(): Promise<unknown[] | null> {
    try {
      const body = await this.request<unknown>('GET', '/api/v1/events?limit=300');
      return Array.isArray(body) ? body : null;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  saveConfigYaml(yaml: string): Promise<unknown> {
    return this.request('PUT', '/api/v1/config', yaml, 'application/yaml');
  }
}
