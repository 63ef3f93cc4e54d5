// The whole EMS with a 3.1 VTN on loopback and a strict OCPP charger: a utility capacity limit
// must reach the charger's profile within a poll interval, and lifting it must restore the cap.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.ts';
import { openAdrViewSchema } from '../../src/api/openadr-view.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { createTestPki } from '../fixtures/openadr/certs.ts';
import { TestVtn2b } from '../fixtures/openadr/vtn2b-server.ts';
import { TestVtn3 } from '../fixtures/openadr/vtn3-server.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { TestCharger } from '../helpers/test-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

// The building behind the meter draws a little, as every real one does (a meter reading 0.00 A on
// every phase is one the EMS does not trust yet, and it holds the cars at the failsafe share).
const QUIET_A = 2;

describe('a utility limit on a running site', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  it('lowers the charging profile when the VTN caps site import, and restores it when the event goes', async () => {
    const vtn = await new TestVtn3().start();
    cleanup.push(() => vtn.stop());
    const program = vtn.addProgram('ev-site-dso');
    const config = configSchema.parse({
      site: { name: 'Depot', voltage: 230, timezone: 'UTC' },
      grid: { maxCurrent: 100, meter: 'grid', safetyMargin: 0 },
      control: { intervalMs: 200, deadbandA: 0, minPauseMs: 0, profileMinIntervalMs: 0, unusedHoldMs: 3_600_000 },
      chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }],
      idTags: [{ idTag: 'STAFF1', tier: 'staff' }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(mkdtempSync(join(tmpdir(), 'oadr-e2e-')), 'ems.sqlite') },
      openadr: [{ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'depot', pollIntervalS: 0.1, client: { id: 'ven-client', secret: 'ven-secret' } }],
    });
    const app: App = await startApp({ config, log: silentLogger });
    cleanup.push(() => app.stop());
    const meter = () =>
      app.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), currentA: [QUIET_A, QUIET_A, QUIET_A], powerW: QUIET_A * 690 });
    meter();
    const charger = new TestCharger('CP1', `ws://127.0.0.1:${app.ocppPort}/ocpp`);
    cleanup.push(() => charger.close());
    await charger.connect();
    await charger.startTransaction(1, 'STAFF1');
    await waitFor(() => charger.txLimitA(1) === 32, 'a full 32 A before any event');

    vtn.putEvent({
      id: 'cap-1',
      programID: program.id,
      intervalPeriod: { start: new Date(Date.now() - 60_000).toISOString(), duration: 'PT1H' },
      payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
      intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [10] }] }],
    });
    const capped = await waitFor(() => {
      meter();
      const limit = charger.txLimitA(1);
      return limit !== undefined && limit < 32 ? limit : undefined;
    }, 'a lower profile under the 10 kW import limit');
    expect(capped).toBeLessThanOrEqual(10_000 / (230 * 3) + 1e-6);
    expect(app.ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(10_000);
    expect(app.signals.list().map((s) => [s.source, s.kind, s.value, s.opt])).toEqual([['openadr:dso', 'import-limit', 10_000, 'in']]);
    expect(app.openadr.map((ven) => ven.status())).toEqual([
      expect.objectContaining({ id: 'dso', version: '3.1', registered: true, events: [expect.objectContaining({ eventId: 'cap-1', state: 'active', opt: 'in' })] }),
    ]);

    vtn.deleteEvent('cap-1');
    await waitFor(() => {
      meter();
      return charger.txLimitA(1) === 32;
    }, 'the full 32 A again once the event is gone');
  });
});

