// The demo's physical site: the battery follows a fresh EMS setpoint within its power and SoC
// limits, falls back to self-consumption when none is in force, and PV obeys a curtailment limit.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETPOINT_HOLD_MS, pvPowerW, stepSite, type SiteModelParams, type SiteSetpoints } from '../../src/demo/site-model.ts';

const params: SiteModelParams = {
  voltageV: 230,
  utcOffsetH: 0,
  pvPeakW: 20_000,
  buildingBaseA: 10,
  buildingPeakA: 10,
  battery: { capacityWh: 60_000, maxPowerW: 10_000, minSocPct: 10, maxSocPct: 95 },
  peakShaveAboveW: 45_000,
};
// 13:00 UTC: PV near its peak; 02:00 UTC: no PV.
const NOON = Date.UTC(2026, 10, 24, 13);
const NIGHT = Date.UTC(2026, 10, 24, 2);

describe('the simulated battery', () => {
  const cases: { name: string; atMs: number; socPct: number; evA?: number; setpoints: SiteSetpoints; batteryW: number | 'self' }[] = [
    { name: 'discharges as commanded', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: 4000, batterySetAtMs: NIGHT - 1000 }, batteryW: 4000 },
    { name: 'charges as commanded (from the grid at night)', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: -6000, batterySetAtMs: NIGHT }, batteryW: -6000 },
    { name: 'holds at a 0 setpoint although PV is spare', atMs: NOON, socPct: 50, setpoints: { batteryPowerW: 0, batterySetAtMs: NOON }, batteryW: 0 },
    { name: 'is clamped to its inverter power', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: 25_000, batterySetAtMs: NIGHT }, batteryW: 10_000 },
    { name: 'is clamped to its inverter power when charging', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: -25_000, batterySetAtMs: NIGHT }, batteryW: -10_000 },
    { name: 'does not discharge at its SoC floor', atMs: NIGHT, socPct: 10, setpoints: { batteryPowerW: 4000, batterySetAtMs: NIGHT }, batteryW: 0 },
    { name: 'still charges at its SoC floor', atMs: NIGHT, socPct: 10, setpoints: { batteryPowerW: -4000, batterySetAtMs: NIGHT }, batteryW: -4000 },
    { name: 'does not charge at its SoC ceiling', atMs: NIGHT, socPct: 95, setpoints: { batteryPowerW: -4000, batterySetAtMs: NIGHT }, batteryW: 0 },
    { name: 'follows a setpoint written exactly the hold time ago', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: 3000, batterySetAtMs: NIGHT - DEFAULT_SETPOINT_HOLD_MS }, batteryW: 3000 },
    { name: 'falls back to its own rule after the hold time', atMs: NOON, socPct: 50, setpoints: { batteryPowerW: 3000, batterySetAtMs: NOON - DEFAULT_SETPOINT_HOLD_MS - 1 }, batteryW: 'self' },
    { name: 'follows a setpoint within its own revert timer', atMs: NIGHT, socPct: 50, setpoints: { batteryPowerW: 3000, batterySetAtMs: NIGHT - 20_000, batteryHoldMs: 30_000 }, batteryW: 3000 },
    { name: 'reverts when its own revert timer ran out, before the default hold', atMs: NOON, socPct: 50, setpoints: { batteryPowerW: 3000, batterySetAtMs: NOON - 30_001, batteryHoldMs: 30_000 }, batteryW: 'self' },
    { name: 'uses its own rule before any setpoint', atMs: NOON, socPct: 50, setpoints: {}, batteryW: 'self' },
    { name: 'shaves a peak on its own when no setpoint is in force', atMs: NIGHT, socPct: 50, evA: 60, setpoints: {}, batteryW: 'self' },
  ];
  it.each(cases)('$name', ({ atMs, socPct, evA = 0, setpoints, batteryW }) => {
    const state = { batterySocPct: socPct, batteryPowerW: 0 };
    const reading = stepSite(atMs, 1, [evA, evA, evA], state, params, setpoints);
    const loadW = (reading.buildingA[0] + reading.buildingA[1] + reading.buildingA[2] + 3 * evA) * 230;
    const netW = loadW - reading.pvPowerW;
    if (batteryW === 'self') {
      // Self-consumption: soaks up the PV surplus, or shaves import above 45 kW.
      const expected = netW < 0 ? Math.max(netW, -10_000) : netW > 45_000 ? Math.min(netW - 45_000, 10_000) : 0;
      expect(reading.batteryPowerW).toBe(Math.round(expected));
      expect(expected).not.toBe(0);
      expect(reading.batteryMode).toBe('self');
    } else {
      expect(reading.batteryPowerW).toBe(batteryW);
      expect(reading.batteryMode).toBe('ems');
    }
    // The grid meter sees the sum, whoever decided the battery.
    expect(reading.gridPowerW).toBe(Math.round(netW - reading.batteryPowerW));
  });

  it('moves its SoC by the energy it delivers', () => {
    const state = { batterySocPct: 50, batteryPowerW: 0 };
    stepSite(NIGHT, 3600, [0, 0, 0], state, params, { batteryPowerW: 6000, batterySetAtMs: NIGHT });
    expect(state.batterySocPct).toBeCloseTo(40, 6); // 6 kWh of 60 kWh
  });
});

