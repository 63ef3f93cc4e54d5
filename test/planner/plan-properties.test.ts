import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { solvePlan } from '../../src/planner/solve-plan.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { HOUR_MS, planInput } from './plan-input-fixture.ts';

const highs = new HighsSolver();
const SLOTS = 12;

const arbInput = fc
  .record({
    prices: fc.array(fc.double({ min: 0.05, max: 0.6, noNaN: true }), { minLength: SLOTS, maxLength: SLOTS }),
    limitW: fc.integer({ min: 0, max: 60_000 }),
    baseW: fc.integer({ min: 0, max: 40_000 }),
    pvW: fc.integer({ min: 0, max: 30_000 }),
    demandChargePerKW: fc.double({ min: 0, max: 20, noNaN: true }),
    cars: fc.array(
      fc.record({
        arrival: fc.integer({ min: 0, max: SLOTS - 1 }),
        stay: fc.integer({ min: 1, max: SLOTS }),
        needWh: fc.integer({ min: 0, max: 80_000 }),
        maxPowerW: fc.constantFrom(3_700, 7_400, 11_000, 22_000),
        weight: fc.double({ min: 1, max: 2, noNaN: true }),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .map((r) =>
    planInput({
      slotCount: SLOTS,
      importPricePerKWh: r.prices,
      baseLoadW: Array.from({ length: SLOTS }, (_, t) => (t % 3 === 0 ? r.baseW : r.baseW / 2)),
      pvW: Array.from({ length: SLOTS }, (_, t) => (t > 3 && t < 9 ? r.pvW : 0)),
      importLimitW: Array.from({ length: SLOTS }, () => r.limitW),
      demandChargePerKW: r.demandChargePerKW,
      sessions: r.cars.map((c, i) => ({
        key: `c${i}`,
        arrivalAtMs: c.arrival * HOUR_MS,
        departureAtMs: Math.min(SLOTS, c.arrival + c.stay) * HOUR_MS,
        energyNeedWh: c.needWh,
        maxPowerW: c.maxPowerW,
        priorityWeight: c.weight,
      })),
    }),
  );

describe('every plan, for any input', () => {
  it('is optimal, keeps cars inside their window and power, never plans more than asked, and stays within the import limit unless the building alone exceeds it', async () => {
    await fc.assert(
      fc.asyncProperty(arbInput, async (input) => {
        const plan = await solvePlan(input, highs, 10_000);
        expect(plan.status).toBe('optimal');
        input.sessions.forEach((s, i) => {
          const p = plan.sessions[i];
          p.powerW.forEach((w, t) => {
            const slotStart = t * HOUR_MS;
            if (slotStart >= s.departureAtMs || slotStart + HOUR_MS <= s.arrivalAtMs) expect(w).toBe(0);
            expect(w).toBeLessThanOrEqual(s.maxPowerW + 1e-3);
            expect(w).toBeGreaterThanOrEqual(0);
          });
          expect(p.plannedWh).toBeLessThanOrEqual(s.energyNeedWh + 1);
          expect(p.plannedWh + p.unmetWh).toBeGreaterThanOrEqual(s.energyNeedWh - 1);
        });
        plan.gridW.forEach((g, t) => {
          const unavoidable = Math.max(0, input.baseLoadW[t] - input.pvW[t]);
          expect(g).toBeLessThanOrEqual(Math.max(input.importLimitW[t], unavoidable) + 1e-3);
        });
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