describeWithPeer('openssl', hasCommand('openssl'), 'a 2.0b shed event on a running site', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  });

  function siteConfig(vtnUrl: string, pki: ReturnType<typeof createTestPki>, dataDir: string): Config {
    return configSchema.parse({
      site: { name: 'Depot', voltage: 230, timezone: 'UTC' },
      grid: { maxCurrent: 100, meter: 'grid', safetyMargin: 0 },
      control: { intervalMs: 200, deadbandA: 0, minPauseMs: 0, profileMinIntervalMs: 0, unusedHoldMs: 3_600_000 },
      chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32, minCurrent: 6, phases: 3 }],
      idTags: [{ idTag: 'STAFF1', tier: 'staff' }],
      devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
      ocpp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { path: join(dataDir, 'ems.sqlite') },
      openadr: [
        {
          id: 'utility',
          version: '2.0b',
          vtnUrl,
          venName: 'depot',
          pollIntervalS: 0.1,
          tls: { ca: pki.caPath, cert: pki.clientCertPath, key: pki.clientKeyPath },
          simpleLevels: { 3: 8_000 },
        },
      ],
    });
  }

  it('drops the charger to the SIMPLE level limit, and the limit survives a restart while the VTN is away', async () => {
    const pki = createTestPki();
    const vtn = await new TestVtn2b({ ca: pki.read(pki.caPath), cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath) }).start();
    cleanup.push(() => vtn.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'oadr-e2e-2b-'));
    const config = siteConfig(vtn.url, pki, dataDir);
    let app: App = await startApp({ config, log: silentLogger });
    cleanup.push(() => app.stop());
    const meter = () => app.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), currentA: [QUIET_A, QUIET_A, QUIET_A], powerW: QUIET_A * 690 });
    meter();
    const charger = new TestCharger('CP1', `ws://127.0.0.1:${app.ocppPort}/ocpp`);
    cleanup.push(() => charger.close());
    await charger.connect();
    await charger.startTransaction(1, 'STAFF1');
    await waitFor(() => charger.txLimitA(1) === 32, 'a full 32 A before any event');

    const answered = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([
      { eventId: 'shed-1', modificationNumber: 0, startMs: Date.now() - 60_000, durationS: 3600, status: 'active', signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 3600, value: 3 }] }] },
    ]);
    expect((await answered).body.eiCreatedEvent.eventResponses.eventResponse.optType).toBe('optIn');
    const capped = await waitFor(() => {
      meter();
      const limit = charger.txLimitA(1);
      return limit !== undefined && limit < 32 ? limit : undefined;
    }, 'a lower profile under the 8 kW shed limit');
    expect(capped).toBeLessThanOrEqual(8_000 / (230 * 3) + 1e-6);

    await charger.close();
    await app.stop();
    await vtn.stop();
    app = await startApp({ config, log: silentLogger });
    expect(app.ctx.state.snapshot(Date.now()).signals.importLimitW).toBe(8_000);
    expect(app.signals.list().map((s) => `${s.eventId} ${s.kind}`).sort()).toEqual(['shed-1 import-limit', 'shed-1 load-shed']);
  });

  it('registers anew after the VTN restarts with no memory of the VEN, and its next event lowers the charger', async () => {
    const pki = createTestPki();
    const vtn = await new TestVtn2b({ ca: pki.read(pki.caPath), cert: pki.read(pki.serverCertPath), key: pki.read(pki.serverKeyPath) }).start();
    cleanup.push(() => vtn.stop());
    const config = siteConfig(vtn.url, pki, mkdtempSync(join(tmpdir(), 'oadr-e2e-amnesia-')));
    const app = await startApp({ config, log: silentLogger });
    cleanup.push(() => app.stop());
    const meter = () => app.ctx.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: Date.now(), currentA: [QUIET_A, QUIET_A, QUIET_A], powerW: QUIET_A * 690 });
    meter();
    const charger = new TestCharger('CP1', `ws://127.0.0.1:${app.ocppPort}/ocpp`);
    cleanup.push(() => charger.close());
    await charger.connect();
    await charger.startTransaction(1, 'STAFF1');
    await waitFor(() => app.openadr[0]!.status().registered, 'the first registration');
    await waitFor(() => {
      meter();
      return charger.txLimitA(1) === 32;
    }, 'a full 32 A before any event');

    await vtn.restart();
    await waitFor(() => app.openadr[0]!.status().venId === vtn.venId, 'registered with the new venID', 10_000);
    const answered = vtn.nextOf('oadrCreatedEvent');
    vtn.setEvents([
      { eventId: 'shed-after-restart', modificationNumber: 0, startMs: Date.now() - 60_000, durationS: 3600, status: 'active', signals: [{ name: 'SIMPLE', type: 'level', intervals: [{ durationS: 3600, value: 3 }] }] },
    ]);
    expect((await answered).body.eiCreatedEvent.venID).toBe(vtn.venId);
    const capped = await waitFor(() => {
      meter();
      const limit = charger.txLimitA(1);
      return limit !== undefined && limit < 32 ? limit : undefined;
    }, 'a lower profile under the 8 kW shed limit');
    expect(capped).toBeLessThanOrEqual(8_000 / (230 * 3) + 1e-6);

    // The operator sees the VEN's state over the API and in /metrics.
    const base = `http://127.0.0.1:${app.httpPort}`;
    const password = 'admin-password-1';
    app.store.users.create({ username: 'olga', passwordHash: await app.http.auth.hashPassword(password), role: 'viewer' });
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'olga', password }) });
    const { token } = (await login.json()) as { token: string };
    const res = await fetch(`${base}/api/v1/openadr`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const view = openAdrViewSchema.parse(await res.json());
    const ven = view.vtns[0]!;
    expect(ven).toMatchObject({ id: 'utility', version: '2.0b', registered: true, venId: vtn.venId, vtnId: 'TEST_VTN', lastError: null });
    expect(Date.parse(ven.lastPollAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(ven.certificate.fingerprint).toMatch(/^([0-9A-F]{2}:){9}[0-9A-F]{2}$/);
    expect(ven.certificate.expiresInDays).toBeGreaterThan(0);
    expect(ven.events).toEqual([expect.objectContaining({ eventId: 'shed-after-restart', state: 'active', opt: 'in', applied: true })]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/ems_openadr_registered\{vtn="utility",version="2.0b"\} 1/);
    expect(metrics).toMatch(/ems_openadr_events\{vtn="utility",state="active"\} 1/);
    expect(metrics).toMatch(/ems_openadr_certificate_expiry_seconds\{vtn="utility"\} \d+/);
  });
});
