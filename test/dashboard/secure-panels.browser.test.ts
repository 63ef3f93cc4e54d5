// The security and OpenADR panels in real headless Chromium against a real EMS: the VEN status on
// the events page follows a 3.1 VTN on loopback (registered with its event, then the VTN gone and
// the error shown), and the warning about chargers anyone can connect as appears for operators and
// admins only when the OCPP port is exposed, never on a loopback-only site.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { startApp, type App } from '../../src/app.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createCentralSystem } from '../../src/ocpp/central-system.ts';
import { MemoryTransactionStore } from '../../src/state/memory-transaction-store.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { ADMIN_PASSWORD, createApiFixture, testConfig, type ApiFixture } from '../api/api-fixture.ts';
import { TestVtn3 } from '../fixtures/openadr/vtn3-server.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const PASSWORDS = { admin: ADMIN_PASSWORD, operator: 'operator-password-1', viewer: 'viewer-password-1' };

describeWithPeer('chromium', hasCommand(CHROMIUM), 'security and OpenADR panels in a real browser', () => {
  let browser: Browser;
  let vtn: TestVtn3;
  let app: App;
  let exposed: ApiFixture;
  let dataDir: string;
  const savedAdminPassword = process.env.EMS_ADMIN_PASSWORD;
  const pageErrors: string[] = [];

  const login = async (baseUrl: string, user: keyof typeof PASSWORDS): Promise<Page> => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${baseUrl}/`);
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(PASSWORDS[user]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('main#main').waitFor();
    await page.locator('.page').first().waitFor({ timeout: 20_000 });
    return page;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-secure-panels-'));
    process.env.EMS_ADMIN_PASSWORD = ADMIN_PASSWORD;
    vtn = await new TestVtn3().start();
    const program = vtn.addProgram('ev-site-dso');
    vtn.putEvent({
      id: 'cap-1',
      programID: program.id,
      intervalPeriod: { start: new Date(Date.now() - 60_000).toISOString(), duration: 'PT1H' },
      payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
      intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [20] }] }],
    });
    // The real EMS on loopback: chargers without password, but nobody else can reach the port.
    app = await startApp({
      config: configSchema.parse({
        site: { name: 'Panel Depot', voltage: 230, timezone: 'UTC' },
        grid: { maxCurrent: 100, meter: 'grid' },
        chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32 }],
        devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dataDir, 'ems.sqlite') },
        openadr: [{ id: 'dso', version: '3.1', vtnUrl: vtn.url, venName: 'depot', pollIntervalS: 0.2, client: { id: 'ven-client', secret: 'ven-secret' } }],
      }),
      log: silentLogger,
    });
    // An EMS whose config puts the OCPP port on every interface: the real central system for that
    // config says which chargers are open (created, never started: the test binds loopback only).
    const base = testConfig();
    const config = testConfig({ ocpp: { host: '0.0.0.0', port: 0 }, chargers: base.chargers.map((c) => (c.id === 'CP002' ? { ...c, password: 'secret-password-2' } : c)) });
    const bus = new Bus(silentLogger);
    const cs = createCentralSystem({ config, bus, clock: new ManualClock(Date.now()), state: new SiteState(config, bus), log: silentLogger }, { transactions: new MemoryTransactionStore() });
    exposed = await createApiFixture({ config, deps: { staticDir: join(process.cwd(), 'dashboard/dist'), unauthenticatedChargers: () => cs.unauthenticatedChargers() } });
    // The fixture's clock starts in the past; sessions (cookies) must not be expired for the browser.
    exposed.clock.advance(Date.now() - exposed.clock.nowMs());
    await exposed.http.start();
    for (const role of ['operator', 'viewer'] as const) {
      exposed.store.users.create({ username: role, passwordHash: await exposed.http.auth.hashPassword(PASSWORDS[role]), role });
      app.store.users.create({ username: role, passwordHash: await app.http.auth.hashPassword(PASSWORDS[role]), role });
    }
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await exposed?.http.stop();
    await exposed?.close();
    await vtn?.stop().catch(() => undefined);
    if (savedAdminPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedAdminPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the VEN registered with its event on the events page, then the VTN gone with its error', async () => {
    await waitFor(() => app.openadr[0]!.status().registered && app.openadr[0]!.status().events.length > 0, 'the VEN registered with the event');
    const venId = app.openadr[0]!.status().venId!;
    const page = await login(`http://127.0.0.1:${app.httpPort}`, 'viewer');
    await page.getByRole('link', { name: 'Events' }).click();
    const panel = page.locator('[data-panel="ven-status"]');
    await panel.getByRole('heading', { name: 'OpenADR link' }).waitFor({ timeout: 15_000 });
    const ven = panel.locator('[data-vtn="dso"]');
    expect(await ven.getByTestId('ven-health').textContent()).toBe('✓ Registered');
    expect(await ven.locator('h3').textContent()).toContain('OpenADR 3.1');
    expect(await ven.locator('dt:text-is("VEN id") + dd').textContent()).toBe(venId);
    expect(await ven.locator('dt:text-is("Last answer") + dd').textContent()).toMatch(/^\d{2}:\d{2}$/);
    expect(await ven.locator('[data-event="cap-1"]').textContent()).toMatch(/^cap-1 · .+ · active$/);
    expect(await ven.locator('dt:text-is("Error")').count()).toBe(0);
    // The panel sits on the events page, between the grid events and the event list.
    expect(await page.locator('.events-page > section').evaluateAll((s) => s.map((e) => e.getAttribute('aria-labelledby')))).toEqual(['grid-events-title', 'ven-status-title', 'ev-title']);
    // Loopback-only OCPP port: no warning about chargers without credentials (and the viewer may not ask).
    expect(await page.locator('[data-panel="charger-credentials"]').isVisible()).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, 'ven-status-registered.png'), fullPage: true });

    await vtn.stop();
    await waitFor(() => app.openadr[0]!.status().lastError, 'the VEN noticing the VTN is gone');
    const lastError = app.openadr[0]!.status().lastError!;
    await panel.getByRole('button', { name: '↻ Refresh' }).click();
    await ven.getByTestId('ven-health').filter({ hasText: '⚠ Registered, VTN not answering' }).waitFor({ timeout: 15_000 });
    // The current fault in the VEN's words (it changes with what the last poll met).
    expect(await ven.locator('dt:text-is("Error") + dd').textContent()).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/openadr3\/\S+: (connect ECONNREFUSED|socket hang up)/);
    expect(lastError).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/openadr3\//);
    await page.screenshot({ path: join(ARTIFACTS, 'ven-status-vtn-gone.png'), fullPage: true });
    // Navigating away and back mounts the panel once again, not twice.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'Events' }).click();
    await panel.getByRole('heading', { name: 'OpenADR link' }).waitFor();
    expect(await page.locator('[data-panel="ven-status"]').count()).toBe(1);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('warns operators and admins on every page about chargers anyone can connect as, and not viewers', async () => {
    const baseUrl = `http://127.0.0.1:${exposed.http.port}`;
    for (const user of ['admin', 'operator'] as const) {
      const page = await login(baseUrl, user);
      const banner = page.locator('[data-panel="charger-credentials"]');
      await banner.waitFor({ state: 'visible', timeout: 15_000 });
      const text = (await banner.textContent())!;
      expect(text).toContain('Charger CP001 has no password or client certificate, and the OCPP port listens on 0.0.0.0');
      expect(text).not.toContain('CP002');
      expect(await banner.getAttribute('role')).toBe('alert');
      // Still there on another page, once.
      await page.getByRole('link', { name: 'Events' }).click();
      await page.locator('.events-page').waitFor();
      expect(await page.locator('[data-panel="charger-credentials"]:visible').count()).toBe(1);
      if (user === 'admin') await page.screenshot({ path: join(ARTIFACTS, 'charger-credentials-warning.png'), fullPage: true });
      // No VTN in this config: no OpenADR panel.
      expect(await page.locator('[data-panel="ven-status"]').isVisible()).toBe(false);
      await page.context().close();
    }
    const page = await login(baseUrl, 'viewer');
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('.events-page').waitFor();
    expect(await page.locator('[data-panel="charger-credentials"]').isVisible()).toBe(false);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
