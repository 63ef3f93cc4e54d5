// The dashboard in real headless Chromium against the real demo EMS (simulated chargers over
// OCPP-J on loopback, the real API, storage and live feed). Screenshots go to test-artifacts/.
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { formatMoney, formatPower, SiteTime } from '../../dashboard/src/format.ts';

/** The demo site's clock (config/examples/demo.yaml: Europe/Berlin): the page reads its inputs in it. */
const siteTime = new SiteTime('Europe/Berlin');
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { type DemoSite } from '../../src/demo/demo-site.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, DASHBOARD_ARTIFACTS as ARTIFACTS, logInOnPage, startDemoForBrowser, type DemoForBrowser } from '../helpers/browser.ts';

const USERS = {
  admin: { password: 'admin-pass-1234', role: 'admin' },
  operator: { password: 'operator-pass-1234', role: 'operator' },
  viewer: { password: 'viewer-pass-1234', role: 'viewer' },
} as const;
type User = keyof typeof USERS;

interface ConnectorState {
  chargerId: string;
  connectorId: number;
  capA: number | null;
  reason: string | null;
  rank: number | null;
  status: string;
  session: { departure: string | null; paused: boolean } | null;
}

describeWithPeer('chromium', hasCommand(CHROMIUM), 'dashboard in a real browser against the demo EMS', () => {
  let site: DemoForBrowser;
  let demo: DemoSite;
  let browser: Browser;
  let baseUrl: string;
  let adminToken: string;
  let pageErrors: string[] = [];
  beforeEach(() => {
    pageErrors = [];
  });
  afterEach(() => {
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  });

  const api = async <T>(path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(baseUrl + path, {
      ...init,
      headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers ?? {}) },
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };

  const connectorsNow = async (): Promise<ConnectorState[]> => (await api<{ connectors: ConnectorState[] }>('/api/v1/state', { token: adminToken })).body.connectors;

  const openAs = async (user: User, viewport = { width: 1280, height: 900 }): Promise<Page> => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await logInOnPage(page, baseUrl, user, USERS[user].password);
    await page.locator('[data-connector]').first().waitFor({ timeout: 20_000 });
    return page;
  };

  const shoot = async (page: Page, name: string) => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    // Departure priority, so that steering a departure visibly moves a car up the order; the two
    // 40 A rows with a car on every charger keep capacity scarce.
    site = await startDemoForBrowser({
      name: 'dashboard-test',
      adminPassword: USERS.admin.password,
      config: (example) => ({ control: { ...example.control, priority: 'departure' as const } }),
      clock: () => new ScaledClock(1),
      seed: 7,
    });
    ({ demo, browser, baseUrl, adminToken } = site);
    for (const user of ['operator', 'viewer'] as const) {
      const created = await api('/api/v1/users', { method: 'POST', token: adminToken, body: JSON.stringify({ username: user, password: USERS[user].password, role: USERS[user].role }) });
      expect(created.status).toBe(201);
    }
  }, 180_000);

  afterAll(() => site?.stop());

  it('logs in with Username and Password and shows the site with a card per connector', async () => {
    const page = await openAs('admin');
    const cards = page.locator('[data-connector]');
    expect(await cards.count()).toBe((await connectorsNow()).length);
    await page.getByRole('heading', { name: 'Power flow' }).waitFor();
    await page.locator('.feed-live').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('flow-grid').textContent()).toMatch(/\d/);
    // Status in words (and a symbol), never colour alone.
    for (const badge of await page.locator('[data-connector] .badge').allTextContents()) expect(badge).toMatch(/[A-Za-z]{4,}/);
    // The fuse tree from the config, each circuit with its three phases.
    for (const id of ['main', 'row-a', 'row-b']) await page.locator(`[data-circuit="${id}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-circuit="row-a"] [role="meter"]').count()).toBe(3);
    await shoot(page, 'overview-desktop');
    // A large site: find one charger by name.
    await page.getByLabel('Find').fill('cp002');
    expect(await page.locator('[data-connector]:visible').count()).toBe(1);
    expect(await page.locator('[data-connector="CP002/1"]').isVisible()).toBe(true);
    await page.getByLabel('Find').fill('');
    // Whether a car is charging right now depends on the plan (the planner may hold cars for a cheaper
    // hour); every demo has cars plugged in, so the filter is checked on those.
    await page.getByLabel('Show').selectOption('car');
    const shownStatuses = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('[data-connector]:not([hidden])')).map((e) => e.dataset.status));
    expect(shownStatuses.length).toBeGreaterThan(0);
    expect(shownStatuses).not.toContain('Available');
    await page.context().close();
  }, 150_000);

  it('refuses a wrong password with a message and no session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await logInOnPage(page, baseUrl, 'admin', 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    expect(await page.locator('[data-connector]').count()).toBe(0);
    await shoot(page, 'login-refused');
    await context.close();
  }, 180_000);

  it('updates the live numbers without a reload', async () => {
    const page = await openAs('viewer');
    await page.locator('.feed-live').waitFor({ timeout: 10_000 }); // over the WebSocket, not polling
    const readings = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('[data-testid^="flow-"], [data-testid^="phase-"], [data-testid="draw"], [data-testid="cap"]')).map((e) => e.textContent).join('|'),
      );
    const first = await readings();
    await page.waitForFunction((before) => {
      const now = Array.from(document.querySelectorAll('[data-testid^="flow-"], [data-testid^="phase-"], [data-testid="draw"], [data-testid="cap"]')).map((e) => e.textContent).join('|');
      return now !== before;
    }, first, { timeout: 30_000, polling: 250 });
    expect(await readings()).not.toBe(first);
    await page.context().close();
  }, 150_000);

  it("lets an operator set a departure and shows that connector's new priority, reason and cap", async () => {
    const page = await openAs('operator');
    // The charging car furthest down the priority order (a car paused for lack of capacity would
    // stay paused for the minimum pause time, by design).
    // The demo's first cycles settle (caps held while cars slow down, the planner's first plan):
    // wait until two cars charge on caps that are not a transient hold.
    const settled = (c: ConnectorState) => c.session && typeof c.rank === 'number' && (c.capA ?? 0) > 0 && !/^kept at /.test(c.reason ?? '');
    const ranked = await waitFor(async () => {
      const now = (await connectorsNow()).filter(settled);
      return now.length > 1 && now;
    }, 'two cars charging on settled caps', 30_000);
    expect(ranked.length).toBeGreaterThan(1);
    const target = ranked.reduce((a, b) => (b.rank! > a.rank! ? b : a));
    const key = `${target.chargerId}/${target.connectorId}`;
    const card = page.locator(`[data-connector="${key}"]`);
    const reasonBefore = (await card.getByTestId('reason').textContent()) ?? '';
    const capBefore = target.capA!;
    await shoot(page, 'steer-before');

    // Leaves in 20 minutes and needs 150 kWh: the least laxity on the site, so first in the
    // departure order.
    const departureMs = Date.now() + 20 * 60_000;
    await card.getByText('Departure and energy need').click();
    await card.getByLabel('Departure').fill(siteTime.toInput(departureMs));
    await card.getByLabel('Energy need (kWh)').fill('150');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: `Saved: ${target.chargerId} connector ${target.connectorId}` }).waitFor({ timeout: 10_000 });

    await card.getByTestId('rank').filter({ hasText: /^1 of / }).waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      ([sel, before]) => (document.querySelector(`${sel} [data-testid="reason"]`)?.textContent ?? '') !== before,
      [`[data-connector="${key}"]`, reasonBefore] as const,
      { timeout: 20_000 },
    );
    // The raise comes once the cars it takes capacity from have had time to slow down (control.carResponseS).
    let after = (await connectorsNow()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!;
    for (const deadline = Date.now() + 20_000; after.capA! <= capBefore && Date.now() < deadline; ) {
      await page.waitForTimeout(500);
      after = (await connectorsNow()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!;
    }
    expect(Date.parse(after.session!.departure!)).toBe(Math.floor(departureMs / 60_000) * 60_000);
    expect(after.rank).toBe(1);
    expect((after.session as { energyNeedWh?: number }).energyNeedWh).toBe(150_000);
    expect(after.capA!).toBeGreaterThan(capBefore);
    // The card shows the cap the EMS holds now, and it is the raised one. Read together: the live
    // feed may show a raise a moment after the API, and a raise can be held back again for a cycle
    // while the cars it takes capacity from slow down (seen once in a full run: the API at a raise,
    // the card at 6.0 A for 10 s as the EMS was back at 6.0 A).
    await waitFor(
      async () => {
        const now = (await connectorsNow()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!;
        const shown = (await card.getByTestId('cap').textContent())?.trim();
        return now.capA! > capBefore && shown === `${now.capA!.toFixed(1)} A` && shown;
      },
      'the card showing the raised cap the EMS holds',
      30_000,
    );
    await shoot(page, 'steer-after');

    const audit = await api<{ action: string; actor: string; target?: string }[]>('/api/v1/audit', { token: adminToken });
    expect(audit.body.some((e) => e.action === 'session.update' && e.actor === 'operator' && e.target?.startsWith(key))).toBe(true);
    // ...and the Events page tells who changed what.
    await page.getByRole('link', { name: 'Events' }).click();
    const event = page.locator('.event').filter({ hasText: `operator steered session ${key}` }).first();
    await event.waitFor({ timeout: 10_000 });
    expect(await event.textContent()).toContain('energyNeedWh: — → 150000');
    await page.context().close();
    // Its waits (30 + 10 + 20 + 20 + 20 + 30 + 10 s, each failing with what it waited for) bound it;
    // the test timeout only catches what they do not.
  }, 180_000);

  it('lets an operator pause a session and resume it from its card', async () => {
    const page = await openAs('operator');
    const target = (await connectorsNow()).find((c) => c.session && !c.session.paused && (c.capA ?? 0) > 0)!;
    const key = `${target.chargerId}/${target.connectorId}`;
    const card = page.locator(`[data-connector="${key}"]`);
    await card.getByRole('button', { name: 'Pause' }).click();
    await card.locator('.badge').filter({ hasText: 'Paused by operator' }).waitFor({ timeout: 10_000 });
    await card.getByTestId('cap').filter({ hasText: /^0\.0 A$/ }).waitFor({ timeout: 15_000 });
    const paused = (await connectorsNow()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!;
    expect(paused.session!.paused).toBe(true);
    expect(paused.capA).toBe(0);
    await shoot(page, 'paused');
    await card.getByRole('button', { name: 'Resume' }).click();
    await card.getByRole('button', { name: 'Pause' }).waitFor({ timeout: 10_000 });
    expect((await connectorsNow()).find((c) => `${c.chargerId}/${c.connectorId}` === key)!.session!.paused).toBe(false);
    await page.context().close();
  }, 150_000);

  it('shows a viewer no steering controls, and the API refuses their write', async () => {
    const page = await openAs('viewer');
    expect(await page.getByLabel('Departure').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Save|Pause|Resume)$/ }).count()).toBe(0);
    expect(await page.getByText('View only').count()).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    const withSession = (await connectorsNow()).find((c) => c.session)!;
    const status = await page.evaluate(async ({ chargerId, connectorId }) => {
      const csrf = /(?:^|; )ems_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
      const response = await fetch(`/api/v1/connectors/${chargerId}/${connectorId}/session`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
        body: JSON.stringify({ paused: true }),
      });
      return response.status;
    }, withSession);
    expect(status).toBe(403);
    expect((await connectorsNow()).find((c) => c.chargerId === withSession.chargerId && c.connectorId === withSession.connectorId)!.session?.paused).toBe(false);
    await shoot(page, 'viewer');
    await page.context().close();
  }, 150_000);

  it('logs out with the button, and brings the login back with a note when a session ends elsewhere', async () => {
    const page = await openAs('viewer');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.locator('[data-connector]').count()).toBe(0);

    await page.getByLabel('Username').fill('viewer');
    await page.getByLabel('Password').fill(USERS.viewer.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-connector]').first().waitFor({ timeout: 20_000 });
    // The session ends on the server (as when it expires); the next request finds out.
    const status = await page.evaluate(async () => {
      const csrf = decodeURIComponent(/(?:^|; )ems_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '');
      return (await fetch('/api/v1/auth/logout', { method: 'POST', headers: { 'x-csrf-token': csrf } })).status;
    });
    expect(status).toBeLessThan(300);
    await page.getByRole('link', { name: 'History' }).click();
    await page.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.context().close();
  }, 150_000);

  it("shows today's energy, cost, peak and price from the API on the overview, and each session's cost", async () => {
    type Kpis = { currency: string; today: { evEnergyWh: number; energyCost: number; peakW: number; sessions: number }; month: { peakW: number }; prices: { importPerKWh: number } };
    const kpisNow = async () => {
      const res = await api<Kpis>('/api/v1/kpis', { token: adminToken });
      expect(res.status).toBe(200);
      return res.body;
    };
    // The figures grow while the demo charges: what the page shows lies between the API's answers before and after.
    const before = await kpisNow();
    const page = await openAs('viewer', { width: 390, height: 844 });
    const strip = page.getByTestId('today');
    await strip.getByTestId('today-price').filter({ hasText: /\d/ }).waitFor({ timeout: 15_000 });
    const shown = {
      energy: (await strip.getByTestId('today-energy').textContent()) ?? '',
      cost: (await strip.getByTestId('today-cost').textContent()) ?? '',
      price: (await strip.getByTestId('today-price').textContent()) ?? '',
      peak: (await strip.getByTestId('today-peak').textContent()) ?? '',
    };
    const after = await kpisNow();
    expect(shown.price).toBe(formatMoney(after.prices.importPerKWh, after.currency, 3));
    const symbol = formatMoney(0, after.currency).replace(/[\d.,\s]/g, '');
    expect(shown.cost).toContain(symbol);
    const costShown = Number(shown.cost.replace(/[^\d.]/g, ''));
    expect(costShown).toBeGreaterThanOrEqual(Math.floor(before.today.energyCost * 100) / 100 - 0.005);
    expect(costShown).toBeLessThanOrEqual(Math.ceil(after.today.energyCost * 100) / 100 + 0.005);
    const energy = /^(\d+(?:\.\d)?) (k?Wh)$/.exec(shown.energy);
    expect(energy, shown.energy).not.toBeNull();
    const energyWh = Number(energy![1]) * (energy![2] === 'kWh' ? 1000 : 1);
    // Metered energy into cars only grows, so what the page shows lies between the two answers.
    expect(energyWh).toBeGreaterThanOrEqual(before.today.evEnergyWh - 50);
    expect(energyWh).toBeLessThanOrEqual(after.today.evEnergyWh + 50);
    expect(shown.peak).toMatch(/\d/);
    expect(await strip.textContent()).toMatch(/month \d|also the month's peak/);
    expect(await strip.getByTestId('today-more').textContent()).toMatch(/^Solar share \d+ % · connectors in use \d+ % · /);
    // Readable on a phone: the strip fits the screen.
    const fits = await page.evaluate(() => {
      const box = document.querySelector('[data-testid="today"]')!.getBoundingClientRect();
      return box.right <= document.documentElement.clientWidth + 0.5 && document.documentElement.scrollWidth <= document.documentElement.clientWidth;
    });
    expect(fits).toBe(true);
    await shoot(page, 'today-phone');

    // Sessions in progress carry their cost so far (the demo's cars charge from the start).
    await page.goto(`${baseUrl}/#/sessions`);
    await page.locator('table.stack td[data-label="Cost"]').first().waitFor({ timeout: 15_000 });
    await page.waitForFunction((sym) => Array.from(document.querySelectorAll('td[data-label="Cost"]')).some((td) => td.textContent?.includes(sym) && /[1-9]/.test(td.textContent)), symbol, { timeout: 30_000, polling: 500 });
    await shoot(page, 'sessions-cost-phone');
    await page.context().close();
  }, 180_000);

  it('fits a 390 px phone screen on every page without horizontal scrolling', async () => {
    const page = await openAs('admin', { width: 390, height: 844 });
    // Each page with what shows it has loaded its data.
    const pages: [string, string][] = [
      ['', '[data-circuit="row-a"]'],
      ['history', '.history .uplot'],
      ['sessions', '.sessions table.stack'],
      ['events', '.events-page .event'],
      ['settings', '.settings .gutter div'],
    ];
    for (const [route, loaded] of pages) {
      await page.goto(`${baseUrl}/#/${route}`);
      await page.locator(loaded).first().waitFor({ timeout: 15_000 });
      const layout = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        // Past the right edge and not clipped by an ancestor that itself fits (a scroll box,
        // the visually hidden table head).
        const clipped = (e: Element) => {
          for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible' && a.getBoundingClientRect().right <= width + 0.5) return true;
          }
          return false;
        };
        const sticking = Array.from(document.querySelectorAll('body *'))
          .filter((e) => getComputedStyle(e).position !== 'fixed' && e.getBoundingClientRect().width > 1 && e.getBoundingClientRect().right > width + 0.5 && !clipped(e))
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
        const unlabelled = Array.from(document.querySelectorAll('input, textarea, select, button'))
          .filter((e) => {
            const control = e as HTMLInputElement;
            const named = (control.labels?.length ?? 0) > 0 || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent?.trim());
            return !named;
          })
          .map((e) => `${e.tagName.toLowerCase()}#${e.id}`);
        return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, sticking: sticking.slice(0, 5), unlabelled };
      });
      expect(layout.sticking, `#/${route}: elements past the right edge`).toEqual([]);
      expect(layout.unlabelled, `#/${route}: form controls without a label`).toEqual([]);
      expect(layout.scrollWidth, `#/${route}`).toBeLessThanOrEqual(layout.clientWidth);
      await shoot(page, `phone-${route || 'overview'}`);
    }
    await page.context().close();
  }, 180_000);

  it('draws the history chart and lists sessions and events', async () => {
    const page = await openAs('admin');
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('.chart .uplot canvas').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: '1 h' }).click();
    // The demo has been recording for a while by now: the chart has points.
    await page.getByText(/\d+ points at \w+ resolution/).waitFor({ timeout: 15_000 });
    await shoot(page, 'history-desktop');
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { name: 'Plugged in now' }).waitFor();
    expect(await page.locator('table.stack tbody tr').count()).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('.event').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('.event').filter({ hasText: /connected \(ocpp/ }).count()).toBeGreaterThan(0);
    // Logins are routine: under Actions, not in All.
    expect(await page.locator('.event').filter({ hasText: 'admin logged in' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Actions' }).click();
    await page.locator('.event').filter({ hasText: 'admin logged in' }).first().waitFor();
    await shoot(page, 'events-desktop');
    await page.context().close();
  }, 150_000);

  it('marks a config problem at its line in the settings editor', async () => {
    const page = await openAs('admin');
    await page.getByRole('link', { name: 'Settings' }).click();
    const editor = page.getByLabel('Site config (YAML)');
    await page.getByText('No unsaved changes.').waitFor({ timeout: 15_000 });
    const yaml = await editor.inputValue();
    const lines = yaml.split('\n');
    const line = lines.findIndex((l) => /^\s+maxCurrent:\s*80\b/.test(l)) + 1;
    expect(line).toBeGreaterThan(0);
    lines[line - 1] = lines[line - 1].replace(/maxCurrent:\s*80/, 'maxCurrent: -5');
    await editor.fill(lines.join('\n'));
    await page.getByRole('button', { name: 'Check' }).click();
    const problem = page.locator('.issues li').first();
    await problem.waitFor();
    expect(await problem.textContent()).toContain(`Line ${line}`);
    expect(await problem.textContent()).toContain('grid.maxCurrent');
    expect(await page.locator('.gutter .bad').first().textContent()).toBe(`⚠${line}`);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    await page.getByRole('button', { name: 'Save and apply' }).click();
    await page.getByText('Fix the marked problems first.').waitFor();
    await shoot(page, 'settings-error');
    // Nothing was saved: the running config still has the old limit.
    const config = await api<{ config: { grid: { maxCurrent: number } } }>('/api/v1/config', { token: adminToken });
    expect(config.body.config.grid.maxCurrent).toBe(80);

    // A valid change to a section that applies at once: saved, applied, and in the audit.
    const fixed = yaml.replace(/^(\s+deadbandA:\s*)0\.5\b/m, '$10.6');
    expect(fixed).not.toBe(yaml);
    await editor.fill(fixed);
    await page.getByRole('button', { name: 'Save and apply' }).click();
    // The demo runs without a config file: the page says the edit was accepted but not written.
    await page.getByRole('status').filter({ hasText: /^Accepted by the EMS, but / }).waitFor({ timeout: 10_000 });
    expect(await page.getByText('ℹ This EMS runs without a config file').isVisible()).toBe(true);
    expect(await page.locator('.issues li').count()).toBe(0);
    await shoot(page, 'settings-saved');
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('.event').filter({ hasText: 'admin changed the site config' }).first().waitFor({ timeout: 10_000 });
    await page.context().close();
  }, 150_000);
  it('shows a grid event on the overview and lets an operator opt the site out of it', async () => {
    const nowMs = Date.now();
    demo.app.signals.submit('utility', [
      { id: 'peak-1/0', source: 'utility', kind: 'import-limit', startMs: nowMs - 60_000, endMs: nowMs + 3_600_000, value: 40_000, eventId: 'peak-1', text: 'Peak event' },
    ]);
    const page = await openAs('operator');
    await page.locator('.banner').filter({ hasText: 'Grid signal from utility' }).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Events' }).click();
    const event = page.locator('[data-event="peak-1"]');
    await event.filter({ hasText: 'Peak event 40.0 kW' }).waitFor({ timeout: 10_000 });
    await shoot(page, 'grid-event');
    await event.getByRole('button', { name: 'Opt out' }).click();
    await page.getByText('Opted out of peak-1').waitFor({ timeout: 10_000 });
    await event.getByRole('button', { name: 'Opt back in' }).waitFor();
    const signals = await api<{ eventId?: string; opt: string }[]>('/api/v1/signals', { token: adminToken });
    expect(signals.body.find((s) => s.eventId === 'peak-1')?.opt).toBe('out');
    // A viewer sees the event but cannot opt out.
    const viewer = await openAs('viewer');
    await viewer.getByRole('link', { name: 'Events' }).click();
    await viewer.locator('[data-event="peak-1"]').waitFor({ timeout: 10_000 });
    expect(await viewer.locator('[data-event="peak-1"] button').count()).toBe(0);
    await viewer.context().close();
    await page.context().close();
  }, 150_000);
});
