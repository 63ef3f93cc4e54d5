// What the HTTP side exposes: a CSP without inline script on every page, no source maps, the live
// feed refused to other origins (Origin: null included), /metrics and /api/docs closed when asked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createApiFixture, testConfig, type ApiFixture } from './api-fixture.ts';

describe('HTTP headers and exposure', () => {
  let dir: string;
  let open: ApiFixture;
  let closed: ApiFixture;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ems-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./app.js"></script>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map');
    writeFileSync(join(dir, 'app.js.map'), '{"sources":["secret-source.ts"]}');
    open = await createApiFixture({ deps: { staticDir: dir } });
    closed = await createApiFixture({ config: testConfig({ http: { host: '127.0.0.1', port: 0, publicMetrics: false, publicDocs: false } }) });
  });
  afterAll(async () => {
    await open.close();
    await closed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a Content-Security-Policy without inline script on the dashboard and the API', async () => {
    for (const url of ['/', '/app.js', '/api/v1/auth/setup', '/settings']) {
      const csp = String((await open.inject({ method: 'GET', url })).headers['content-security-policy']);
      expect(csp, url).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline[^;]*;?\s*$|script-src[^;]*unsafe/);
      expect(csp).toContain("frame-ancestors 'none'");
    }
  });

  it('never serves source maps', async () => {
    expect((await open.inject({ method: 'GET', url: '/app.js' })).statusCode).toBe(200);
    const map = await open.inject({ method: 'GET', url: '/app.js.map' });
    expect(map.statusCode).toBe(404);
    expect(map.body).not.toContain('secret-source');
  });

  it('with publicMetrics: false and publicDocs: false, /metrics and /api/docs need a login', async () => {
    expect((await open.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    expect((await closed.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await closed.inject({ method: 'GET', url: '/api/docs/json' })).statusCode).toBe(401);
    expect((await closed.inject({ method: 'GET', url: '/api/docs' })).statusCode).toBe(401);
    const { token } = await closed.login('admin', ADMIN_PASSWORD);
    const metrics = await closed.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('ems_security_events_total');
    expect((await closed.inject({ method: 'GET', url: '/api/docs/json', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
  });

  it('refuses the live feed to Origin: null and to other sites, and accepts its own origin', async () => {
    await open.http.start();
    try {
      const { token } = await open.login('admin', ADMIN_PASSWORD);
      const status = (origin: string | undefined) =>
        new Promise<number>((resolve) => {
          const socket = new WebSocket(`ws://127.0.0.1:${open.http.port}/api/v1/live`, { headers: { authorization: `Bearer ${token}`, ...(origin !== undefined ? { origin } : {}) } });
          socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          socket.on('open', () => (socket.close(), resolve(101)));
          socket.on('error', () => undefined);
        });
      expect(await status('null')).toBe(403);
      expect(await status('http://evil.example')).toBe(403);
      expect(await status(`http://127.0.0.1:${open.http.port}`)).toBe(101);
      expect(await status(undefined)).toBe(101);
    } finally {
      await open.http.stop();
    }
  });
});

describe('out-of-range query values', () => {
  it.each([
    '/api/v1/history?to=99999999999999999',
    '/api/v1/history?from=99999999999999999999999',
    '/api/v1/history?to=-1',
    '/api/v1/sessions?since=99999999999999999',
    '/api/v1/audit?since=1e400',
    '/api/v1/events?since=99999999999999999999',
    '/api/v1/connectors/CP001/99999999999999999999/session',
  ])('answers 400 (not 500) for %s', async (url) => {
    const api = await createApiFixture();
    try {
      const { token } = await api.login('admin', ADMIN_PASSWORD);
      const res = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect([400, 404]).toContain(res.statusCode);
      if (!url.includes('/connectors/')) expect(res.statusCode).toBe(400);
    } finally {
      await api.close();
    }
  });
});
