// The whole EMS (startApp) with a strict OCPP charger on loopback: a charged session shows up in
// the API with its cost at the tariff, the KPIs show the price, and the planner's status is live.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { startApp, type App } from '../../src/app.ts';
import { billViewSchema, kpisViewSchema, planViewSchema } from '../../src/api/economics-views.ts';
import { silentLogger } from '../../src/log.ts';
import { TestCharger } from '../helpers/test-charger.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PRICE = 0.25;
const scratch = mkdtempSync(join(tmpdir(), 'ems-app-economics-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let app: App | undefined;
let charger: TestCharger | undefined;
afterEach(async () => {
  await charger?.close().catch(() => undefined);
  await app?.stop();
  vi.unstubAllEnvs();
});

it('serves KPIs, the session bill and the planner status from the running EMS', async () => {
  const config = configSchema.parse({
    site: { name: 'Cost site', voltage: 230, timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 63 },
    chargers: [{ id: 'CP1', connectors: 1, maxCurrent: 32, phases: 3 }],
    idTags: [{ idTag: 'RES-7', tier: 'staff' }],
    tariffs: { currency: 'EUR', import: { default: PRICE, periods: [] }, demandCharge: { pricePerKW: 12 } },
    planner: { solver: 'jslp', timeLimitMs: 20_000 },
    ocpp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { path: join(scratch, 'ems.sqlite') },
  });
  // An admin from the environment: no first-run setup token printed into the test output.
  vi.stubEnv('EMS_ADMIN_PASSWORD', 'admin-password-1');
  app = await startApp({ config, log: silentLogger });
  const base = `http://127.0.0.1:${app.httpPort}`;
  app.store.users.create({ username: 'resident-manager', passwordHash: await app.http.auth.hashPassword('password-123'), role: 'viewer' });
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'resident-manager', password: 'password-123' }) });
  expect(login.status).toBe(200);
  const { token } = (await login.json()) as { token: string };
  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status, path).toBe(200);
    return res.json();
  };
  expect((await fetch(`${base}/api/v1/kpis`)).status).toBe(401);

  charger = new TestCharger('CP1', `ws://127.0.0.1:${app.ocppPort}/ocpp`);
  await charger.connect();
  const transactionId = await charger.startTransaction(1, 'RES-7'); // meter 1000 Wh
  await charger.stopTransaction(1); // meter 5000 Wh: 4 kWh

  const bill = billViewSchema.parse(
    await waitFor(async () => (await get('/api/v1/bills')).find((b: { transactionId: number; endedAt: string | null }) => b.transactionId === transactionId && b.endedAt), 'the ended bill'),
  );
  expect(bill).toMatchObject({ chargerId: 'CP1', connectorId: 1, idTag: 'RES-7', energyWh: 4_000, currency: 'EUR' });
  expect(bill.cost).toBeCloseTo(4 * PRICE, 4);
  const { recent } = await get('/api/v1/sessions');
  expect(recent.find((t: { transactionId: number }) => t.transactionId === transactionId)).toMatchObject({ energyWh: 4_000, cost: 4 * PRICE, currency: 'EUR' });

  const kpis = kpisViewSchema.parse(await get('/api/v1/kpis'));
  expect(kpis.prices.importPerKWh).toBe(PRICE);
  expect(kpis.month.demandChargePerKW).toBe(12);
  expect(kpis.today.sessions).toBe(1);
  expect(kpis.today.energyDeliveredWh).toBe(4_000);

  const plan = planViewSchema.parse(await get('/api/v1/plan'));
  expect(plan).toMatchObject({ enabled: true, solver: 'jslp' });
});
