// The operator's views and controls in real headless Chromium against the demo EMS (simulated
// chargers over OCPP on loopback, the real API, planner, storage and live feed): the plan page,
// every steering control on a card, the site limit, and the CSV exports. Screenshots go to
// test-artifacts/dashboard/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, expect, it } from 'vitest';
import { formatEnergy, SiteTime } from '../../dashboard/src/format.ts';

/** The demo site's clock (config/examples/demo.yaml: Europe/Berlin): the page reads its inputs in it. */
const siteTime = new SiteTime('Europe/Berlin');
import { plannerSchema } from '../../config/schema.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, DASHBOARD_ARTIFACTS as ARTIFACTS, logInOnPage, startDemoForBrowser, type DemoForBrowser, PLAN_TIME_LIMIT_MS } from '../helpers/browser.ts';

const PASSWORD = 'operator-views-pass-1';

interface Connector {
  chargerId: string;
  connectorId: number;
  capA: number | null;
  session: { idTag: string; name: string | null; tier: string; chargeMode: string | null; departure: string | null; paused: boolean; energyNeedWh: number | null } | null;
}

describeWithPeer('chromium', hasCommand(CHROMIUM), 'operator views and controls in a real browser', () => {
  let site: DemoForBrowser;
  let browser: Browser;
  let baseUrl: string;
  let token: string;
  let pageErrors: string[] = [];
  beforeEach(() => {
    pageErrors = [];
  });
  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  });

  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(baseUrl + path, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  };
  const connectors = async () => (await api<{ connectors: Connector[] }>('/api/v1/state')).body.connectors;
  const withCar = async () => (await connectors()).filter((c) => c.session);

  const open = async (viewport = { width: 1366, height: 900 }): Promise<Page> => {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await logInOnPage(page, baseUrl, 'admin', PASSWORD);
    await page.locator('[data-connector]').first().waitFor({ timeout: 20_000 });
    return page;
  };
  const shoot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    site = await startDemoForBrowser({
      name: 'operator-views',
      adminPassword: PASSWORD,
      config: () => ({ planner: plannerSchema.parse({ enabled: true, solver: 'jslp', horizonH: 12, slotMin: 15, steerUnknownDepartures: true, timeLimitMs: PLAN_TIME_LIMIT_MS }) }),
      clock: () => new ScaledClock(1),
      seed: 11,
    });
    ({ browser, baseUrl, adminToken: token } = site);
    await waitFor(async () => (await withCar()).length >= 2, 'cars plugged in', 30_000);
  }, 180_000);

  afterAll(() => site?.stop());

  it('shows the plan per car with its readiness by departure', async () => {
    const page = await open();
    await waitFor(
      async () => {
        const view = (await api<{ plan?: { sessions: unknown[] } | null; lastError?: string | null; plans?: number; failures?: number }>('/api/v1/plan')).body;
        // The planner's own account goes into the timeout message: why there is no plan yet.
        if (!view.plan?.sessions.length) throw new Error(`no plan: ${JSON.stringify({ lastError: view.lastError, plans: view.plans, failures: view.failures })}`);
        return view.plan.sessions.length;
      },
      'a plan in force',
      30_000,
    );
    await page.getByRole('link', { name: 'Plan' }).click();
    const first = page.locator('[data-plan-session]').first();
    await first.waitFor({ timeout: 20_000 });
    const plan = (await api<{ plan: { sessions: { chargerId: string; connectorId: number; readyByDeparture: boolean | null; name: string | null }[] } }>('/api/v1/plan')).body.plan;
    expect(await page.locator('[data-plan-session]').count()).toBe(plan.sessions.length);
    const s = plan.sessions[0];
    const item = page.locator(`[data-plan-session="${s.chargerId}/${s.connectorId}"]`);
    const ready = (await item.getByTestId('plan-ready').textContent()) ?? '';
    expect(ready).toMatch(s.readyByDeparture === null ? /No departure set/ : s.readyByDeparture ? /Ready by/ : /short at departure/);
    if (s.name) expect(await item.locator('h3').textContent()).toContain(s.name);
    expect(await item.locator('canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => item.locator('.u-legend').textContent()).toContain('Import price');
    await shoot(page, 'plan');
    await page.context().close();
  }, 150_000);

  it('steers tier, charge mode, pause, departure and energy need from a card, and refuses a past departure with its reason', async () => {
    const page = await open();
    const target = (await withCar()).find((c) => !c.session!.paused)!;
    const key = `${target.chargerId}/${target.connectorId}`;
    const card = page.locator(`[data-connector="${key}"]`);
    // The tag's configured name, not the raw tag.
    if (target.session!.name) await card.getByTestId('tag').filter({ hasText: target.session!.name }).waitFor();

    const otherTier = target.session!.tier === 'guest' ? 'fleet' : 'guest';
    await card.getByLabel('Tier').selectOption(otherTier);
    await waitFor(async () => (await connectors()).find((c) => `${c.chargerId}/${c.connectorId}` === key)?.session?.tier === otherTier, 'tier applied', 10_000);

    await card.getByLabel('Charge mode').selectOption('pv');
    await waitFor(async () => (await connectors()).find((c) => `${c.chargerId}/${c.connectorId}` === key)?.session?.chargeMode === 'pv', 'charge mode applied', 10_000);
    await card.getByLabel('Charge mode').selectOption('fast');
    await waitFor(async () => (await connectors()).find((c) => `${c.chargerId}/${c.connectorId}` === key)?.session?.chargeMode === 'fast', 'charge mode back', 10_000);

    await card.getByTestId('pause').click();
    await card.locator('.badge').filter({ hasText: 'Paused by operator' }).waitFor({ timeout: 10_000 });
    await card.getByTestId('pause').click();
    await card.getByRole('button', { name: 'Pause' }).waitFor({ timeout: 10_000 });

    // A departure in the past: the EMS refuses it and the card says why.
    await card.getByText('Departure and energy need').click();
    await card.getByLabel('Departure').fill(siteTime.toInput(Date.now() - 3_600_000));
    await card.getByRole('button', { name: 'Save' }).click();
    await card.getByRole('alert').filter({ hasText: 'in the past' }).waitFor({ timeout: 10_000 });
    expect((await connectors()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!.session!.departure).toBe(target.session!.departure);

    // Soon, with far more energy than the cap can deliver by then: saved, and the card warns.
    await card.getByLabel('Departure').fill(siteTime.toInput(Date.now() + 30 * 60_000));
    await card.getByLabel('Energy need (kWh)').fill('400');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: `Saved: ${target.chargerId} connector ${target.connectorId}` }).waitFor({ timeout: 10_000 });
    await card.getByTestId('departure-warning').filter({ hasText: /Needs .* more by .*; at most .* even at the charger's max of \d+\.\d A\./ }).waitFor({ timeout: 10_000 });
    const after = (await connectors()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!;
    expect(after.session!.energyNeedWh).toBe(400_000);
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: join(ARTIFACTS, 'card-steering.png') });
    await page.context().close();
  }, 180_000);

  it('sets a site import limit with an end time and ends it', async () => {
    const page = await open();
    const panel = page.getByTestId('site-limit');
    await panel.getByLabel('Import limit (kW)').fill('25');
    await panel.getByLabel('Until').fill(siteTime.toInput(Date.now() + 90 * 60_000));
    await panel.getByRole('button', { name: 'Set limit' }).click();
    const row = panel.locator('[data-limit]').filter({ hasText: 'Import limit 25' });
    await row.waitFor({ timeout: 10_000 });
    const signals = (await api<{ id: string; kind: string; value: number; end: string }[]>('/api/v1/signals')).body;
    const mine = (Array.isArray(signals) ? signals : []).find((s) => s.kind === 'import-limit' && s.value === 25_000);
    expect(mine).toBeDefined();
    expect(Math.abs(Date.parse(mine!.end) - (Date.now() + 90 * 60_000))).toBeLessThan(120_000);
    await shoot(page, 'site-limit');
    await row.getByRole('button', { name: 'End now' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    await page.context().close();
  }, 150_000);

  it('downloads sessions, bills and history as CSV from the buttons', async () => {
    const page = await open();
    await page.getByRole('link', { name: 'Sessions' }).click();
    for (const [id, first] of [['export-sessions', 'transactionId,idTag,name,tier,chargerId'], ['export-bills', 'transactionId,idTag,name,tier,chargerId']] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(id).click()]);
      const text = readFileSync((await download.path())!, 'utf8');
      expect(text.startsWith(first), text.slice(0, 200)).toBe(true);
      expect(download.suggestedFilename()).toMatch(/\.csv$/);
    }
    // The demo's cars are plugged in: their sessions are in the export with the tag's name.
    const [sessions] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-sessions').click()]);
    const rows = readFileSync((await sessions.path())!, 'utf8').trim().split('\r\n');
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.slice(1).some((r) => /,(Van|Bus|Car|Staff|Guest)[^,]*,/.test(r) || r.split(',')[2] !== '')).toBe(true);
    await shoot(page, 'sessions-exports');
    await page.getByRole('link', { name: 'History' }).click();
    await page.getByTestId('export-history').and(page.locator('[href]')).waitFor({ timeout: 20_000 });
    const [history] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-history').click()]);
    expect(readFileSync((await history.path())!, 'utf8').split('\r\n')[0]).toBe('time,resolution,gridPowerW,pvPowerW,batteryPowerW,evPowerW,buildingPowerW,limitPowerW,gridL1A,gridL2A,gridL3A,gridImportW,gridExportW,gridImportWh,gridExportWh,gridNettedSamples');
    const [perConnector] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-connector-history').click()]);
    expect(readFileSync((await perConnector.path())!, 'utf8').split('\r\n')[0]).toBe('time,resolution,chargerId,connectorId,energyWh,powerW,l1A,l2A,l3A,capA');
    await page.context().close();
  }, 150_000);

  it('shows the grid current per phase and one connector’s history, with the figures the API has', async () => {
    // The first finished minute of a charging connector (the EMS keeps connectors per minute).
    type ConnectorHistory = { resolution: string; connectors: { chargerId: string; connectorId: number; energyWh: number; points: unknown[] }[] };
    const charged = await waitFor(
      async () => (await api<ConnectorHistory>('/api/v1/history/connectors?resolution=1m')).body.connectors.find((c) => c.energyWh > 0),
      'a finished minute of a charging connector',
      90_000,
    );
    const page = await open();
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('.history .uplot').waitFor({ timeout: 20_000 });

    await page.getByLabel('Show').selectOption('phases');
    await page.getByText(/Grid current per phase: \d+ points?/).waitFor({ timeout: 20_000 });
    const phaseHref = (await page.getByTestId('export-history').getAttribute('href'))!;
    const phasePoints = (await api<{ points: { gridL1A?: number }[] }>(phaseHref.replace('format=csv', 'format=json'))).body.points;
    const highestL1 = Math.max(...phasePoints.map((p) => p.gridL1A ?? -Infinity));
    expect(await page.getByTestId('phase-peak-1').textContent()).toContain(`${highestL1.toFixed(1)} A`);
    expect(await page.locator('.history .u-legend').textContent()).toContain('L3 (A)');
    await shoot(page, 'history-phases');

    await page.getByLabel('Show').selectOption(`connector:${charged.chargerId}/${charged.connectorId}`);
    await page.getByText(new RegExp(`${charged.chargerId} connector ${charged.connectorId}: \\d+ intervals?`)).waitFor({ timeout: 20_000 });
    const href = (await page.getByTestId('export-history').getAttribute('href'))!;
    expect(href).toContain(`chargerId=${charged.chargerId}`);
    const same = (await api<ConnectorHistory>(href.replace('format=csv', 'format=json'))).body.connectors[0];
    const shown = (await page.getByTestId('connector-energy').textContent()) ?? '';
    expect(shown).toBe(formatEnergy(same.energyWh));
    expect(await page.locator('.history .u-legend').textContent()).toContain('Cap (A)');
    await shoot(page, 'history-connector');
    await page.context().close();
  }, 150_000);
});
