// The History page shows the same energy totals for the same hours whatever resolution its range
// is read at (1 s, 1 min, 15 min), and they are the energy that was recorded. Real headless Chromium
// against the demo EMS on loopback, over a SQLite file that holds half an hour of history before
// the EMS starts: one sample a second, the first minute run for 10 s only (at 60 kW, so a minute
// counted whole would add 0.8 kWh), then a grid that swings between import and export within
// every minute (netted per minute, import and export would both read low at 1 min and 15 min),
// ending on a quarter hour 10–25 min before now.
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatEnergy, SiteTime } from '../../dashboard/src/format.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import { systemClock } from '../../src/clock.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { CHROMIUM, DASHBOARD_ARTIFACTS as ARTIFACTS, logInOnPage, startDemoForBrowser, type DemoForBrowser } from '../helpers/browser.ts';

const PASSWORD = 'history-totals-pass-1';
const MIN = 60_000;
const QUARTER = 15 * MIN;
const siteTime = new SiteTime('Europe/Berlin');

describeWithPeer('chromium', hasCommand(CHROMIUM), 'history totals at every resolution in a real browser', () => {
  let site: DemoForBrowser;
  let browser: Browser;
  let baseUrl: string;
  /** The quarter hour the recorded half hour ends on. */
  let endMs: number;
  const expected = { importWh: 0, exportWh: 0, evWh: 0, pvWh: 0 };

  beforeAll(async () => {
    const nowMs = Date.now();
    endMs = Math.floor((nowMs - 10 * MIN) / QUARTER) * QUARTER;
    // The half hour of history, in the SQLite file before the EMS opens it.
    const recordHistory = (path: string) => {
      const store = openStorage(path, systemClock);
      const start = endMs - 30 * MIN + 50_000;
      for (let atMs = start; atMs < endMs; atMs += 1000) {
        const i = (atMs - start) / 1000;
        // (Its totals sit away from a rounding boundary of the page: 2,337.8 Wh in, 478.9 Wh out.)
        const gridPowerW = i < 10 ? 60_000 : -6_100 + ((i * 37) % 97) * 200;
        const evPowerW = 5_000 + (i % 60) * 50;
        const pvPowerW = 3_000 + (i % 17) * 20;
        store.history.record({ atMs, gridPowerW, evPowerW, pvPowerW });
        expected.importWh += Math.max(0, gridPowerW) / 3600;
        expected.exportWh += Math.max(0, -gridPowerW) / 3600;
        expected.evWh += evPowerW / 3600;
        expected.pvWh += pvPowerW / 3600;
      }
      store.close();
    };
    site = await startDemoForBrowser({ name: 'history-totals', adminPassword: PASSWORD, beforeStart: recordHistory, clock: () => new ScaledClock(1), seed: 5 });
    ({ browser, baseUrl } = site);
  }, 180_000);

  afterAll(() => site?.stop());

  const fact = async (page: Page, label: string) => (await page.locator('.history .summary .fact', { has: page.locator('dt', { hasText: label }) }).locator('dd').textContent())?.trim();

  it('shows the same grid import, grid export, EV and solar energy for the same hours at 1 s, 1 min and 15 min', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: 'America/New_York' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await logInOnPage(page, baseUrl, 'admin', PASSWORD);
    await page.locator('[data-connector]').first().waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('.chart .uplot canvas').waitFor({ timeout: 15_000 });
    // The range fields say which zone they mean, whatever the browser's.
    expect(await page.locator('label[for="hist-from"]').textContent()).toBe('From (site time, Europe/Berlin)');

    const seen: Record<string, { resolution: string; importWh?: string; exportWh?: string; evWh?: string; pvWh?: string }> = {};
    for (const [name, fromMs, resolution] of [
      ['the half hour', endMs - 30 * MIN, '1s'],
      ['6 hours', endMs - 6 * 60 * MIN, '1m'],
      ['8 days', endMs - 8 * 24 * 60 * MIN, '15m'],
    ] as const) {
      await page.locator('#hist-from').fill(siteTime.toInput(fromMs));
      await page.locator('#hist-to').fill(siteTime.toInput(endMs));
      await page.getByRole('button', { name: 'Show', exact: true }).click();
      await expect.poll(() => page.locator('.history .chart + p').textContent(), { timeout: 20_000 }).toMatch(new RegExp(`points? at ${resolution} resolution`));
      seen[name] = { resolution, importWh: await fact(page, 'Grid import'), exportWh: await fact(page, 'Grid export'), evWh: await fact(page, 'Into cars'), pvWh: await fact(page, 'Solar') };
      await page.screenshot({ path: join(ARTIFACTS, `history-totals-${resolution}.png`), fullPage: true });
    }
    const want = { importWh: formatEnergy(expected.importWh), exportWh: formatEnergy(expected.exportWh), evWh: formatEnergy(expected.evWh), pvWh: formatEnergy(expected.pvWh) };
    expect(seen).toEqual({
      'the half hour': { resolution: '1s', ...want },
      '6 hours': { resolution: '1m', ...want },
      '8 days': { resolution: '15m', ...want },
    });
    expect(errors, 'uncaught errors in the page').toEqual([]);
    await context.close();
  }, 240_000);
});
