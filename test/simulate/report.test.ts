import { describe, expect, it } from 'vitest';
import { compare, MONTH_DAYS, reportKpis } from '../../src/simulate/simulate-report.ts';
import type { Kpis } from '../../optimizer/kpi.ts';

const kpis = (over: Partial<Kpis>): Kpis => ({
  peakW: 50_000, energyCost: 100, demandCharge: 625, totalCost: 725, energyRequestedWh: 100_000, energyDeliveredWh: 100_000, unmetWh: 0,
  sessionSuccessRate: 1, renewableShare: 0, utilization: 0, limitViolations: 0, costPerKWh: 0.3, evEnergyWh: 0, gridImportWh: 0, gridExportWh: 0, carbonKg: 0, sessions: 10, ...over,
});

describe('the simulate report', () => {
  it('prorates the demand charge to the replayed period', () => {
    const day = reportKpis(kpis({}), 1 / MONTH_DAYS);
    expect(day.demandCharge).toBeCloseTo(625 / MONTH_DAYS, 2);
    expect(day.totalCost).toBeCloseTo(100 + 625 / MONTH_DAYS, 2);
  });

  it('never states a saving that comes from energy not delivered', () => {
    // Half the energy missing: half the cost is no saving.
    const ems = reportKpis(kpis({ energyDeliveredWh: 49_200, unmetWh: 50_800, energyCost: 50, peakW: 10_000 }), 1 / MONTH_DAYS);
    const uncontrolled = reportKpis(kpis({}), 1 / MONTH_DAYS);
    const c = compare(ems, uncontrolled, 'uncontrolled', 'EUR');
    expect(c.sameEnergy).toBe(false);
    expect(c.text).toMatch(/delivers 50\.8 kWh less/);
    expect(c.text).toMatch(/no saving claimed/);
    expect(c.text).not.toMatch(/cheaper|cost \d+(\.\d)? % lower/);
  });

  it('states the saving when the same energy is delivered', () => {
    const ems = reportKpis(kpis({ energyCost: 80, peakW: 25_000, demandCharge: 312.5 }), 1);
    const c = compare(ems, reportKpis(kpis({}), 1), 'uncontrolled', 'EUR');
    expect(c.sameEnergy).toBe(true);
    expect(c.peakCut).toBeCloseTo(0.5, 6);
    expect(c.text).toMatch(/total cost 45\.9 % lower and peak 50\.0 % lower/);
  });
});
