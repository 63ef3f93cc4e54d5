// The real browser the dashboard tests drive: Debian's chromium through playwright-core, and the
// demo EMS it looks at (startDemoForBrowser: one owner of that set-up and its tear-down).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Config } from '../../config/schema.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import type { Clock } from '../../src/clock.ts';
import { loadConfigFile } from '../../src/config-file.ts';
import { startDemoSite, type DemoSite } from '../../src/demo/demo-site.ts';
import { silentLogger } from '../../src/log.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the dashboard tests put their screenshots. */
/**
 * The planner's time limit for browser tests that show plans: they are about the page, not about
 * how fast a solve is, and at load 45 on 2 cores the default 5 s dropped every solve (site-clock
 * saw 'plan time-limit' twice and no plan in 30 s, 2026-12-07).
 */
export const PLAN_TIME_LIMIT_MS = 60_000;
export const DASHBOARD_ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');

/** Headless chromium without sandbox (as root in CI) and without its background network chatter. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Logs in on the dashboard's login form at `baseUrl`, as a user would (the page's own wait follows). */
export async function logInOnPage(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

export interface DemoForBrowserOptions {
  /** Names the data folder (`ems-<name>-…` in the system's temp folder). */
  name: string;
  /** The admin's password: EMS_ADMIN_PASSWORD while the demo runs (restored by stop()). */
  adminPassword: string;
  /** The demo's clock, made just before the demo starts (a ScaledClock runs from when it is made). */
  clock: () => Clock;
  seed: number;
  /** Share of chargers with a car at start (default 1). */
  initialOccupancy?: number;
  /**
   * Sections to replace in the demo's config (config/examples/demo.yaml). HTTP and OCPP always
   * listen on 127.0.0.1 at a free port, and storage is always the data folder's SQLite file.
   */
  config?: (example: Config) => Partial<Config>;
  /** Runs before the EMS starts, with the SQLite file it will open (e.g. to write history into it). */
  beforeStart?: (storagePath: string) => void;
}

export interface DemoForBrowser {
  readonly demo: DemoSite;
  readonly browser: Browser;
  /** http://127.0.0.1:<port> of the demo EMS. */
  readonly baseUrl: string;
  readonly dataDir: string;
  /** The admin's bearer token (POST /api/v1/auth/login). */
  readonly adminToken: string;
  /** Closes the browser, stops the demo, restores EMS_ADMIN_PASSWORD and removes the data folder. */
  stop(): Promise<void>;
}

/**
 * The demo EMS on loopback (real OCPP chargers, cars, planner, storage, API and live feed) with the
 * built dashboard, a headless chromium to look at it, and the admin logged in over the API. On a
 * failure half-way it undoes what it did and throws.
 */
export async function startDemoForBrowser(options: DemoForBrowserOptions): Promise<DemoForBrowser> {
  mkdirSync(DASHBOARD_ARTIFACTS, { recursive: true });
  await ensureDashboardBuilt();
  const savedPassword = process.env.EMS_ADMIN_PASSWORD;
  const dataDir = mkdtempSync(join(tmpdir(), `ems-${options.name}-`));
  let demo: DemoSite | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    const failures: unknown[] = [];
    await browser?.close().catch((error: unknown) => failures.push(error));
    await demo?.stop().catch((error: unknown) => failures.push(error));
    if (savedPassword === undefined) delete process.env.EMS_ADMIN_PASSWORD;
    else process.env.EMS_ADMIN_PASSWORD = savedPassword;
    rmSync(dataDir, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  };
  try {
    process.env.EMS_ADMIN_PASSWORD = options.adminPassword;
    const storagePath = join(dataDir, 'ems.sqlite');
    options.beforeStart?.(storagePath);
    const example = loadConfigFile(join(process.cwd(), 'config/examples/demo.yaml'));
    const config: Config = {
      ...example,
      ...options.config?.(example),
      http: { ...example.http, host: '127.0.0.1', port: 0 },
      ocpp: { ...example.ocpp, host: '127.0.0.1', port: 0 },
      storage: { path: storagePath },
    };
    demo = await startDemoSite({ config, log: silentLogger, clock: options.clock(), initialOccupancy: options.initialOccupancy ?? 1, seed: options.seed });
    if (demo.app.httpPort === undefined) throw new Error('the demo EMS started without its HTTP service (src/app.ts wires createHttpService)');
    const baseUrl = `http://127.0.0.1:${demo.app.httpPort}`;
    browser = await launchChromium();
    const login = await fetch(baseUrl + '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: options.adminPassword }),
    });
    if (login.status !== 200) throw new Error(`admin login to the demo: ${login.status} ${await login.text()}`);
    const adminToken = ((await login.json()) as { token: string }).token;
    return { demo, browser, baseUrl, dataDir, adminToken, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
