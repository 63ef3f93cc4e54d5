// A tapering car in the horizon plan (issue #11). Near full a car's max falls as it fills; the
// planner learns the fall per Wh from its draw (car-max-learner.ts). Planned at its average power
// over what it still wants, the plan held it below what it could draw while it could, and counted
// on that average near the end where the car can no longer draw it. The LP bounds each slot by the
// car's max less its taper times the energy planned before, and the ceilings let a car the plan runs
// flat out draw what it can at the slot's start.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { SiteSnapshot } from '../../optimizer/types.ts';
import { PlanCeilings } from '../../src/planner/plan-ceilings.ts';
import { buildPlanInput, type PlannerSession } from '../../src/planner/plan-input.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { solvePlan } from '../../src/planner/solve-plan.ts';
import { Tariff } from '../../src/tariffs/tariff.ts';

const MIN_MS = 60_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');
const config = configSchema.parse({
  site: { voltage: 230, timezone: 'Europe/Berlin' },
  grid: { maxCurrent: 100 },
  chargers: [{ id: 'H1', maxCurrent: 32, minCurrent: 6, phases: 3 }],
  planner: { horizonH: 2, slotMin: 15 },
  // Energy is cheap in the first quarter hour (11:00 local): the plan runs the car flat out in it.
  tariffs: { currency: 'EUR', import: { default: 0.4, periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '11:00', to: '11:15', price: 0.1 }] } },
});
const tariff = new Tariff(config.tariffs, config.site.timezone);
const V3 = 3 * config.site.voltage;
// The plant's car above 80 % SoC on a 60 kWh battery: 32 A falling to 16 A over its last 6 kWh.
const maxNowW = 32 * V3;
const taperWPerWh = (16 * V3) / 6_000;
const needWh = 6_000;

/** Energy a car whose max falls by k W per Wh takes in `hours` from a max of `maxW` (dP/dt = −k·P), Wh. */
const canTakeWh = (maxW: number, hours: number) => (maxW / taperWPerWh) * (1 - Math.exp(-taperWPerWh * hours));

async function planTaperingCar() {
  const session: PlannerSession = {
    key: 'H1/1', chargerId: 'H1', arrivalAtMs: T0 - 60 * MIN_MS, departureAtMs: T0 + 60 * MIN_MS,
    energyWh: 20_000, energyNeedWh: 20_000 + needWh, tierRank: 0, carMaxPowerW: maxNowW, carTaperWPerWh: taperWPerWh,
  };
  const input = buildPlanInput({ config, tariff, zone: tariff.zone, atMs: T0, sessions: [session], peakSoFarW: 0 });
  return { input, plan: await solvePlan(input, new HighsSolver(), 60_000) };
}

describe('a tapering car in the plan', () => {
  it('is planned where it can take the energy: never more in a slot than it can take after what the plan gave it before, and its first slot at what it can take there', async () => {
    const { input, plan } = await planTaperingCar();
    expect(plan.status).toBe('optimal');
    const h = input.slotMs / 3_600_000;
    const powerW = plan.sessions[0]!.powerW;
    let beforeWh = 0;
    for (const p of powerW) {
      // 2 % for the slot's midpoint rule against the exact exponential.
      expect(p * h).toBeLessThanOrEqual(canTakeWh(maxNowW - taperWPerWh * beforeWh, h) * 1.02 + 1);
      beforeWh += p * h;
    }
    // The whole need (and the plan's small margin) is planned, and the first slot uses what the car
    // can take while it can: the average over the need (15.9 kW here) would leave 0.4 kWh of it.
    expect(plan.sessions[0]!.unmetWh).toBeLessThan(1);
    expect(powerW[0]! * h).toBeGreaterThan(0.97 * canTakeWh(maxNowW, h));
  });

  it('lets a car planned flat out draw what it can now, not the slot average of its falling max', async () => {
    const { plan } = await planTaperingCar();
    const ceilings = new PlanCeilings(() => ({ minPowerW: 6 * V3, maxPowerW: 32 * V3, voltsTimesPhases: V3 }));
    ceilings.setPlan(plan);
    const snapshot: SiteSnapshot = {
      atMs: T0 + MIN_MS,
      grid: null,
      circuitLoads: [],
      signals: {},
      connectors: [{
        chargerId: 'H1', connectorId: 1, status: 'Charging', drawA: [32, 32, 32], drawAtMs: T0 + 50_000, installedCapA: 32,
        session: { id: 'h1', startedAtMs: T0 - 60 * MIN_MS, departureAtMs: T0 + 60 * MIN_MS, energyWh: 20_000, energyNeedWh: 20_000 + needWh, tierRank: 0, paused: false },
      }],
    };
    // Held at the slot average (or the need's average, 23 A) it would lose the start of its taper.
    expect(ceilings.ceilingsW(snapshot).get('H1/1')).toBeGreaterThanOrEqual(0.99 * maxNowW);
  });
});
