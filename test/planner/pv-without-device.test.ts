// A live site with a PV forecast (planner.pvForecastW) but no PV device (issue #11): its grid meter
// already shows the building net of PV, and so does the profile the planner learns from it. The
// planner must take PV off once, not again from the reading: else it plans the cars into room the
// fuse does not have.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { Bus } from '../../src/bus.ts';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createPlannerService, type PlannerService } from '../../src/planner/planner-service.ts';
import { SiteState } from '../../src/state/site-state.ts';
import { LocalTimeZone } from '../../src/tariffs/local-time.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ems-pv-net-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-24T11:00:00Z'); // 12:00 in Berlin
const V = 230;
const FUSE_A = 32;
/** What the fuse lets through after the 5 % margin, W. */
const FUSE_W = FUSE_A * 0.95 * 3 * V;
const BUILDING_W = 15_000;
const PV_W = 12_000;
/** What the grid meter shows with the cars off: the building net of PV. */
const NET_W = BUILDING_W - PV_W;
let forecastFiles = 0;

function site(baseLoadW: number[] | undefined) {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin', voltage: V },
    storage: { path: join(scratch, 'ems.sqlite') },
    grid: { maxCurrent: FUSE_A, safetyMargin: 0.05, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    chargers: ['CP1', 'CP2'].map((id) => ({ id, maxCurrent: 32, phases: 3 })),
    tariffs: { import: { default: 0.25 } },
    planner: { timeLimitMs: 20_000, pvForecastW: Array(24).fill(PV_W), ...(baseLoadW ? { baseLoadW } : {}) },
  });
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  const tariff = new Tariff(config.tariffs, config.site.timezone);
  const service = createPlannerService(
    { config, bus, log: silentLogger, clock, state },
    { tariff, zone: new LocalTimeZone('Europe/Berlin'), peakSoFarW: () => 0 },
    { forecastFilePath: join(scratch, `forecast-${forecastFiles++}.json`) },
  );
  return { bus, clock, service };
}

let running: PlannerService | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Two cars that want far more than the fuse gives in their two hours; the grid meter reads the net building. */
async function firstSlotEvW(baseLoadW: number[] | undefined): Promise<number> {
  const s = site(baseLoadW);
  running = s.service;
  await s.service.start();
  // A day of readings before: the learnt building profile is what the meter showed, net of PV.
  for (let q = 0; q < 96; q++) s.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0 - 86_400_000 + q * 900_000, powerW: NET_W });
  for (const [i, chargerId] of ['CP1', 'CP2'].entries()) {
    s.bus.emit('session.started', { chargerId, connectorId: 1, transactionId: i + 1, idTag: 'T', tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 60_000, departureAtMs: T0 + 2 * 3_600_000 });
  }
  s.bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0, powerW: NET_W });
  const plan = await s.service.replanNow('test');
  expect(plan?.status).toBe('optimal');
  return plan!.sessions.reduce((sum, p) => sum + p.powerW[0]!, 0);
}

describe('a site with a PV forecast and no PV device', () => {
  it('plans the cars within the fuse less the building net of PV the meter shows (learnt building profile)', async () => {
    // On the old input: the reading (already net of PV) less the PV forecast again: 20.98 kW for the cars.
    expect(await firstSlotEvW(undefined)).toBeLessThanOrEqual(FUSE_W - NET_W + 1);
  }, 60_000);

  it('plans the cars within the fuse less the building net of PV the meter shows (configured building curve)', async () => {
    expect(await firstSlotEvW(Array(24).fill(BUILDING_W))).toBeLessThanOrEqual(FUSE_W - NET_W + 1);
  }, 60_000);

  it('still uses all the fuse leaves: PV is taken off once', async () => {
    expect(await firstSlotEvW(Array(24).fill(BUILDING_W))).toBeGreaterThan(FUSE_W - NET_W - 100);
  }, 60_000);
});
