import { describe, expect, it } from 'vitest';
import { KpiAccumulator, type KpiStep } from '../../optimizer/kpi.ts';

const step = (atMs: number, over: Partial<KpiStep>): KpiStep => ({
  atMs,
  durationMs: 900_000,
  gridPowerW: 0,
  evPowerW: 0,
  pvPowerW: 0,
  importPricePerKWh: 0.2,
  exportPricePerKWh: 0.05,
  chargingConnectors: 0,
  connectorCount: 2,
  ...over,
});

describe('site KPIs', () => {
  it('prices import and export, bills the highest 15-min average and counts what was met', () => {
    const k = new KpiAccumulator(10);
    k.addStep(step(0, { gridPowerW: 20_000, evPowerW: 20_000, chargingConnectors: 2 })); // 5 kWh x 0.2 = 1.0
    k.addStep(step(900_000, { gridPowerW: 4_000, evPowerW: 4_000, chargingConnectors: 1 })); // 1 kWh x 0.2 = 0.2
    k.addStep(step(1_800_000, { gridPowerW: -8_000, pvPowerW: 8_000 })); // export 2 kWh x 0.05 = -0.1
    k.addSession({ requestedWh: 5_000, deliveredWh: 5_000 });
    k.addSession({ requestedWh: 1_500, deliveredWh: 1_000 });
    const r = k.result();
    expect(r.energyCost).toBeCloseTo(1.1, 9);
    expect(r.peakW).toBeCloseTo(20_000, 6);
    expect(r.demandCharge).toBeCloseTo(200, 6);
    expect(r.totalCost).toBeCloseTo(201.1, 6);
    expect(r.energyRequestedWh).toBe(6_500);
    expect(r.energyDeliveredWh).toBe(6_000);
    expect(r.unmetWh).toBe(500);
    expect(r.sessionSuccessRate).toBe(0.5);
    expect(r.utilization).toBeCloseTo(3 / 6, 9);
    expect(r.costPerKWh).toBeCloseTo(1.1 / 6, 9);
  });

  it('averages the peak over the demand window rather than taking an instant', () => {
    const k = new KpiAccumulator(0);
    for (let i = 0; i < 15; i++) k.addStep(step(i * 60_000, { durationMs: 60_000, gridPowerW: i === 0 ? 30_000 : 0 }));
    expect(k.result().peakW).toBeCloseTo(2_000, 6);
  });

  it('splits a step that crosses a demand window between the two windows', () => {
    const k = new KpiAccumulator(0);
    // 20 kW steps of 2 min starting on the even minutes: the one at 14:00 (minute 14) crosses into
    // the next window; no window may average more than the 20 kW actually drawn.
    for (let m = 0; m < 30; m += 2) k.addStep(step(m * 60_000, { durationMs: 120_000, gridPowerW: 20_000 }));
    expect(k.result().peakW).toBeCloseTo(20_000, 6);
  });

  it('credits EV energy to PV pro rata with the other loads', () => {
    const k = new KpiAccumulator(0);
    // 10 kW consumption (6 kW EV + 4 kW building), 5 kW of it from PV: half of the EV energy is renewable.
    k.addStep(step(0, { gridPowerW: 5_000, evPowerW: 6_000, pvPowerW: 5_000 }));
    expect(k.result().renewableShare).toBeCloseTo(0.5, 9);
  });

  it('bills the month’s earlier peak when it is higher than this period’s', () => {
    const k = new KpiAccumulator(10, 900_000, 50_000);
    k.addStep(step(0, { gridPowerW: 20_000 }));
    expect(k.result().demandCharge).toBeCloseTo(500, 6);
  });
});
