import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createApiFixture, startSession, type ApiFixture } from './api-fixture.ts';

let api: ApiFixture;
beforeEach(async () => {
  api = await createApiFixture();
});
afterEach(async () => api.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// Every write route, the least role it needs, and a body that would be valid.
const WRITES: { method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string; role: 'viewer' | 'operator' | 'admin'; payload?: unknown }[] = [
  { method: 'POST', url: '/api/v1/auth/password', role: 'viewer', payload: { currentPassword: 'x', newPassword: 'password-11' } },
  { method: 'PATCH', url: '/api/v1/connectors/CP001/1/session', role: 'operator', payload: { paused: true } },
  { method: 'PUT', url: '/api/v1/config', role: 'admin', payload: { yaml: 'grid: { maxCurrent: 63 }\n' } },
  { method: 'POST', url: '/api/v1/users', role: 'admin', payload: { username: 'new', password: 'password-9999', role: 'viewer' } },
  { method: 'PATCH', url: '/api/v1/users/admin', role: 'admin', payload: { password: 'password-1010' } },
  { method: 'DELETE', url: '/api/v1/users/admin', role: 'admin' },
  { method: 'POST', url: '/api/v1/tokens', role: 'admin', payload: { name: 'scada' } },
  { method: 'DELETE', url: '/api/v1/tokens/0123456789abcdef', role: 'admin' },
];

describe('login', () => {
  it('answers a token and role and sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie', async () => {
    const res = await api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ role: 'admin', token: expect.any(String) });
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] as string | string[]);
    const session = setCookie.find((c) => c.startsWith('ems_session='))!;
    const csrf = setCookie.find((c) => c.startsWith('ems_csrf='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    const me = await api.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(res.json().token) });
    expect(me.json()).toEqual({ username: 'admin', role: 'admin', via: 'bearer' });
  });

  it('refuses a wrong password with 401 and the same answer for an unknown user', async () => {
    const wrong = await api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'nope-nope' } });
    const unknown = await api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'ghost', password: 'nope-nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().message).toBe(unknown.json().message);
  });

  it('locks a user out per address after five failures, without locking other addresses', async () => {
    const attempt = (password: string, remoteAddress = '127.0.0.9') =>
      api.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password }, remoteAddress });
    for (let i = 0; i < 5; i++) expect((await attempt('wrong-password')).statusCode).toBe(401);
    const locked = await attempt(ADMIN_PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await attempt(ADMIN_PASSWORD, '127.0.0.10')).statusCode).toBe(200);
    api.clock.advance(15 * 60_000);
    expect((await attempt(ADMIN_PASSWORD)).statusCode).toBe(200);
  });

  it('refuses logins beyond a few at once instead of queueing password hashing', async () => {
    // Real-cost hashing, so the checks overlap as they do in production.
    const slow = await createApiFixture({ deps: { auth: { scryptN: 1 << 15 } } });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => slow.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: `u${i}`, password: 'wrong-password' } })),
    ).finally(() => slow.close());
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
  });

  it('ends the session on logout and when it expires', async () => {
    const { token } = await api.login('admin', ADMIN_PASSWORD);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(token) })).statusCode).toBe(200);
    expect((await api.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(token) })).statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(token) })).statusCode).toBe(401);

    const second = await api.login('admin', ADMIN_PASSWORD);
    api.clock.advance(api.http.auth.sessionTtlMs);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(second.token) })).statusCode).toBe(401);
  });

  it('needs a login for reads too', async () => {
    for (const url of ['/api/v1/state', '/api/v1/connectors', '/api/v1/devices', '/api/v1/circuits', '/api/v1/signals', '/api/v1/history', '/api/v1/audit', '/api/v1/sessions']) {
      expect((await api.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    expect((await api.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('first run without EMS_ADMIN_PASSWORD', () => {
  it('prints a one-time setup token that creates the admin exactly once', async () => {
    const printed: string[] = [];
    const fresh = await createApiFixture({ env: {}, deps: { auth: { env: {}, print: (l) => printed.push(l) } } });
    try {
      const token = printed.join('\n').match(/"token":"([^"]+)"/)?.[1];
      expect(token).toBeDefined();
      expect((await fresh.inject({ method: 'GET', url: '/api/v1/auth/setup' })).json()).toEqual({ setupRequired: true });
      const bad = await fresh.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { token: 'wrong', password: 'a-good-password' } });
      expect(bad.statusCode).toBe(401);
      const ok = await fresh.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { token, password: 'a-good-password' } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().role).toBe('admin');
      const again = await fresh.inject({ method: 'POST', url: '/api/v1/auth/setup', payload: { token, password: 'another-password' } });
      expect(again.statusCode).toBe(400);
      expect((await fresh.login('admin', 'a-good-password')).token).toBeTruthy();
    } finally {
      await fresh.close();
    }
  });
});

describe('roles', () => {
  it.each(WRITES)('$method $url without a login answers 401 and changes nothing', async ({ method, url, payload }) => {
    const before = api.store.audit.list().length;
    const res = await api.inject({ method, url, payload: payload as object });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('AUTH_REQUIRED');
    expect(api.store.audit.list().length).toBe(before);
  });

  it('covers every write route the server has, except login, setup and logout', () => {
    const open = new Set(['/api/v1/auth/login', '/api/v1/auth/setup', '/api/v1/auth/logout']);
    const served = api.http.routes
      .filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && !open.has(r.url))
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '*')}`)
      .sort();
    const listed = WRITES.map((w) => `${w.method} ${w.url.replace(/\/(CP001|1|admin|0123456789abcdef)(?=\/|$)/g, '/*')}`).sort();
    expect(listed).toEqual(served);
  });

  it.each(WRITES.filter((w) => w.role !== 'viewer'))('$method $url as a viewer answers 403', async ({ method, url, payload }) => {
    const token = await api.userToken('viewer');
    const res = await api.inject({ method, url, payload: payload as object, headers: bearer(token) });
    expect(res.statusCode).toBe(403);
  });

  it.each(WRITES.filter((w) => w.role === 'admin'))('$method $url as an operator answers 403', async ({ method, url, payload }) => {
    const token = await api.userToken('operator');
    const res = await api.inject({ method, url, payload: payload as object, headers: bearer(token) });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/admin role/);
  });

  it('lets an operator steer a session', async () => {
    startSession(api.ctx, 'CP001', 1, 7);
    const token = await api.userToken('operator');
    const res = await api.inject({ method: 'PATCH', url: '/api/v1/connectors/CP001/1/session', payload: { paused: true }, headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    expect(res.json().session.paused).toBe(true);
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated write without the CSRF header and accepts it with the header', async () => {
    startSession(api.ctx, 'CP001', 1, 7);
    const { cookie, csrf } = await api.login('admin', ADMIN_PASSWORD);
    const url = '/api/v1/connectors/CP001/1/session';
    const without = await api.inject({ method: 'PATCH', url, payload: { paused: true }, headers: { cookie } });
    expect(without.statusCode).toBe(403);
    expect(without.json().error).toBe('CSRF_FAILED');
    expect(api.ctx.state.connector('CP001', 1)!.session!.paused).toBe(false);
    const wrong = await api.inject({ method: 'PATCH', url, payload: { paused: true }, headers: { cookie, 'x-csrf-token': 'forged' } });
    expect(wrong.statusCode).toBe(403);
    const withHeader = await api.inject({ method: 'PATCH', url, payload: { paused: true }, headers: { cookie, 'x-csrf-token': csrf } });
    expect(withHeader.statusCode).toBe(200);
    // Reads with the cookie need no header.
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: { cookie } })).statusCode).toBe(200);
  });
});

describe('API tokens', () => {
  it('are created by an admin, shown once, act with their user role, and stop working when revoked', async () => {
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const created = await api.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { name: 'scada', expiresInDays: 30 },
      headers: bearer(admin),
    });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.json();
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(token) })).statusCode).toBe(200);
    const list = (await api.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(admin) })).json();
    expect(list).toEqual([expect.objectContaining({ id, name: 'scada', username: 'admin' })]);
    expect(JSON.stringify(list)).not.toContain(token);
    expect((await api.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: bearer(admin) })).statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(token) })).statusCode).toBe(401);
  });
});

describe('users', () => {
  it('creates users with a role and refuses to remove the last admin', async () => {
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const res = await api.inject({ method: 'POST', url: '/api/v1/users', payload: { username: 'ops', password: 'password-ops', role: 'operator' }, headers: bearer(admin) });
    expect(res.statusCode).toBe(201);
    expect((await api.login('ops', 'password-ops')).token).toBeTruthy();
    const dup = await api.inject({ method: 'POST', url: '/api/v1/users', payload: { username: 'ops', password: 'password-ops', role: 'viewer' }, headers: bearer(admin) });
    expect(dup.statusCode).toBe(409);
    expect((await api.inject({ method: 'DELETE', url: '/api/v1/users/admin', headers: bearer(admin) })).statusCode).toBe(409);
    expect((await api.inject({ method: 'PATCH', url: '/api/v1/users/admin', payload: { role: 'viewer' }, headers: bearer(admin) })).statusCode).toBe(409);
    const weak = await api.inject({ method: 'POST', url: '/api/v1/users', payload: { username: 'x', password: 'short', role: 'viewer' }, headers: bearer(admin) });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().issues).toEqual([expect.objectContaining({ path: 'password' })]);
  });
});

describe('passwords', () => {
  it('lets any user change their own password, which ends their other sessions', async () => {
    const viewer = await api.userToken('viewer');
    const other = await api.login('viewer1', 'password-123');
    const wrong = await api.inject({ method: 'POST', url: '/api/v1/auth/password', headers: bearer(viewer), payload: { currentPassword: 'nope', newPassword: 'new-password-1' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().issues[0].path).toBe('currentPassword');
    const ok = await api.inject({ method: 'POST', url: '/api/v1/auth/password', headers: bearer(viewer), payload: { currentPassword: 'password-123', newPassword: 'new-password-1' } });
    expect(ok.statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(viewer) })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/api/v1/state', headers: bearer(other.token) })).statusCode).toBe(401);
    expect((await api.login('viewer1', 'new-password-1')).token).toBeTruthy();
    expect(api.store.audit.list({ action: 'user.password' })).toHaveLength(1);
  });
});
