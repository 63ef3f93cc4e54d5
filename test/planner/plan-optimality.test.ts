import { describe, expect, it } from 'vitest';
import { buildPlanModel } from '../../optimizer/plan-model.ts';
import { lpMaxViolation } from '../../optimizer/lp-model.ts';
import { planTargetsAt } from '../../optimizer/plan-extract.ts';
import { solvePlan } from '../../src/planner/solve-plan.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { JslpSolver } from '../../src/planner/solver-jslp.ts';
import { car, HOUR_MS, planInput } from './plan-input-fixture.ts';

const highs = new HighsSolver();
const jslp = new JslpSolver();
const LIMIT_MS = 20_000;

describe('horizon planner', () => {
  it('charges in the cheapest hour when the car can wait (hand optimum: 10 kWh x 0.10 = 1.00)', async () => {
    const input = planInput({ importPricePerKWh: [0.4, 0.1, 0.2, 0.3], sessions: [car('a', 10_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.status).toBe('optimal');
    expect(plan.sessions[0].powerW.map((p) => Math.round(p))).toEqual([0, 10_000, 0, 0]);
    expect(plan.energyCost).toBeCloseTo(1.0, 6);
    expect(plan.objective).toBeCloseTo(1.0, 2); // plus the tiny flattening and early-bias terms
  });

  it('spreads two cars evenly when a demand charge makes the peak expensive (hand optimum: 40 x 0.2 + 10 kW x 10 = 108)', async () => {
    const input = planInput({ demandChargePerKW: 10, sessions: [car('a', 20_000), car('b', 20_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.peakW).toBeCloseTo(10_000, 0);
    expect(plan.energyCost + plan.demandCharge).toBeCloseTo(108, 4);
    for (const t of [0, 1, 2, 3]) expect(plan.sessions[0].powerW[t] + plan.sessions[1].powerW[t]).toBeCloseTo(10_000, 0);
  });

  it('does not raise the peak above what the month already paid for, but uses it fully', async () => {
    // The month's peak is 15 kW already: charging 30 kWh in the two cheap hours costs no extra demand charge.
    const input = planInput({ demandChargePerKW: 10, peakSoFarW: 15_000, importPricePerKWh: [0.1, 0.1, 0.5, 0.5], sessions: [car('a', 15_000), car('b', 15_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.peakW).toBeCloseTo(15_000, 0);
    expect(plan.energyCost).toBeCloseTo(3.0, 5);
  });

  it('uses PV before buying from the grid', async () => {
    const input = planInput({ pvW: [0, 0, 8_000, 0], sessions: [car('a', 8_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.sessions[0].powerW[2]).toBeCloseTo(8_000, 0);
    expect(plan.energyCost).toBeCloseTo(0, 6);
  });

  it('keeps grid import within the per-slot limit, including a grid-signal cut', async () => {
    const input = planInput({ importLimitW: [20_000, 5_000, 20_000, 20_000], sessions: [car('a', 30_000), car('b', 30_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    plan.gridW.forEach((g, t) => expect(g).toBeLessThanOrEqual(input.importLimitW[t] + 1e-6));
    expect(plan.sessions[0].unmetWh + plan.sessions[1].unmetWh).toBeLessThan(0.01);
  });

  it('shorts the lower-priority car when not everything fits, and reports the shortfall', async () => {
    const input = planInput({
      slotCount: 1,
      importLimitW: [11_000],
      sessions: [car('guest', 11_000, { priorityWeight: 1, departureAtMs: HOUR_MS }), car('fleet', 11_000, { priorityWeight: 2, departureAtMs: HOUR_MS })],
    });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.status).toBe('optimal');
    const byKey = Object.fromEntries(plan.sessions.map((s) => [s.key, s]));
    expect(byKey.fleet.powerW[0]).toBeCloseTo(11_000, 0);
    expect(byKey.guest.unmetWh).toBeCloseTo(11_000, 0);
  });

  it('shares a shortfall evenly between equal-priority cars when asked to (scheme equal)', async () => {
    const input = planInput({
      slotCount: 1,
      importLimitW: [11_000],
      fairShortfall: true,
      sessions: [car('a', 11_000, { departureAtMs: HOUR_MS }), car('b', 11_000, { departureAtMs: HOUR_MS })],
    });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.sessions[0].unmetWh).toBeCloseTo(5_500, 0);
    expect(plan.sessions[1].unmetWh).toBeCloseTo(5_500, 0);
  });

  it('degrades gracefully when a need cannot be met by departure: delivers the maximum and reports the rest', async () => {
    const input = planInput({ sessions: [car('a', 50_000, { departureAtMs: 2 * HOUR_MS })] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.status).toBe('optimal');
    expect(plan.sessions[0].plannedWh).toBeCloseTo(22_000, 0);
    expect(plan.sessions[0].unmetWh).toBeCloseTo(28_000, 0);
  });

  it('stays solvable when the building alone exceeds the limit: no EV power there, overload reported', async () => {
    const input = planInput({ baseLoadW: [30_000, 0, 0, 0], importLimitW: [20_000, 20_000, 20_000, 20_000], sessions: [car('a', 10_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.status).toBe('optimal');
    expect(plan.sessions[0].powerW[0]).toBeCloseTo(0, 3);
    expect(plan.overloadWh).toBeCloseTo(10_000, 0);
    expect(plan.sessions[0].unmetWh).toBeCloseTo(0, 3);
  });

  it('scales a car’s power in a slot it is only partly present for', async () => {
    const input = planInput({ slotCount: 2, sessions: [car('a', 20_000, { arrivalAtMs: HOUR_MS / 2, departureAtMs: 2 * HOUR_MS })] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.sessions[0].powerW[0]).toBeLessThanOrEqual(5_500 + 1e-6);
    expect(plan.sessions[0].plannedWh).toBeCloseTo(16_500, 0);
  });

  it('shifts a battery charge into cheap hours and discharges it into expensive ones', async () => {
    const input = planInput({
      importPricePerKWh: [0.1, 0.5, 0.5, 0.5],
      baseLoadW: [0, 5_000, 0, 0],
      battery: { capacityWh: 10_000, energyWh: 0, minEnergyWh: 0, maxEnergyWh: 10_000, maxChargeW: 5_000, maxDischargeW: 5_000, efficiency: 1 },
      sessions: [car('a', 1_000, { departureAtMs: HOUR_MS })],
    });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.batteryW[0]).toBeCloseTo(-5_000, 0);
    expect(plan.batteryW[1]).toBeCloseTo(5_000, 0);
    expect(plan.energyCost).toBeCloseTo(0.6, 4);
  });

  it('answers the current slot’s target per session', async () => {
    const input = planInput({ importPricePerKWh: [0.1, 0.4, 0.4, 0.4], sessions: [car('CP1/1', 5_000), car('CP2/1', 5_000)] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(Object.fromEntries(planTargetsAt(plan, HOUR_MS / 4))).toEqual({ 'CP1/1': 5_000, 'CP2/1': 5_000 });
    expect(planTargetsAt(plan, 5 * HOUR_MS).size).toBe(0);
  });

  it('gives a car that leaves within a slot its power while there, not the slot average', async () => {
    // Leaves 15 min into the second hour and needs 11 kW flat out until then: 13.75 kWh in 1.25 h.
    // The plan's slot average in hour 2 is 2.75 kW; the car must draw 11 kW during its quarter hour.
    const input = planInput({ sessions: [car('CP1/1', 13_750, { departureAtMs: 1.25 * HOUR_MS })] });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    expect(plan.sessions[0].powerW[1]).toBeCloseTo(2_750, 0);
    expect(planTargetsAt(plan, 0).get('CP1/1')).toBeCloseTo(11_000, 0);
    expect(planTargetsAt(plan, HOUR_MS + 60_000).get('CP1/1')).toBeCloseTo(11_000, 0);
  });
});

describe('LP backends', () => {
  const seeded = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it.each([1, 2, 3])('HiGHS and javascript-lp-solver agree on the objective (random instance %i)', async (seed) => {
    const rnd = seeded(seed);
    const slots = 24;
    const sessions = Array.from({ length: 6 }, (_, i) => {
      const arrival = Math.floor(rnd() * 12);
      const departure = arrival + 2 + Math.floor(rnd() * 10);
      return car(`s${i}`, 5_000 + rnd() * 40_000, { arrivalAtMs: arrival * HOUR_MS, departureAtMs: departure * HOUR_MS, maxPowerW: [7_400, 11_000, 22_000][i % 3], priorityWeight: 1 + i / 6 });
    });
    const input = planInput({
      slotCount: slots,
      importPricePerKWh: Array.from({ length: slots }, (_, t) => (t >= 7 && t < 22 ? 0.32 : 0.18)),
      exportPricePerKWh: Array.from({ length: slots }, () => 0.05),
      pvW: Array.from({ length: slots }, (_, t) => Math.max(0, Math.sin(((t - 6) / 12) * Math.PI)) * 15_000),
      baseLoadW: Array.from({ length: slots }, () => 3_000 + rnd() * 4_000),
      importLimitW: Array.from({ length: slots }, () => 30_000),
      demandChargePerKW: 0.5,
      voltageV: 230,
      circuits: [{ id: 'row', maxCurrentA: 25, loads: sessions.slice(0, 3).map((x, i) => ({ key: x.key, phaseMask: i === 2 ? 0b100 : 0b111, powerWeight: i === 2 ? 1 : 3 })) }],
      sessions,
    });
    const a = await solvePlan(input, highs, LIMIT_MS);
    const b = await solvePlan(input, jslp, LIMIT_MS);
    expect(a.status).toBe('optimal');
    expect(b.status).toBe('optimal');
    expect(Math.abs(a.objective - b.objective)).toBeLessThan(1e-6 * Math.max(1, Math.abs(a.objective)));
    const { model } = buildPlanModel(input);
    expect(model.numCols).toBeGreaterThan(0);
  });

  it('HiGHS solutions satisfy every bound and row of the model', async () => {
    const input = planInput({ demandChargePerKW: 10, sessions: [car('a', 20_000), car('b', 30_000, { maxPowerW: 22_000 })] });
    const { model } = buildPlanModel(input);
    const result = await highs.solve(model, { timeLimitMs: LIMIT_MS });
    expect(result.status).toBe('optimal');
    expect(lpMaxViolation(model, result.colValue)).toBeLessThan(1e-7);
  });
});

describe('negative prices', () => {
  it('fill a car only up to what it asked for', async () => {
    const input = planInput({ importPricePerKWh: [-0.1, -0.1, 0.2, 0.2], sessions: [car('a', 5_000)] });
    const plan = await solvePlan(input, new HighsSolver(), 20_000);
    expect(plan.sessions[0].plannedWh).toBeCloseTo(5_000, 3);
    expect(plan.energyCost).toBeCloseTo(-0.5, 6);
  });
});

describe('fuses below the connection point', () => {
  it('keeps each phase of a sub-circuit within its limit, moving energy to other hours', async () => {
    // Two 3-phase cars (11 kW = 16 A) on a 20 A row, for 2 h with 11 kWh each: at most 20 A
    // together, so the row carries 13.8 kW and both still finish (22 kWh in 2 h needs 11 kW).
    const input = planInput({
      slotCount: 2,
      voltageV: 230,
      circuits: [{ id: 'row', maxCurrentA: 20, loads: [{ key: 'a', phaseMask: 0b111, powerWeight: 3 }, { key: 'b', phaseMask: 0b111, powerWeight: 3 }] }],
      importPricePerKWh: [0.1, 0.5],
      sessions: [car('a', 11_000, { departureAtMs: 2 * HOUR_MS }), car('b', 11_000, { departureAtMs: 2 * HOUR_MS })],
    });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    for (const t of [0, 1]) {
      const rowA = (plan.sessions[0].powerW[t] + plan.sessions[1].powerW[t]) / (230 * 3);
      expect(rowA).toBeLessThanOrEqual(20 + 1e-6);
    }
    expect(plan.sessions[0].powerW[0] + plan.sessions[1].powerW[0]).toBeCloseTo(20 * 690, 0);
    expect(plan.sessions[0].unmetWh + plan.sessions[1].unmetWh).toBeLessThan(1);
  });

  it('loads a single-phase car on its own phase only', async () => {
    // Two 1-phase 7.4 kW cars (32 A) on L1 of a 40 A row, and one 3-phase 11 kW car: L1 binds.
    const input = planInput({
      slotCount: 1,
      voltageV: 230,
      circuits: [{ id: 'row', maxCurrentA: 40, loads: [{ key: 'p1', phaseMask: 0b001, powerWeight: 1 }, { key: 'p2', phaseMask: 0b001, powerWeight: 1 }, { key: 'tri', phaseMask: 0b111, powerWeight: 3 }] }],
      sessions: [car('p1', 7_360, { maxPowerW: 7_360, departureAtMs: HOUR_MS }), car('p2', 7_360, { maxPowerW: 7_360, departureAtMs: HOUR_MS }), car('tri', 11_040, { departureAtMs: HOUR_MS })],
    });
    const plan = await solvePlan(input, highs, LIMIT_MS);
    const l1A = (plan.sessions[0].powerW[0] + plan.sessions[1].powerW[0]) / 230 + plan.sessions[2].powerW[0] / 690;
    expect(l1A).toBeLessThanOrEqual(40 + 1e-6);
    expect(l1A).toBeCloseTo(40, 3);
  });
});
