import { describe, expect, it } from 'vitest';
import { KpiAccumulator, parseKpiSnapshot, type KpiStep } from '../../optimizer/kpi.ts';

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

  it('averages a window over the part of it that was measured: a start or a restart inside it changes nothing', () => {
    const minute = (m: number, kW: number) => step(m * 60_000, { durationMs: 60_000, gridPowerW: kW * 1000 });
    // Started at minute 5 of the first window, 20 kW until the next window: the minutes before the start are unknown, not 0 kW.
    const late = new KpiAccumulator(0);
    for (let m = 5; m < 16; m++) late.addStep(minute(m, 20));
    expect(late.result().peakW).toBeCloseTo(20_000, 6);
    // The same 20 kW run without a restart, and with one at minute 7 that loses half a minute of readings.
    const straight = new KpiAccumulator(0);
    for (let m = 0; m < 16; m++) straight.addStep(minute(m, 20));
    const before = new KpiAccumulator(0);
    for (let m = 0; m < 7; m++) before.addStep(minute(m, 20));
    const after = new KpiAccumulator(0);
    after.restore(parseKpiSnapshot(JSON.parse(JSON.stringify(before.snapshot())))!);
    expect(after.result()).toEqual(before.result());
    after.addStep(step(7.5 * 60_000, { durationMs: 30_000, gridPowerW: 20_000 }));
    for (let m = 8; m < 16; m++) after.addStep(minute(m, 20));
    expect(after.result().peakW).toBeCloseTo(straight.result().peakW, 6);
    expect(after.result().peakAtMs).toBe(straight.result().peakAtMs);
  });

  it('does not take a window seen for less than half its length as a 15-minute mean', () => {
    const k = new KpiAccumulator(0);
    // Started at minute 13: two minutes at 30 kW, then nothing imported in the next window.
    k.addStep(step(13 * 60_000, { durationMs: 120_000, gridPowerW: 30_000 }));
    k.addStep(step(15 * 60_000, { durationMs: 900_000, gridPowerW: 0 }));
    expect(k.result().peakW).toBeCloseTo(4_000, 6);
  });

  it('continues an open window from a snapshot written before the measured time was kept', () => {
    const k = new KpiAccumulator(0);
    const old = { ...k.snapshot(), windowIndex: 0, windowEnergyWh: 2_500 } as Record<string, unknown>;
    delete old.windowCoveredMs;
    k.restore(parseKpiSnapshot(old)!);
    k.addStep(step(10 * 60_000, { durationMs: 300_000, gridPowerW: 0 }));
    k.addStep(step(15 * 60_000, { durationMs: 60_000, gridPowerW: 0 }));
    expect(k.result().peakW).toBeCloseTo(10_000, 6);
  });

  it('bills the month’s earlier peak when it is higher than this period’s', () => {
    const k = new KpiAccumulator(10, 900_000, 50_000);
    k.addStep(step(0, { gridPowerW: 20_000 }));
    expect(k.result().demandCharge).toBeCloseTo(500, 6);
  });
});
