// Chargers anyone can connect as are visible to the operator: GET /api/v1/security and the metric
// ems_ocpp_unauthenticated_chargers list the chargers with neither password nor client certificate
// while the OCPP port is not loopback-only; viewers get 403. The list comes from the real central
// system for the config (created, not started: the test binds no address but loopback).
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createCentralSystem } from '../../src/ocpp/central-system.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { ADMIN_PASSWORD, createApiFixture, testConfig, type ApiFixture } from './api-fixture.ts';

const TLS = { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem', ca: '/nonexistent/ca.pem' };

function unauthenticatedFor(ocpp: Record<string, unknown>, chargerPasswords: Record<string, string> = {}) {
  const base = testConfig();
  const config = testConfig({ ocpp, chargers: base.chargers.map((c) => ({ ...c, ...(chargerPasswords[c.id] ? { password: chargerPasswords[c.id] } : {}) })) });
  const bus = new Bus(silentLogger);
  const cs = createCentralSystem({ config, bus, clock: new ManualClock(0), state: new SiteState(config, bus), log: silentLogger }, { transactions: new MemoryTransactionStore() });
  return { config, list: () => cs.unauthenticatedChargers() };
}

describe('GET /api/v1/security', () => {
  let api: ApiFixture | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('names the chargers without credentials on an exposed OCPP port, for operators and admins, and counts them in /metrics', async () => {
    const { config, list } = unauthenticatedFor({ host: '0.0.0.0', port: 0 }, { CP002: 'secret-password-2' });
    expect(list()).toEqual(['CP001']);
    api = await createApiFixture({ config, deps: { unauthenticatedChargers: list } });
    const get = async (url: string, token: string) => api!.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const operator = await api.userToken('operator');
    const viewer = await api.userToken('viewer');
    for (const token of [admin, operator]) {
      const res = await get('/api/v1/security', token);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ocpp: { host: '0.0.0.0', tls: false, clientCertRequired: false, unauthenticatedChargers: ['CP001'] } });
    }
    expect((await get('/api/v1/security', viewer)).statusCode).toBe(403);
    expect((await api.inject({ method: 'GET', url: '/api/v1/security' })).statusCode).toBe(401);
    expect((await get('/metrics', admin)).body).toMatch(/^ems_ocpp_unauthenticated_chargers 1$/m);
  });

  it('is empty on a loopback port (also IPv4-mapped), with every charger password-protected, and under Security Profile 3', async () => {
    for (const host of ['127.0.0.1', '127.0.0.5', '::1', '::ffff:127.0.0.1', 'localhost']) expect(unauthenticatedFor({ host, port: 0 }).list(), host).toEqual([]);
    expect(unauthenticatedFor({ host: '0.0.0.0', port: 0 }, { CP001: 'secret-password-1', CP002: 'secret-password-2' }).list()).toEqual([]);
    expect(unauthenticatedFor({ host: '0.0.0.0', port: 0, tls: { ...TLS, clientCert: 'required' } }).list()).toEqual([]);
    // TLS alone (Security Profile 2 without passwords) authenticates the EMS, not the charger.
    expect(unauthenticatedFor({ host: '::', port: 0, tls: TLS }).list()).toEqual(['CP001', 'CP002']);

    const { config, list } = unauthenticatedFor({ host: '127.0.0.1', port: 0 });
    api = await createApiFixture({ config, deps: { unauthenticatedChargers: list } });
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const res = await api.inject({ method: 'GET', url: '/api/v1/security', headers: { authorization: `Bearer ${admin}` } });
    expect(res.json().ocpp.unauthenticatedChargers).toEqual([]);
  });
});
