// A car the plan holds at 0 A until cheaper hours says so on its card and in the sessions table:
// "Waiting for cheaper hours from 20:00; ready by 21:15 (planner target …)". Real headless Chromium
// against the demo EMS on loopback (real planner, OCPP chargers and cars), its clock at 18:00 in
// Berlin with import at €0.40/kWh until 20:00 and €0.10 from 20:00 to 23:00; one car is told to
// leave at 23:30 with 10 kWh more. The terminal demo's status says the same for it.
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { plannerSchema, tariffsSchema } from '../../config/schema.ts';
import { ScaledClock } from '../../src/demo/scaled-clock.ts';
import { type DemoSite } from '../../src/demo/demo-site.ts';
import { formatStatus } from '../../src/demo/status-text.ts';
import { describeWithPeer, hasCommand } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { CHROMIUM, DASHBOARD_ARTIFACTS as ARTIFACTS, logInOnPage, startDemoForBrowser, type DemoForBrowser, PLAN_TIME_LIMIT_MS } from '../helpers/browser.ts';

const PASSWORD = 'plan-wait-pass-1';
const ZONE = 'Europe/Berlin';
const hourMinute = (atMs: number) => new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(atMs);

/** The next instant, at least a day from now, that is 18:00 in Berlin. */
function next1800Berlin(): number {
  for (let at = Date.now() + 86_400_000; ; at += 60_000) if (hourMinute(at) === '18:00') return at - (at % 60_000);
}

interface Connector {
  chargerId: string;
  connectorId: number;
  capA: number | null;
  reason: string | null;
  reasonKind: string | null;
  session: { energyWh: number } | null;
  plan?: { chargesFrom: string | null; readyBy: string | null; because: string | null } | null;
}

describeWithPeer('chromium', hasCommand(CHROMIUM), 'a car waiting for cheaper hours in a real browser', () => {
  let site: DemoForBrowser;
  let demo: DemoSite;
  let browser: Browser;
  let baseUrl: string;
  let token: string;
  let startMs: number;

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(baseUrl + path, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  beforeAll(async () => {
    startMs = next1800Berlin();
    site = await startDemoForBrowser({
      name: 'plan-wait',
      adminPassword: PASSWORD,
      config: () => ({
        planner: plannerSchema.parse({ enabled: true, solver: 'jslp', horizonH: 8, slotMin: 15, timeLimitMs: PLAN_TIME_LIMIT_MS }),
        tariffs: tariffsSchema.parse({ currency: 'EUR', import: { default: 0.4, periods: [{ from: '20:00', to: '23:00', price: 0.1 }] } }),
      }),
      clock: () => new ScaledClock(1, startMs),
      seed: 11,
    });
    ({ demo, browser, baseUrl, adminToken: token } = site);
    await waitFor(async () => (await api<{ connectors: Connector[] }>('/api/v1/state')).connectors.some((c) => c.session), 'a car plugged in', 30_000);
  }, 180_000);

  afterAll(() => site?.stop());

  it('says on the card and in the sessions table that the car waits for cheaper hours, from when, and when it is ready', async () => {
    const car = (await api<{ connectors: Connector[] }>('/api/v1/state')).connectors.find((c) => c.session)!;
    const key = `${car.chargerId}/${car.connectorId}`;
    const departureMs = startMs + 5.5 * 3_600_000;
    await api(`/api/v1/connectors/${encodeURIComponent(car.chargerId)}/${car.connectorId}/session`, {
      method: 'PATCH',
      body: JSON.stringify({ departure: new Date(departureMs).toISOString(), energyNeedWh: Math.round(car.session!.energyWh) + 10_000 }),
    });
    // The plan holds it at 0 A now and charges it from 20:00 (the state view says so, with why).
    const held = await waitFor(
      async () => {
        const c = (await api<{ connectors: Connector[] }>('/api/v1/state')).connectors.find((x) => `${x.chargerId}/${x.connectorId}` === key)!;
        const from = c.plan?.chargesFrom ? Date.parse(c.plan.chargesFrom) : null;
        if (c.capA !== 0 || c.reasonKind !== 'plan' || from === null || from < startMs + 3_600_000)
          throw new Error(`not held for the plan yet: cap ${c.capA}, ${c.reason}, plan ${JSON.stringify(c.plan)}`);
        return c;
      },
      'the car held for cheaper hours',
      60_000,
    );
    const planDebug = await api<{ plan: { slots: { start: string; importPricePerKWh: number | null }[] } }>('/api/v1/plan?slots=12');
    expect(held.plan, JSON.stringify({ held, from: hourMinute(Date.parse(held.plan!.chargesFrom!)), slots: planDebug.plan.slots.map((s) => [hourMinute(Date.parse(s.start)), s.importPricePerKWh]) })).toMatchObject({ because: 'cheaper' });
    expect(hourMinute(Date.parse(held.plan!.chargesFrom!))).toBe('20:00');
    const readyBy = hourMinute(Date.parse(held.plan!.readyBy!));
    expect(readyBy >= '20:15' && readyBy <= '23:00', readyBy).toBe(true);

    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: 'Asia/Tokyo' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await logInOnPage(page, baseUrl, 'admin', PASSWORD);
    const card = page.locator(`[data-connector="${key}"]`);
    const expected = new RegExp(`^Why: Waiting for cheaper hours from 20:00; ready by ([01]\\d|2[0-3]):[0-5]\\d \\(planner target`);
    await expect.poll(() => card.getByTestId('reason').textContent(), { timeout: 20_000 }).toMatch(expected);
    await card.screenshot({ path: join(ARTIFACTS, 'plan-wait-card.png') });
    // The terminal demo's status line for that car says the same as its card.
    const sameInTerminal = async () => {
      const shown = ((await card.getByTestId('reason').textContent()) ?? '').replace(/^Why: /, '');
      const atMs = demo.app.ctx.clock.nowMs();
      const line = formatStatus(demo.app.http.stateView(atMs), atMs, demo.lastReading(), ZONE).split('\n').find((l) => l.startsWith(key)) ?? '';
      return line.endsWith(` ${shown}`) ? 'same' : `card "${shown}", terminal "${line}"`;
    };
    await expect.poll(sameInTerminal, { timeout: 20_000 }).toBe('same');
    await page.getByRole('link', { name: 'Sessions' }).click();
    const row = page.locator('tr', { hasText: car.chargerId }).filter({ hasText: 'Waiting for cheaper hours' });
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(errors, 'uncaught errors in the page').toEqual([]);
    await context.close();
  }, 240_000);
});
