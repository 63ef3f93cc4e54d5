// KPIs, bills and the plan through the API, with the real tariff service fed on the real bus.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { PlanSource } from '../../src/api/economics-source.ts';
import { billViewSchema, kpisViewSchema, planViewSchema } from '../../src/api/economics-views.ts';
import { connectorViewSchema, stateViewSchema } from '../../src/api/view-schemas.ts';
import { createTariffService, type TariffService } from '../../src/tariffs/index.ts';
import { ADMIN_PASSWORD, T0, createApiFixture, startSession, testConfig, type ApiFixture } from './api-fixture.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-api-economics-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// T0 is Tuesday 11:00 in Berlin: the weekday day rate applies.
const DAY_PRICE = 0.4;
const NIGHT_PRICE = 0.2;
const DEMAND_PER_KW = 10;
const MIN = 60_000;

function economicsConfig() {
  return testConfig({
    tariffs: {
      currency: 'EUR',
      import: { default: NIGHT_PRICE, periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '22:00', price: DAY_PRICE }] },
      export: { default: 0.08, periods: [] },
      demandCharge: { pricePerKW: DEMAND_PER_KW },
    },
  });
}

let api: ApiFixture;
let tariffs: TariffService;
let token: string;
let n = 0;
const get = async (url: string) => {
  const res = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

async function fixture(plan?: PlanSource) {
  const dir = join(scratch, `case-${++n}`);
  api = await createApiFixture({
    config: economicsConfig(),
    depsFor: async (ctx, store) => {
      tariffs = createTariffService(ctx, { peakSource: store.peaks, billsFilePath: join(dir, 'bills.jsonl') });
      await tariffs.start();
      return { economics: tariffs, ...(plan ? { plan } : {}) };
    },
  });
  token = await api.userToken('viewer');
}

afterEach(async () => {
  await tariffs?.stop();
  await api?.close();
});

describe('without a login', () => {
  beforeEach(() => fixture());
  it.each(['/api/v1/kpis', '/api/v1/bills', '/api/v1/plan'])('%s answers 401', async (url) => {
    const res = await api.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('AUTH_REQUIRED');
  });
});

describe('GET /api/v1/kpis', () => {
  beforeEach(() => fixture());

  it('is documented in the OpenAPI document with its response shape', async () => {
    const doc = (await api.inject({ method: 'GET', url: '/api/docs/json' })).json();
    for (const path of ['/api/v1/kpis', '/api/v1/bills', '/api/v1/plan']) {
      expect(doc.paths[path]?.get?.tags, path).toEqual(['costs']);
      expect(JSON.stringify(doc.paths[path].get.responses['200']), path).toContain('properties');
    }
    expect(JSON.stringify(doc.paths['/api/v1/kpis'].get.responses['200'])).toContain('demandCharge');
  });

  it("prices today's grid import at the tariff and bills the month's peak", async () => {
    const { bus } = api.ctx;
    // A reading a minute: 20 kW import for 15 min, then 8 kW for 15 min: 5 kWh + 2 kWh at the day rate.
    for (let i = 0; i <= 30; i++) {
      const powerW = i < 15 ? 20_000 : 8_000;
      bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0 + i * MIN, powerW, currentA: [powerW / 690, powerW / 690, powerW / 690] });
    }
    api.clock.set(T0 + 30 * MIN);

    const kpis = kpisViewSchema.parse(await get('/api/v1/kpis'));
    expect(kpis.currency).toBe('EUR');
    expect(kpis.since).toBe('2026-11-23T23:00:00.000Z'); // local midnight, Berlin
    expect(kpis.today.gridImportWh).toBeCloseTo(7_000, 1);
    expect(kpis.today.energyCost).toBeCloseTo(7 * DAY_PRICE, 4);
    expect(kpis.today.peakW).toBe(20_000);
    expect(kpis.month.peakW).toBe(20_000);
    expect(kpis.month.demandCharge).toBeCloseTo(20 * DEMAND_PER_KW, 4);
    expect(kpis.month.demandChargePerKW).toBe(DEMAND_PER_KW);
    expect(kpis.prices).toEqual({ importPerKWh: DAY_PRICE, exportPerKWh: 0.08, carbonGPerKWh: 0 });
  });

  it('shows the night price after 22:00 local time', async () => {
    api.clock.set(Date.parse('2026-11-24T21:30:00Z')); // 22:30 Berlin
    const kpis = kpisViewSchema.parse(await get('/api/v1/kpis'));
    expect(kpis.prices.importPerKWh).toBe(NIGHT_PRICE);
    expect(kpis.today.energyCost).toBe(0);
  });
});

