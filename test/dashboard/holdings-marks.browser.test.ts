// A charger the EMS cannot cap, seen where an operator looks: a real EMS on loopback with two
// independent strict 1.6 chargers, one of which has no smart charging (SupportedFeatureProfiles
// without SmartCharging, NotSupported to every profile). The state API marks its connector
// uncontrollable and reserved at its max; in real headless Chromium the overview names it in a
// warning panel with what to do, and its connector card (only its card) carries the mark.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { StackCharger } from '../helpers/stack-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const ADMIN_PASSWORD = 'holdings-admin-password';

describeWithPeer('chromium', hasCommand(CHROMIUM), 'chargers the EMS cannot cap, in the API and the dashboard', () => {
  let browser: Browser;
  let app: App;
  let dataDir: string;
  const chargers: StackCharger[] = [];
  const savedAdminPassword = process.env.EMS_ADMIN_PASSWORD;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-holdings-marks-'));
    process.env.EMS_ADMIN_PASSWORD = ADMIN_PASSWORD;
    app = await startApp({
      config: configSchema.parse({
        site: { name: 'Marks Depot', voltage: 230, timezone: 'UTC' },
        grid: { maxCurrent: 100 },
        circuits: [{ id: 'row', maxCurrent: 50, chargers: ['DUMB', 'CP2'] }],
        chargers: [{ id: 'DUMB' }, { id: 'CP2' }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dataDir, 'ems.sqlite') },
      }),
      log: silentLogger,
    });
    const endpoint = `ws://127.0.0.1:${app.ocppPort}/ocpp`;
    const dumb = new StackCharger('DUMB', endpoint, { smartCharging: false });
    dumb.mode = 'not-supported';
    chargers.push(dumb, new StackCharger('CP2', endpoint));
    for (const c of chargers) await c.connect();
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(chargers.map((c) => c.close().catch(() => undefined)));
    await app?.stop();
    if (savedAdminPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedAdminPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('marks the charger that refuses profiles in the state API, in a warning on the overview and on its connector card only', async () => {
    const base = `http://127.0.0.1:${app.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    const connector = async (chargerId: string) => {
      const res = await fetch(`${base}/api/v1/state`, { headers: { authorization: `Bearer ${token}` } });
      const state = (await res.json()) as { connectors: { chargerId: string; profile: Record<string, unknown> | null }[] };
      return state.connectors.find((c) => c.chargerId === chargerId);
    };
    // At the API boundary: reserved at its max from the moment it connected, nobody charging yet.
    const dumb = await waitFor(async () => ((await connector('DUMB'))?.profile?.uncontrollable ? connector('DUMB') : undefined), 'DUMB marked uncontrollable in the state API', 15_000);
    expect(dumb!.profile).toMatchObject({ uncontrollable: true, reservedA: 32 });
    await waitFor(async () => (await connector('CP2'))?.profile, 'CP2 set up', 15_000);
    expect((await connector('CP2'))!.profile!.uncontrollable).toBeUndefined();

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.page.overview').waitFor({ timeout: 20_000 });

    const panel = page.locator('[data-panel="uncontrollable"]');
    await panel.getByRole('heading', { name: '⚠ Chargers the EMS cannot cap' }).waitFor({ timeout: 15_000 });
    expect(await panel.locator('[data-uncontrollable="DUMB"]').textContent()).toBe('DUMB counted at 32 A on connector 1');
    expect(await panel.locator('[data-uncontrollable]').count()).toBe(1);
    expect(await panel.textContent()).toContain('Enable OCPP smart charging');
    const dumbCard = page.locator('.card.connector[data-connector="DUMB/1"]');
    await dumbCard.locator('.uncontrollable-mark').waitFor({ timeout: 15_000 });
    expect(await dumbCard.locator('.uncontrollable-mark').textContent()).toBe('Not controllable');
    expect(await page.locator('.card.connector[data-connector="CP2/1"] .uncontrollable-mark').count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'uncontrollable-charger.png'), fullPage: true });
    // Away to another page and back: the panel is there once, the mark again on the redrawn card.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('link', { name: 'Overview' }).click();
    await dumbCard.locator('.uncontrollable-mark').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-panel="uncontrollable"]').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
