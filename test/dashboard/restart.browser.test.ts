// Today's figures survive a real restart: a real `ems run` process bills a charging session (a
// charger over OCPP on loopback), the dashboard's Today strip is read in Chromium, the process is
// stopped (SIGTERM) and started again on the same data folder, and the strip reads the same.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ocppRpc from 'ocpp-rpc';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { freePort } from '../helpers/ems-process.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';

const RPCClient = ocppRpc.RPCClient as unknown as new (options: Record<string, unknown>) => any;
const BIN = fileURLToPath(new URL('../../bin/ems.js', import.meta.url));
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const PASSWORD = 'restart-dashboard-pass';

interface Ems {
  child: ChildProcess;
  exited: Promise<number | string>;
}

describeWithPeer('chromium', hasCommand(CHROMIUM), 'KPIs across a real process restart', () => {
  let dir: string;
  let configPath: string;
  let httpPort: number;
  let ocppPort: number;
  let browser: Browser;
  let ems: Ems | undefined;

  const start = async (): Promise<Ems> => {
    const child = spawn(process.execPath, [BIN, 'run', '--config', configPath], {
      cwd: dir,
      env: { ...process.env, EMS_ADMIN_PASSWORD: PASSWORD, EMS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out = (out + d).slice(-200_000)));
    child.stderr!.on('data', (d) => (out = (out + d).slice(-200_000)));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      await waitFor(() => {
        if (gone) throw new Error(`ems exited before it was ready:\n${out}`);
        return out.includes('EMS running');
      }, 'EMS running', 90_000);
    } catch (error) {
      // Never leave a process behind that the test cannot stop any more.
      child.kill('SIGKILL');
      throw error;
    }
    return { child, exited };
  };

  const api = async (path: string, token?: string, init: RequestInit = {}) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    return { status: res.status, body: await res.json() };
  };
  const token = async () => (await api('/api/v1/auth/login', undefined, { method: 'POST', body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).body.token as string;

  /** The Today strip as a user reads it. */
  const readToday = async (page: Page) => {
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    // The page first asks who is logged in: wait for its answer (the login form or the app).
    await page.getByLabel('Username').or(page.getByTestId('today')).first().waitFor({ state: 'visible', timeout: 20_000 });
    if (await page.getByLabel('Username').count()) {
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
    }
    const today = page.getByTestId('today');
    await today.waitFor({ state: 'visible', timeout: 20_000 });
    await page.getByTestId('today-energy').filter({ hasNotText: '—' }).waitFor({ timeout: 20_000 });
    return today.evaluate((el) =>
      Object.fromEntries(
        Array.from(el.querySelectorAll('[data-testid^="today-"]:not([data-testid="today-more"]), .today-detail, .panel-head p')).map((e, i) => [`${(e as HTMLElement).dataset.testid ?? 'detail'}-${i}`, e.textContent]),
      ),
    );
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureDashboardBuilt();
    dir = mkdtempSync(join(tmpdir(), 'ems-kpi-restart-'));
    configPath = join(dir, 'site.yaml');
    [httpPort, ocppPort] = [await freePort(), await freePort()];
    writeFileSync(
      configPath,
      stringify({
        site: { name: 'Restart KPIs', timezone: 'Europe/Berlin' },
        grid: { maxCurrent: 63 },
        chargers: [{ id: 'CP001', connectors: 1, maxCurrent: 32 }],
        idTags: [{ idTag: 'BUS12', tier: 'fleet', name: 'Bus 12' }],
        control: { tiers: { fleet: 3, staff: 2, guest: 1 } },
        tariffs: { currency: 'EUR', import: { default: 0.3, periods: [] }, demandCharge: { pricePerKW: 10 } },
        ocpp: { host: '127.0.0.1', port: ocppPort },
        http: { host: '127.0.0.1', port: httpPort },
        storage: { path: join(dir, 'data', 'ems.sqlite') },
      }),
    );
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (ems && ems.child.exitCode === null) {
      ems.child.kill('SIGTERM');
      await ems.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  // The figures are read right after the session ended: everything of it is counted by then (the draw
  // held since the last control cycle is counted up to the session's end, not at the next cycle), so
  // nothing changes between the readings but the restart.
  it('shows the same energy, cost, peak and sessions ended after a restart', async () => {
    ems = await start();
    const admin = await token();
    const cp = new RPCClient({ endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: 'CP001', protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
    cp.handle(({ method }: { method: string }) =>
      method === 'GetConfiguration' ? { configurationKey: [{ key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' }] } : { status: 'Accepted' },
    );
    await cp.connect();
    await cp.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'K1' });
    const startConf = await cp.call('StartTransaction', { connectorId: 1, idTag: 'BUS12', meterStart: 1_000, timestamp: new Date().toISOString() });
    const transactionId = startConf.transactionId as number;
    // The car draws 11 kW: meter values until the EMS has counted some energy into today.
    let registerWh = 1_000;
    await waitFor(async () => {
      registerWh += 5;
      await cp.call('MeterValues', {
        connectorId: 1,
        transactionId,
        meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [
          { value: String(registerWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          { value: '11000', measurand: 'Power.Active.Import', unit: 'W' },
        ] }],
      });
      return (await api('/api/v1/kpis', admin)).body.today.evEnergyWh > 5;
    }, 'energy counted', 20_000);
    await cp.call('StopTransaction', { transactionId, meterStop: registerWh, timestamp: new Date().toISOString() });
    const before = await waitFor(async () => {
      const k = (await api('/api/v1/kpis', admin)).body;
      return k.today.sessions === 1 ? k : false;
    }, 'the session ended in the KPIs', 10_000);
    expect(before.today.energyCost).toBeGreaterThan(0);
    expect(before.month.peakW).toBe(before.today.peakW);
    // GET /api/v1/peak answers from the tariff service's figure: the same as the KPIs', never behind.
    const peakBefore = (await api('/api/v1/peak', admin)).body;
    expect(peakBefore.peakPowerW).toBe(before.month.peakW);
    expect(peakBefore.peakPowerW).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const shownBefore = await readToday(page);
    await page.screenshot({ path: join(ARTIFACTS, 'today-before-restart.png') });
    await cp.close({ force: true }).catch(() => {});

    ems.child.kill('SIGTERM');
    expect(await ems.exited).toBe(0);
    ems = await start();

    const after = (await api('/api/v1/kpis', await token())).body;
    // Utilization is a share of connector-time: it falls as idle time passes, restart or not.
    expect({ ...after.today, utilization: undefined }).toEqual({ ...before.today, utilization: undefined });
    expect(after.today.utilization).toBeLessThanOrEqual(before.today.utilization);
    expect(after.month).toEqual(before.month);
    expect((await api('/api/v1/peak', await token())).body).toEqual(peakBefore);
    const shownAfter = await readToday(page);
    await page.screenshot({ path: join(ARTIFACTS, 'today-after-restart.png') });
    expect(shownAfter).toEqual(shownBefore);
    expect(Object.values(shownAfter).join(' ')).toContain('1 session ended');
    await page.close();
  }, 240_000);

  it('keeps a Settings edit across a restart in the overrides file, and leaves the installer’s file alone', async () => {
    const installed = readFileSync(configPath, 'utf8');
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await readToday(page);
    await page.getByRole('link', { name: 'Settings' }).click();
    const editor = page.getByLabel('Site config (YAML)');
    await editor.waitFor();
    await expect.poll(() => editor.inputValue(), { timeout: 10_000 }).toContain('Restart KPIs');
    await editor.fill((await editor.inputValue()).replace('name: Restart KPIs', 'name: Depot After Edit'));
    await page.getByRole('button', { name: 'Save and apply' }).click();
    const note = page.getByTestId('overrides-note');
    await note.filter({ hasText: 'Your edits (site) are kept in' }).waitFor({ timeout: 10_000 });
    expect(await note.textContent()).toContain(join(dir, 'data', 'config-overrides.yaml'));
    await page.screenshot({ path: join(ARTIFACTS, 'settings-overrides.png'), fullPage: true });
    expect(readFileSync(configPath, 'utf8')).toBe(installed);

    ems!.child.kill('SIGTERM');
    expect(await ems!.exited).toBe(0);
    ems = await start();
    await readToday(page);
    await page.locator('.site-name').filter({ hasText: 'Depot After Edit' }).waitFor({ timeout: 20_000 });
    expect(readFileSync(configPath, 'utf8')).toBe(installed);
    await page.getByRole('link', { name: 'Settings' }).click();
    await note.filter({ hasText: 'Your edits (site)' }).waitFor({ timeout: 10_000 });
    await page.close();
  }, 240_000);
});