describe('session cost', () => {
  beforeEach(() => fixture());

  it('bills each metered Wh at the import price and shows the running cost on the connector', async () => {
    const { bus } = api.ctx;
    startSession(api.ctx, 'CP001', 1, 41); // meter starts at 1000 Wh
    bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, powerW: 11_000, energyWh: 6_000 });

    const [running] = z.array(billViewSchema).parse(await get('/api/v1/bills'));
    expect(running).toMatchObject({ chargerId: 'CP001', connectorId: 1, transactionId: 41, idTag: 'TAG-1', endedAt: null, energyWh: 5_000, currency: 'EUR' });
    expect(running!.cost).toBeCloseTo(5 * DAY_PRICE, 4);
    expect(running!.costPerKWh).toBeCloseTo(DAY_PRICE, 4);

    const connector = connectorViewSchema.parse(await get('/api/v1/connectors/CP001/1'));
    expect(connector.session?.cost).toBeCloseTo(5 * DAY_PRICE, 4);
    expect(connector.session?.currency).toBe('EUR');
    const state = stateViewSchema.parse(await get('/api/v1/state'));
    expect(state.connectors.find((c) => c.chargerId === 'CP001' && c.connectorId === 1)?.session?.cost).toBeCloseTo(2, 4);
    const sessions = await get('/api/v1/sessions');
    expect(sessions.active[0]).toMatchObject({ transactionId: 41, currency: 'EUR' });
    expect(sessions.active[0].cost).toBeCloseTo(2, 4);
  });

  it('keeps the ended bill, newest first, and shows its cost on the recorded transaction', async () => {
    const { bus } = api.ctx;
    const first = api.store.transactions.start({ chargerId: 'CP001', connectorId: 1, idTag: 'TAG-1', startedAtMs: T0 - 10 * MIN, meterStartWh: 1_000 });
    startSession(api.ctx, 'CP001', 1, first);
    bus.emit('connector.meter', { chargerId: 'CP001', connectorId: 1, atMs: T0, energyWh: 4_000 });
    bus.emit('session.ended', { chargerId: 'CP001', connectorId: 1, transactionId: first, endedAtMs: T0 + MIN, meterStopWh: 8_000 });
    api.store.transactions.stop(first, { stoppedAtMs: T0 + MIN, meterStopWh: 8_000 });
    bus.emit('session.started', { chargerId: 'CP002', connectorId: 1, transactionId: first + 1, idTag: 'TAG-2', tier: 'staff', startedAtMs: T0 + 2 * MIN, meterStartWh: 0 });

    const bills = z.array(billViewSchema).parse(await get('/api/v1/bills?limit=5'));
    expect(bills.map((b) => b.transactionId)).toEqual([first + 1, first]);
    expect(bills[0]).toMatchObject({ endedAt: null, energyWh: 0, cost: 0, costPerKWh: null });
    expect(bills[1]).toMatchObject({ endedAt: new Date(T0 + MIN).toISOString(), energyWh: 7_000 });
    expect(bills[1]!.cost).toBeCloseTo(7 * DAY_PRICE, 4);
    expect((await get('/api/v1/bills?limit=1')).length).toBe(1);

    const { recent } = await get('/api/v1/sessions');
    const tx = recent.find((t: { transactionId: number }) => t.transactionId === first);
    expect(tx).toMatchObject({ energyWh: 7_000, currency: 'EUR' });
    expect(tx.cost).toBeCloseTo(7 * DAY_PRICE, 4);
  });

  it('rejects a bad limit with the field named', async () => {
    const res = await api.inject({ method: 'GET', url: '/api/v1/bills?limit=0', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].path).toBe('limit');
  });
});

