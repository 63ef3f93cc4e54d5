// The circuits panel in real headless Chromium: a circuit with a submeter shows its reading
// against the chargers below it, and a submeter that reads clearly less than they draw (a CT off
// or on the wrong phase) is flagged. The real HTTP service, live feed and built dashboard.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { ADMIN_PASSWORD, createApiFixture, testConfig, type ApiFixture } from '../api/api-fixture.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');

describeWithPeer('chromium', hasCommand(CHROMIUM), 'circuit reconciliation in a real browser', () => {
  let site: ApiFixture;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const staticDir = await ensureDashboardBuilt();
    site = await createApiFixture({
      config: testConfig({
        circuits: [
          {
            id: 'main',
            maxCurrent: 63,
            children: [
              { id: 'row-a', maxCurrent: 32, meter: 'row-a-meter', chargers: ['CP001'] },
              { id: 'row-b', maxCurrent: 32, meter: 'row-b-meter', chargers: ['CP002'] },
            ],
          },
        ],
        devices: [
          { id: 'grid', role: 'grid-meter', driver: 'simulated' },
          { id: 'row-a-meter', role: 'load', driver: 'simulated' },
          { id: 'row-b-meter', role: 'load', driver: 'simulated' },
        ],
      }),
      deps: { staticDir },
    });
    await site.http.start();
    // The browser's session cookie expires on the server's clock: run it at the real time.
    const now = Date.now();
    site.clock.set(now);
    const { bus } = site.ctx;
    // CP001 draws 16 A per phase; row A's meter sees it plus 3 A of lights on L1.
    bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: now, currentA: [16, 16, 16] });
    bus.emit('device.reading', { deviceId: 'row-a-meter', role: 'load', atMs: now, currentA: [19, 16, 16], powerW: 11_700 });
    // CP002 (one phase, rotated onto site L2) draws 16 A; row B's meter reads 1 A there: a CT is off.
    bus.emit('connector.meter', { chargerId: 'CP002', connectorId: 1, atMs: now, currentA: [16, 0, 0] });
    bus.emit('device.reading', { deviceId: 'row-b-meter', role: 'load', atMs: now, currentA: [0, 1, 0], powerW: 230 });
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('shows each submeter against the load below it and flags the one that reads less', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 1200 } });
    await page.goto(`http://127.0.0.1:${site.http.port}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    const rowA = page.locator('[data-circuit="row-a"]');
    const rowB = page.locator('[data-circuit="row-b"]');
    await rowB.getByTestId('reconciliation').waitFor({ timeout: 20_000 });
    expect(await rowA.getByTestId('reconciliation').textContent()).toContain('meter agrees with the load below it; 3.0 A not metered separately');
    expect(await rowA.getByTestId('meter-mismatch').count()).toBe(0);
    expect(await rowB.getByTestId('meter-mismatch').textContent()).toContain('meter mismatch');
    expect(await rowB.getByTestId('reconciliation').textContent()).toContain('meter reads 1.0 A on L2, less than the 16.0 A below it: check the meter, its CTs and the phase mapping');
    await page.locator('[data-circuit="site"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'circuits-reconciliation.png'), fullPage: true });
    await page.close();
  }, 150_000);
});