describe('the status line', () => {
  it('says when the battery follows the EMS and how much PV is curtailed', async () => {
    const { formatStatus } = await import('../../src/demo/status-text.ts');
    const reading = stepSite(NOON, 1, [0, 0, 0], { batterySocPct: 50, batteryPowerW: 0 }, params, {
      batteryPowerW: -4000, batterySetAtMs: NOON, pvLimitW: 5000, pvLimitSetAtMs: NOON,
    });
    const state = { lastDecision: null, connectors: new Map() } as unknown as Parameters<typeof formatStatus>[0];
    const line = formatStatus(state, NOON, reading).split('\n')[0]!;
    expect(line).toContain('battery -4.0 kW (EMS) @ 50%');
    expect(line).toMatch(/pv 5\.0 kW \(curtailed \d+\.\d\)/);
    const own = formatStatus(state, NOON, stepSite(NOON, 1, [0, 0, 0], { batterySocPct: 50, batteryPowerW: 0 }, params)).split('\n')[0]!;
    expect(own).not.toContain('(EMS)');
    expect(own).not.toContain('curtailed');
  });
});

describe('the simulated PV inverter', () => {
  const available = pvPowerW(NOON, params);
  const cases: { name: string; setpoints: SiteSetpoints; pvW: number }[] = [
    { name: 'produces what the sun gives without a limit', setpoints: {}, pvW: available },
    { name: 'stays under a fresh limit', setpoints: { pvLimitW: 5000, pvLimitSetAtMs: NOON }, pvW: 5000 },
    { name: 'is not raised by a limit above what it produces', setpoints: { pvLimitW: 50_000, pvLimitSetAtMs: NOON }, pvW: available },
    { name: 'stops at a 0 limit', setpoints: { pvLimitW: 0, pvLimitSetAtMs: NOON }, pvW: 0 },
    { name: 'treats a negative limit as 0', setpoints: { pvLimitW: -100, pvLimitSetAtMs: NOON }, pvW: 0 },
    { name: 'reverts to full output when the limit is older than the hold time', setpoints: { pvLimitW: 5000, pvLimitSetAtMs: NOON - DEFAULT_SETPOINT_HOLD_MS - 1 }, pvW: available },
    { name: "reverts when the limit's own timer ran out", setpoints: { pvLimitW: 5000, pvLimitSetAtMs: NOON - 10_001, pvLimitHoldMs: 10_000 }, pvW: available },
    { name: 'produces fully when the limit was lifted', setpoints: { pvLimitW: undefined, pvLimitSetAtMs: NOON }, pvW: available },
  ];
  it.each(cases)('$name', ({ setpoints, pvW }) => {
    expect(available).toBeGreaterThan(10_000);
    const reading = stepSite(NOON, 1, [0, 0, 0], { batterySocPct: 50, batteryPowerW: 0 }, params, { ...setpoints, batteryPowerW: 0, batterySetAtMs: NOON });
    expect(reading.pvPowerW).toBe(pvW);
    expect(reading.pvCurtailedW).toBe(available - pvW);
    const loadW = (reading.buildingA[0] + reading.buildingA[1] + reading.buildingA[2]) * 230;
    expect(reading.gridPowerW).toBe(Math.round(loadW - pvW));
  });

  it('honours a custom hold time', () => {
    const p = { ...params, setpointHoldMs: 5000 };
    const at = (ageMs: number) => stepSite(NOON, 1, [0, 0, 0], { batterySocPct: 50, batteryPowerW: 0 }, p, { pvLimitW: 1000, pvLimitSetAtMs: NOON - ageMs }).pvPowerW;
    expect(at(5000)).toBe(1000);
    expect(at(5001)).toBe(available);
  });
});
