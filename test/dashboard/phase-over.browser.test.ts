// The overview's phase row when reserved current is over the limit: a real EMS on loopback with a
// 20 A grid connection and one strict 1.6 charger without smart charging (NotSupported to every
// profile), so the EMS must count it at its 32 A max. Each phase is then 13 A over its usable limit
// (20 A less the default 5 % safety margin = 19 A) by reservation alone; in real headless Chromium
// the overview says "⚠ 13.0 A over (reserved)" on every phase, not "-13.0 A headroom". Screenshot in test-artifacts/dashboard/.
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
const ADMIN_PASSWORD = 'phase-over-admin-password';

describeWithPeer('chromium', hasCommand(CHROMIUM), 'reserved current over a phase limit on the overview', () => {
  let browser: Browser;
  let app: App;
  let dataDir: string;
  let dumb: StackCharger | undefined;
  const savedAdminPassword = process.env.EMS_ADMIN_PASSWORD;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-phase-over-'));
    process.env.EMS_ADMIN_PASSWORD = ADMIN_PASSWORD;
    app = await startApp({
      config: configSchema.parse({
        site: { name: 'Tight Depot', voltage: 230, timezone: 'UTC' },
        grid: { maxCurrent: 20 },
        chargers: [{ id: 'DUMB', maxCurrent: 32 }],
        ocpp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        storage: { path: join(dataDir, 'ems.sqlite') },
      }),
      log: silentLogger,
    });
    dumb = new StackCharger('DUMB', `ws://127.0.0.1:${app.ocppPort}/ocpp`, { smartCharging: false });
    dumb.mode = 'not-supported';
    await dumb.connect();
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await dumb?.close().catch(() => undefined);
    await app?.stop();
    if (savedAdminPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedAdminPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('says each phase is 13.0 A over (reserved) when an uncontrollable 32 A charger sits on a 20 A connection', async () => {
    const base = `http://127.0.0.1:${app.httpPort}`;
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    type State = { site: { headroomA: number[] | null }; connectors: { chargerId: string; profile: { uncontrollable?: boolean; reservedA?: number } | null }[] };
    const state = async () => (await (await fetch(`${base}/api/v1/state`, { headers: { authorization: `Bearer ${token}` } })).json()) as State;
    const reserved = await waitFor(async () => {
      const s = await state();
      return s.connectors.find((c) => c.chargerId === 'DUMB')?.profile?.uncontrollable && s.site.headroomA?.every((a) => a < 0) ? s : undefined;
    }, 'DUMB reserved at its max and the phases over', 15_000);
    expect(reserved!.connectors[0].profile).toMatchObject({ uncontrollable: true, reservedA: 32 });
    // 32 A reserved against 20 A × (1 − 0.05).
    expect(reserved!.site.headroomA).toEqual([-13, -13, -13]);

    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.page.overview').waitFor({ timeout: 20_000 });
    for (const phase of [1, 2, 3]) {
      const over = page.getByTestId(`phase-over-L${phase}`);
      await over.waitFor({ timeout: 15_000 });
      expect(await over.textContent()).toBe('⚠ 13.0 A over (reserved)');
      expect(await page.getByTestId(`phase-L${phase}`).textContent()).not.toContain('headroom');
    }
    // A month without a peak yet says so, not "month 0 W on —".
    await expect.poll(() => page.getByTestId('today').textContent(), { timeout: 10_000 }).toContain('no peak yet this month');
    expect(await page.getByTestId('today').textContent()).not.toContain('on —');
    await page.screenshot({ path: join(ARTIFACTS, 'phase-over-reserved.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
