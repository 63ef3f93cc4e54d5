// First start of a real EMS with no users and no EMS_ADMIN_PASSWORD: the dashboard offers the
// setup page, which turns the printed one-time token into the admin account.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';


describeWithPeer('chromium', hasCommand(CHROMIUM), 'dashboard on a fresh EMS', () => {
  let app: App;
  let browser: Browser;
  let dataDir: string;
  let setupToken = '';
  let stopped = false;
  const savedAdminPassword = process.env.EMS_ADMIN_PASSWORD;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'ems-first-run-'));
    delete process.env.EMS_ADMIN_PASSWORD;
    const config = configSchema.parse({
      site: { name: 'First Start' },
      grid: { maxCurrent: 63 },
      chargers: [{ id: 'CP1' }],
      http: { host: '127.0.0.1', port: 0 },
      ocpp: { host: '127.0.0.1', port: 0 },
      storage: { path: join(dataDir, 'ems.sqlite') },
    });
    const write = vi.spyOn(process.stdout, 'write');
    try {
      app = await startApp({ config, log: silentLogger });
    } finally {
      for (const [chunk] of write.mock.calls) setupToken ||= /"token":"([^"]+)"/.exec(String(chunk))?.[1] ?? '';
      write.mockRestore();
    }
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (!stopped) await app?.stop();
    if (savedAdminPassword !== undefined) process.env.EMS_ADMIN_PASSWORD = savedAdminPassword;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the admin from the printed setup token, logs in, and says so when the EMS goes away', async () => {
    expect(setupToken).not.toBe('');
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${app.httpPort}/`);
    await page.getByRole('heading', { name: 'First start: create the admin' }).waitFor();
    await page.getByLabel('Setup token').fill('not-the-token');
    await page.getByLabel('New admin password').fill('first-admin-pass');
    await page.getByLabel('Repeat the password').fill('first-admin-pass');
    await page.getByRole('button', { name: 'Create admin' }).click();
    await page.getByRole('alert').filter({ hasText: /\w/ }).waitFor();
    await page.getByLabel('Setup token').fill(setupToken);
    await page.getByRole('button', { name: 'Create admin' }).click();
    await page.locator('[data-connector="CP1/1"]').waitFor({ timeout: 15_000 });
    mkdirSync(join(process.cwd(), 'test-artifacts', 'dashboard'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'dashboard', 'first-start.png'), fullPage: true });
    // The new admin can log in with that password from now on.
    const login = await fetch(`http://127.0.0.1:${app.httpPort}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'first-admin-pass' }),
    });
    expect(login.status).toBe(200);

    // The EMS goes away: the page says so instead of showing old numbers as if they were live.
    await app.stop();
    stopped = true;
    await page.getByRole('alert').filter({ hasText: 'Lost contact with the EMS' }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('feed-status').textContent()).toContain('Not connected');
    await page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'dashboard', 'contact-lost.png'), fullPage: true });
    await page.close();
  }, 150_000);
});
