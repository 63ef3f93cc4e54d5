import type { PlanInput, PlanSession } from '../../optimizer/plan-types.ts';

export const HOUR_MS = 3_600_000;

/** A plan input with hour slots, no site load, a generous limit; override what a test is about. */
export function planInput(overrides: Partial<PlanInput> & { sessions: PlanSession[] }): PlanInput {
  const slotCount = overrides.slotCount ?? 4;
  const fill = (v: number) => Array.from({ length: slotCount }, () => v);
  return {
    startMs: 0,
    slotMs: HOUR_MS,
    slotCount,
    importPricePerKWh: fill(0.2),
    exportPricePerKWh: fill(0),
    baseLoadW: fill(0),
    pvW: fill(0),
    importLimitW: fill(100_000),
    demandChargePerKW: 0,
    peakSoFarW: 0,
    carbonPricePerKg: 0,
    unmetPenaltyPerKWh: 5,
    ...overrides,
  };
}

export function car(key: string, energyNeedWh: number, over: Partial<PlanSession> = {}): PlanSession {
  return { key, arrivalAtMs: 0, departureAtMs: 4 * HOUR_MS, energyNeedWh, maxPowerW: 11_000, priorityWeight: 1, ...over };
}
