// The uplink on the dashboard, in real headless Chromium against a real EMS (startApp: API, storage,
// OCPP) in local-controller mode, with the independent strict CSMS and a strict 1.6 charger on
// loopback. The operator sees the uplink go offline, the queue grow while a car starts, and both
// recover when the CSMS is back.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { relayConfig } from './local-controller.ts';
import { StrictCharger, TestCsms } from './peers.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const ADMIN_PASSWORD = 'uplink-admin-pass-1';

describeWithPeer('chromium', hasCommand(CHROMIUM), 'uplink panel in a real browser', () => {
  let app: App;
  let browser: Browser;
  let csms: TestCsms;
  let charger: StrictCharger;
  let dataDir: string;
  const savedAdminPassword = process.env.EMS_ADMIN_PASSWORD;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-uplink-panel-'));
    process.env.EMS_ADMIN_PASSWORD = ADMIN_PASSWORD;
    csms = new TestCsms();
    await csms.start();
    const config = relayConfig(csms.url, { http: { host: '127.0.0.1', port: 0 }, storage: { path: join(dataDir, 'ems.sqlite') } });
    app = await startApp({ config, log: silentLogger });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await charger?.close().catch(() => undefined);
    await app?.stop();
    await csms?.stop();
    if (savedAdminPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedAdminPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows each charger’s uplink and queue, offline with a growing queue while the CSMS is away, online and empty once it is back', async () => {
    const pageErrors: string[] = [];
    charger = new StrictCharger(app.ocppPort, 'CP16', 'ocpp1.6');
    await charger.connect();
    await charger.boot();
    await waitFor(() => csms.clients.has('CLOUD-CP16'), 'uplink of CP16');

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${app.httpPort}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();

    const panel = page.locator('[data-panel="uplink"]');
    const row = (id: string) => panel.locator(`[data-uplink="${id}"]`);
    await panel.getByRole('heading', { name: 'Cloud CSMS uplink' }).waitFor({ timeout: 20_000 });
    await row('CP16').locator('[data-field="uplink"]', { hasText: 'Online' }).waitFor();
    expect(await row('CP16').textContent()).toContain('as CLOUD-CP16');
    expect(await row('CP16').locator('[data-field="queue"]').textContent()).toBe('0');
    // A charger that never connected: away, its uplink closed.
    expect(await row('CS201').textContent()).toContain('Away');
    expect(await row('CS201').locator('[data-field="uplink"]').textContent()).toContain('Closed');

    // The CSMS goes away; a car starts: the EMS answers, queues the start, and the panel says so.
    await csms.stop();
    await waitFor(() => app.upstream.status().find((s) => s.chargerId === 'CP16')?.uplink === 'offline', 'uplink offline');
    await charger.start16(1, 'LOCAL01', new Date().toISOString());
    await charger.meter16(1, new Date().toISOString(), 1500);
    await row('CP16').locator('[data-field="uplink"]', { hasText: 'Offline' }).waitFor({ timeout: 15_000 });
    await row('CP16').locator('[data-field="queue"]', { hasText: '2' }).waitFor({ timeout: 15_000 });
    expect(await panel.getByTestId('uplink-summary').textContent()).toContain('2 frames wait for the CSMS');
    mkdirSync(join(process.cwd(), 'test-artifacts', 'dashboard'), { recursive: true });
    await panel.screenshot({ path: join(process.cwd(), 'test-artifacts', 'dashboard', 'uplink-offline.png') });

    // The CSMS is back on the same port: the queue drains to it and the panel turns online, empty.
    await csms.start(csms.port);
    await waitFor(() => csms.from('CLOUD-CP16', 'MeterValues').length === 1, 'queued frames delivered');
    await row('CP16').locator('[data-field="uplink"]', { hasText: 'Online' }).waitFor({ timeout: 15_000 });
    await row('CP16').locator('[data-field="queue"]', { hasText: '0' }).waitFor({ timeout: 15_000 });
    expect(csms.from('CLOUD-CP16', 'StartTransaction')).toHaveLength(1);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 90_000);
});
