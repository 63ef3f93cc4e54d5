// The plan's targets as ceilings for the control loop (src/planner/plan-ceilings.ts).
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { SiteSnapshot } from '../../optimizer/types.ts';
import { PlanCeilings } from '../../src/planner/plan-ceilings.ts';

const SLOT_MS = 15 * 60_000;
const T0 = 1_800_000_000_000;

describe('plan ceilings near a departure', () => {
  it('count on no more power later than the plan assumes the car can take (found: 1 kWh short at a depot departure)', () => {
    // A 22 kW charger, a car of unknown max that the plan assumes at 11 kW. 1.78 kWh still to go,
    // 22 min to departure, the plan's slot average now is 1.5 kW (below half the 4.14 kW minimum, so not pooled up). After
    // this slot 7 min remain: 1.29 kWh at 11 kW, not the 2.58 kWh the charger's 22 kW would give,
    // so the car must charge now (at least its minimum), not wait.
    const plan: Plan = {
      startMs: T0, slotMs: SLOT_MS, slotCount: 2, status: 'optimal',
      sessions: [{ key: 'D10/1', steer: true, maxPowerW: 11_040, powerW: [1_500, 5_600], plannedWh: 1_775, unmetWh: 0 }],
      gridW: [0, 0], batteryW: [], peakW: 0, energyCost: 0, demandCharge: 0, unmetPenalty: 0, objective: 0, overloadWh: 0,
    };
    const ceilings = new PlanCeilings(() => ({ minPowerW: 6 * 690, maxPowerW: 32 * 690, voltsTimesPhases: 690 }));
    ceilings.setPlan(plan);
    const snapshot: SiteSnapshot = {
      atMs: T0,
      grid: null,
      circuitLoads: [],
      signals: {},
      connectors: [{
        chargerId: 'D10', connectorId: 1, status: 'Charging', drawA: [0, 0, 0],
        session: { id: 'v10', startedAtMs: T0 - 10 * 3_600_000, departureAtMs: T0 + 22 * 60_000, energyWh: 56_067, energyNeedWh: 57_849, tierRank: 0, paused: false },
      }],
    };
    expect(ceilings.ceilingsW(snapshot).get('D10/1')).toBeGreaterThanOrEqual(6 * 690);
  });
});
