import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constrainedEvDemandW, dispatchBattery, type BatteryDispatchParams } from '../../optimizer/battery-dispatch.ts';

const params: BatteryDispatchParams = {
  maxImportW: 100_000, maxExportW: 30_000, safetyMargin: 0, minSocPct: 10, maxSocPct: 95,
  maxChargeW: 50_000, maxDischargeW: 50_000, pvRatedW: 80_000, hasBattery: true, hasPvControl: true,
};
const at = (over: Partial<Parameters<typeof dispatchBattery>[0]>) =>
  dispatchBattery({ gridPowerW: 0, batteryPowerW: 0, socPct: 50, pvPowerW: 0, constrainedEvDemandW: 0, ...over }, params);

describe('battery and PV dispatch', () => {
  it('discharges to hold import at the cap (peak shaving)', () => {
    expect(at({ gridPowerW: 130_000 }).batterySetpointW).toBe(30_000);
  });

  it('keeps discharging while the cap is held by the battery (no flapping back to 0)', () => {
    expect(at({ gridPowerW: 100_000, batteryPowerW: 30_000 }).batterySetpointW).toBe(30_000);
  });

  it('adds EV demand that the import cap held back', () => {
    expect(at({ gridPowerW: 99_000, batteryPowerW: 10_000, constrainedEvDemandW: 15_000 }).batterySetpointW).toBe(24_000);
  });

  it('does not discharge at or below the minimum SoC', () => {
    const r = at({ gridPowerW: 130_000, socPct: 10 });
    expect(r.batterySetpointW).toBe(0);
    expect(r.batteryReason).toMatch(/minimum/);
  });

  it('charges from PV surplus, and not above the maximum SoC', () => {
    expect(at({ gridPowerW: -20_000 }).batterySetpointW).toBe(-20_000);
    expect(at({ gridPowerW: -20_000, batteryPowerW: -5_000 }).batterySetpointW).toBe(-25_000);
    expect(at({ gridPowerW: -20_000, socPct: 95 }).batterySetpointW).toBe(0);
  });

  it('curtails PV when export would exceed the export cap, after the battery took what it can', () => {
    const r = at({ gridPowerW: -40_000, pvPowerW: 60_000, socPct: 95 });
    expect(r.pvLimitW).toBe(50_000);
    expect(at({ gridPowerW: -40_000, pvPowerW: 60_000, socPct: 50 }).pvLimitW).toBeUndefined();
  });

  it('follows load while curtailed and lifts curtailment once the limit reaches the rating', () => {
    expect(at({ gridPowerW: -20_000, pvPowerW: 50_000, pvLimitW: 50_000, socPct: 95 }).pvLimitW).toBe(60_000);
    expect(at({ gridPowerW: 5_000, pvPowerW: 76_000, pvLimitW: 76_000, socPct: 95 }).pvLimitW).toBeUndefined();
  });

  it('never commands more than the battery bounds or discharges into the grid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -200_000, max: 300_000 }), fc.integer({ min: -50_000, max: 50_000 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100_000 }),
        (gridPowerW, batteryPowerW, socPct, constrained) => {
          const r = at({ gridPowerW, batteryPowerW, socPct, constrainedEvDemandW: constrained });
          expect(r.batterySetpointW).toBeLessThanOrEqual(params.maxDischargeW);
          expect(r.batterySetpointW).toBeGreaterThanOrEqual(-params.maxChargeW);
          if (r.batterySetpointW > 0) {
            expect(socPct).toBeGreaterThan(params.minSocPct);
            expect(r.batterySetpointW).toBeLessThanOrEqual(Math.max(0, gridPowerW + batteryPowerW));
          }
          if (r.batterySetpointW < 0) expect(socPct).toBeLessThan(params.maxSocPct);
          if (r.pvLimitW !== undefined) expect(r.pvLimitW).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('counts the EV power held back by the grid-power cap', () => {
    const caps = [
      { chargerId: 'A', connectorId: 1, currentA: 10, phases: 3 as const, reason: { kind: 'grid-power' as const, text: '' } },
      { chargerId: 'B', connectorId: 1, currentA: 16, phases: 3 as const, reason: { kind: 'car' as const, text: '' } },
    ];
    expect(constrainedEvDemandW(caps, () => 32, 230)).toBe(22 * 230 * 3);
  });
});
