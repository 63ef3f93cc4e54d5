// A live site with a PV device and no (or little) learnt PV history (issue #11, the plan view of #12):
// on a fresh install the demo's PV made 12.8 kW while every slot of the plan had pvW 0. The plan's PV
// must start from what the PV meter reads and fade into the forecast over the persistence horizon,
// never into the times of day the forecast knows to be dark; where the forecast is good, the ratio
// correction stays as it was.
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

const scratch = mkdtempSync(join(tmpdir(), 'ems-pv-fresh-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-24T11:00:00Z'); // 12:00 in Berlin
const ZONE = new LocalTimeZone('Europe/Berlin');
const PV_NOW_W = 12_000;
const GRID_NOW_W = 20_000;
let files = 0;

let running: PlannerService | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The plan's PV per slot (what GET /api/v1/plan shows) and the slot starts, after a day of PV history `yesterdayW` (none: fresh install). */
async function planPv(yesterdayW?: (localHour: number) => number, pvReadAtMs = T0): Promise<{ pvW: readonly number[]; startMs: number; slotMs: number }> {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin', voltage: 230 },
    storage: { path: join(scratch, 'ems.sqlite') },
    grid: { maxCurrent: 100, safetyMargin: 0.05, meter: 'grid' },
    devices: [
      { id: 'grid', role: 'grid-meter', driver: 'simulated' },
      { id: 'pv', role: 'pv', driver: 'simulated' },
    ],
    chargers: [{ id: 'CP1', maxCurrent: 32, phases: 3 }],
    tariffs: { import: { default: 0.25 } },
    planner: { timeLimitMs: 20_000 },
  });
  const bus = new Bus(silentLogger);
  const clock = new ManualClock(T0);
  const state = new SiteState(config, bus);
  const service = createPlannerService(
    { config, bus, log: silentLogger, clock, state },
    { tariff: new Tariff(config.tariffs, config.site.timezone), zone: ZONE, peakSoFarW: () => 0 },
    { forecastFilePath: join(scratch, `forecast-${files++}.json`) },
  );
  running = service;
  await service.start();
  if (yesterdayW) {
    for (let q = 0; q < 96; q++) {
      const atMs = T0 - 86_400_000 + q * 900_000;
      bus.emit('device.reading', { deviceId: 'pv', role: 'pv', atMs, powerW: yesterdayW(ZONE.at(atMs).minuteOfDay / 60) });
    }
  }
  bus.emit('session.started', { chargerId: 'CP1', connectorId: 1, transactionId: 1, idTag: 'T', tier: 'staff', startedAtMs: T0, meterStartWh: 0, energyNeedWh: 30_000, departureAtMs: T0 + 8 * 3_600_000 });
  bus.emit('device.reading', { deviceId: 'pv', role: 'pv', atMs: pvReadAtMs, powerW: PV_NOW_W });
  bus.emit('device.reading', { deviceId: 'grid', role: 'grid-meter', atMs: T0, powerW: GRID_NOW_W });
  const plan = await service.replanNow('test');
  expect(plan?.status).toBe('optimal');
  const inputs = service.currentInputs();
  expect(inputs).toBeDefined();
  return { pvW: inputs!.pvW, startMs: plan!.startMs, slotMs: plan!.slotMs };
}

const localHourOf = (atMs: number) => ZONE.at(atMs).minuteOfDay / 60;

describe('the plan PV of a site with a PV device', () => {
  it('fresh install (no history): starts at the PV reading and fades out over the persistence horizon', async () => {
    const { pvW, startMs, slotMs } = await planPv();
    // On the old input: 0 in every slot.
    expect(pvW[0]).toBeGreaterThan(0.85 * PV_NOW_W);
    expect(pvW[0]).toBeLessThanOrEqual(PV_NOW_W);
    for (let t = 1; t < pvW.length; t++) expect(pvW[t]).toBeLessThanOrEqual(pvW[t - 1]!);
    expect(pvW[Math.round(3_600_000 / slotMs)]).toBeGreaterThan(0);
    // Fades: the whole horizon holds about two hours of the reading, not a day; six hours on, about 5 %.
    const totalWh = pvW.reduce((sum, w) => sum + (w * slotMs) / 3_600_000, 0);
    expect(totalWh).toBeLessThan(PV_NOW_W * 2.1);
    const sixHours = Math.round((6 * 3_600_000) / slotMs);
    expect(pvW[sixHours]).toBeLessThan(0.06 * PV_NOW_W);
    expect(startMs).toBeGreaterThan(T0 - slotMs);
  }, 180_000);

  it('fresh install, PV meter silent for 4 h: its last reading has faded as it would have over those hours', async () => {
    const { pvW } = await planPv(undefined, T0 - 4 * 3_600_000);
    // On the input before the reading's time was passed: 11.3 kW, as if read now.
    expect(pvW[0]).toBeGreaterThan(0);
    expect(pvW[0]).toBeLessThan(PV_NOW_W * Math.exp(-2));
  }, 180_000);

  it('forecast far below the reading (a learnt overcast day): the reading carries, but not into the hours the forecast knows are dark', async () => {
    const overcast = (h: number) => (h >= 8 && h < 16 ? 400 : 0);
    const { pvW, startMs, slotMs } = await planPv(overcast);
    expect(pvW[0]).toBeGreaterThan(0.85 * PV_NOW_W);
    let dark = 0;
    for (let t = 0; t < pvW.length; t++) {
      const h = localHourOf(startMs + t * slotMs + slotMs / 2);
      if (h >= 16.25 || h < 7.75) {
        expect(pvW[t]).toBe(0);
        dark++;
      }
    }
    expect(dark).toBeGreaterThan(40);
  }, 180_000);

  it('a good forecast is corrected by the ratio as before (and no PV at night)', async () => {
    const sunny = (h: number) => (h >= 8 && h < 16 ? 10_000 : 0);
    const { pvW, startMs, slotMs } = await planPv(sunny);
    // 10 kW forecast × (1 + 0.2 × fade): just under the 12 kW reading, then back towards 10 kW.
    expect(pvW[0]).toBeGreaterThan(11_500);
    expect(pvW[0]).toBeLessThan(PV_NOW_W);
    const threeHours = Math.round((3 * 3_600_000) / slotMs);
    expect(pvW[threeHours]).toBeGreaterThan(10_000);
    expect(pvW[threeHours]).toBeLessThan(10_000 * (1 + 0.2 * Math.exp(-1.4)));
    for (let t = 0; t < pvW.length; t++) {
      const h = localHourOf(startMs + t * slotMs + slotMs / 2);
      if (h >= 16.25 || h < 7.75) expect(pvW[t]).toBe(0);
    }
  }, 180_000);
});