describe('GET /api/v1/plan', () => {
  const SLOT = 15 * MIN;
  const plan: Plan = {
    startMs: T0 - SLOT, // the plan began one slot ago: the answer starts at the current slot
    slotMs: SLOT,
    slotCount: 4,
    status: 'optimal',
    sessions: [{ key: 'CP001/1', steer: true, powerW: [11_000, 7_400.4, 0, 3_000], plannedWh: 5_350, unmetWh: 0 }],
    gridW: [30_000, 26_000, 19_000, 22_000],
    batteryW: [],
    peakW: 30_000,
    energyCost: 4.12345,
    demandCharge: 300,
    unmetPenalty: 0,
    objective: 304.12,
    overloadWh: 0,
  };
  let status = { enabled: true, solver: 'highs', plans: 3, failures: 1, lastPlanAtMs: T0 - SLOT, lastSolveMs: 41.7 };
  let current: Plan | undefined = plan;
  const planner: PlanSource = {
    currentPlan: () => current,
    status: () => status,
    currentInputs: () => ({ importPricePerKWh: [0.2, 0.4, 0.4, 0.3], pvW: [0, 1_500.4, 3_000, 0], importLimitW: [40_000, 40_000, 25_000, 40_000] }),
  };

  it('answers enabled:false without a planner', async () => {
    await fixture();
    expect(await get('/api/v1/plan')).toEqual({ enabled: false });
  });

  it('answers enabled:false when the planner is switched off', async () => {
    status = { ...status, enabled: false };
    await fixture(planner);
    expect(await get('/api/v1/plan')).toEqual({ enabled: false });
    status = { ...status, enabled: true };
  });

  it('shows per-session power from the current slot on, limited to ?slots', async () => {
    await fixture(planner);
    const view = planViewSchema.parse(await get('/api/v1/plan?slots=2'));
    expect(view).toMatchObject({ enabled: true, solver: 'highs', plans: 3, failures: 1, lastPlanAt: new Date(T0 - SLOT).toISOString(), lastSolveMs: 42, lastError: null });
    expect(view.plan).toMatchObject({ start: new Date(T0).toISOString(), slotMs: SLOT, status: 'optimal', peakW: 30_000, energyCost: 4.1235, demandCharge: 300 });
    expect(view.plan!.slots).toEqual([
      { start: new Date(T0).toISOString(), gridW: 26_000, batteryW: null, importPricePerKWh: 0.4, pvW: 1_500, limitW: 40_000 },
      { start: new Date(T0 + SLOT).toISOString(), gridW: 19_000, batteryW: null, importPricePerKWh: 0.4, pvW: 3_000, limitW: 25_000 },
    ]);
    // No car on the connector in this fixture: no name or departure, readiness unknown. plannedWh counts
    // from the current slot on, as the chart shows it: 5,350 Wh less the past slot's 2,750 Wh.
    expect(view.plan!.sessions).toEqual([
      { chargerId: 'CP001', connectorId: 1, steer: true, idTag: null, name: null, departure: null, energyNeedWh: null, plannedWh: 2_600, unmetWh: 0, readyByDeparture: null, powerW: [7_400, 0] },
    ]);
    // With a car that must leave: ready by departure when the plan meets its need.
    startSession(api.ctx, 'CP001', 1, 9);
    api.ctx.bus.emit('session.update', { chargerId: 'CP001', connectorId: 1, departureAtMs: T0 + 2 * SLOT, energyNeedWh: 5_000 });
    const withCar = planViewSchema.parse(await get('/api/v1/plan?slots=2'));
    expect(withCar.plan!.sessions[0]).toMatchObject({ idTag: 'TAG-1', departure: new Date(T0 + 2 * SLOT).toISOString(), energyNeedWh: 5_000, readyByDeparture: true });
  });

  it('answers plan:null while no plan is in force', async () => {
    current = undefined;
    await fixture(planner);
    expect(planViewSchema.parse(await get('/api/v1/plan')).plan).toBeNull();
    current = plan;
  });
});

describe('without the tariff service', () => {
  it('answers 404 with a reason, and connector views carry no cost', async () => {
    api = await createApiFixture();
    const admin = (await api.login('admin', ADMIN_PASSWORD)).token;
    const res = await api.inject({ method: 'GET', url: '/api/v1/kpis', headers: { authorization: `Bearer ${admin}` } });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toMatch(/tariff service/);
    startSession(api.ctx, 'CP001', 1, 7);
    const view = await api.inject({ method: 'GET', url: '/api/v1/connectors/CP001/1', headers: { authorization: `Bearer ${admin}` } });
    expect(view.json().session).toMatchObject({ transactionId: 7, cost: null, currency: null });
  });
});
