// The History page shows the same energy totals for the same hours whatever resolution its range
// is read at (1 s, 1 min, 15 min), and they are the energy that was recorded. Real headless Chromium
// against the demo EMS on loopback, over a SQLite file that holds half an hour of history before
// the EMS starts: one sample a second, the first minute run for 10 s only (at 60 kW, so a minute
// counted whole would add 0.8 kWh), ending on a quarter hour 10–25 min before now.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { formatEnergy, SiteTime } from '../../dashboard/src/format.ts';
import { loadConfigFile } from '../../src/config-file.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { silentLogger } from '../../src/log.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { systemClock } from '../../src/clock.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const PASSWORD = 'history-totals-pass-1';
const MIN = 60_000;
const QUARTER = 15 * MIN;
const siteTime = new SiteTime('Europe/Berlin');

describeWithPeer('chromium', hasCommand(CHROMIUM), 'history totals at every resolution in a real browser', () => {
  let demo: DemoSite;
  let browser: Browser;
  let baseUrl: string;
  let dataDir: string;
  /** The quarter hour the recorded half hour ends on. */
  let endMs: number;
  const expected = { importWh: 0, evWh: 0, pvWh: 0 };
  const savedPassword = process.env.EMS_ADMIN_PASSWORD;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-history-totals-'));
    process.env.EMS_ADMIN_PASSWORD = PASSWORD;
    const path = join(dataDir, 'ems.sqlite');
    const nowMs = Date.now();
    endMs = Math.floor((nowMs - 10 * MIN) / QUARTER) * QUARTER;
    const store = openStorage(path, systemClock);
    const start = endMs - 30 * MIN + 50_000;
    for (let atMs = start; atMs < endMs; atMs += 1000) {
      const i = (atMs - start) / 1000;
      const gridPowerW = i < 10 ? 60_000 : 8_000 + ((i * 37) % 97) * 100;
      const evPowerW = 5_000 + (i % 60) * 50;
      const pvPowerW = 3_000 + (i % 17) * 20;
      store.history.record({ atMs, gridPowerW, evPowerW, pvPowerW });
      expected.importWh += gridPowerW / 3600;
      expected.evWh += evPowerW / 3600;
      expected.pvWh += pvPowerW / 3600;
    }
    store.close();
    const example = loadConfigFile(join(process.cwd(), 'config/examples/demo.yaml'));
    const config = {
      ...example,
      http: { ...example.http, host: '127.0.0.1', port: 0 },
      ocpp: { ...example.ocpp, host: '127.0.0.1', port: 0 },
      storage: { path },
    };
    demo = await startDemoSite({ config, log: silentLogger, clock: new ScaledClock(1), initialOccupancy: 1, seed: 5 });
    baseUrl = `http://127.0.0.1:${demo.app.httpPort}`;
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    if (savedPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const fact = async (page: Page, label: string) => (await page.locator('.history .summary .fact', { has: page.locator('dt', { hasText: label }) }).locator('dd').textContent())?.trim();

  it('shows the same grid import, EV and solar energy for the same hours at 1 s, 1 min and 15 min', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: 'America/New_York' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(baseUrl + '/');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-connector]').first().waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('.chart .uplot canvas').waitFor({ timeout: 15_000 });
    // The range fields say which zone they mean, whatever the browser's.
    expect(await page.locator('label[for="hist-from"]').textContent()).toBe('From (site time, Europe/Berlin)');

    const seen: Record<string, { resolution: string; importWh?: string; evWh?: string; pvWh?: string }> = {};
    for (const [name, fromMs, resolution] of [
      ['the half hour', endMs - 30 * MIN, '1s'],
      ['6 hours', endMs - 6 * 60 * MIN, '1m'],
      ['8 days', endMs - 8 * 24 * 60 * MIN, '15m'],
    ] as const) {
      await page.locator('#hist-from').fill(siteTime.toInput(fromMs));
      await page.locator('#hist-to').fill(siteTime.toInput(endMs));
      await page.getByRole('button', { name: 'Show', exact: true }).click();
      await expect.poll(() => page.locator('.history .chart + p').textContent(), { timeout: 20_000 }).toMatch(new RegExp(`points? at ${resolution} resolution`));
      seen[name] = { resolution, importWh: await fact(page, 'Grid import'), evWh: await fact(page, 'Into cars'), pvWh: await fact(page, 'Solar') };
      await page.screenshot({ path: join(ARTIFACTS, `history-totals-${resolution}.png`), fullPage: true });
    }
    const want = { importWh: formatEnergy(expected.importWh), evWh: formatEnergy(expected.evWh), pvWh: formatEnergy(expected.pvWh) };
    expect(seen).toEqual({
      'the half hour': { resolution: '1s', ...want },
      '6 hours': { resolution: '1m', ...want },
      '8 days': { resolution: '15m', ...want },
    });
    expect(errors, 'uncaught errors in the page').toEqual([]);
    await context.close();
  }, 120_000);
});
