import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createApiFixture, testConfig, type ApiFixture } from './api-fixture.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';

describeWithPeer('openssl', hasCommand('openssl'), 'HTTPS', () => {
  let dir: string;
  let api: ApiFixture;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ems-https-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    api = await createApiFixture({ config: testConfig({ http: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } }) });
    await api.http.start();
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over TLS and marks the session cookie Secure', async () => {
    const res = await new Promise<{ status: number; cookies: string[] }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: api.http.port, path: '/api/v1/auth/login', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
        (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode ?? 0, cookies: ([] as string[]).concat(r.headers['set-cookie'] ?? []) }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }));
    });
    expect(res.status).toBe(200);
    expect(res.cookies.find((c) => c.startsWith('ems_session='))).toMatch(/;\s*Secure/i);
  });

  it('refuses to start with unreadable TLS files, naming http.tls', async () => {
    await expect(createApiFixture({ config: testConfig({ http: { host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'missing.pem'), key: join(dir, 'key.pem') } } }) })).rejects.toThrow(/http\.tls/);
  });
});
