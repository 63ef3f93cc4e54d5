// A car the plan holds at 0 A says when it will charge, why then, and when it will be ready: the
// outlook the state view adds per connector, and the words the dashboard makes of it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { whyText } from '../../dashboard/src/why-text.ts';
import { SiteTime } from '../../dashboard/src/format.ts';
import type { ConnectorView } from '../../dashboard/src/api-types.ts';
import type { PlanFigures, PlanSlotFigures } from '../../src/api/economics-source.ts';
import { PlanOutlooks } from '../../src/api/plan-outlook.ts';
import { referencePlanOutlook } from './plan-outlook-reference.ts';

const planOutlook = (plan: PlanFigures, inputs: PlanSlotFigures | undefined, key: string, atMs: number) => new PlanOutlooks(plan, inputs).at(key, atMs);

const SLOT_MS = 900_000;
// 2026-12-06 23:00 Berlin.
const START = Date.UTC(2026, 11, 6, 22, 0, 0);
const slots = 16;

function plan(powerW: number[], unmetWh = 0): PlanFigures {
  return {
    startMs: START,
    slotMs: SLOT_MS,
    slotCount: slots,
    status: 'optimal',
    sessions: [{ key: 'CP1/1', steer: true, powerW, plannedWh: powerW.reduce((s, w) => s + w / 4, 0), unmetWh }],
    gridW: new Array(slots).fill(0),
    batteryW: [],
    peakW: 11_000,
    energyCost: 0,
    demandCharge: 0,
    unmetPenalty: 0,
    overloadWh: 0,
  };
}
// Expensive until 00:00, cheap from 00:00 (slot 4) on.
const inputs: PlanSlotFigures = {
  importPricePerKWh: Array.from({ length: slots }, (_, t) => (t < 4 ? 0.34 : 0.12)),
  pvW: new Array(slots).fill(0),
  importLimitW: new Array(slots).fill(50_000),
};
// Charges 11 kW in slots 4–7 (00:00–01:00 Berlin).
const deferred = Array.from({ length: slots }, (_, t) => (t >= 4 && t < 8 ? 11_000 : 0));

describe('plan outlook', () => {
  it('says from when the plan charges a car held now, why then, and when it is ready', () => {
    const o = planOutlook(plan(deferred), inputs, 'CP1/1', START + 60_000);
    expect(o).toEqual({ chargesFromMs: START + 4 * SLOT_MS, readyByMs: START + 8 * SLOT_MS, shortWh: 0, because: 'cheaper' });
  });

  it('has no ready time when the plan falls short, and no outlook for a car it does not know', () => {
    expect(planOutlook(plan(deferred, 4_000), inputs, 'CP1/1', START)).toMatchObject({ readyByMs: null, shortWh: 4_000 });
    expect(planOutlook(plan(deferred), inputs, 'CP9/1', START)).toBeUndefined();
    expect(planOutlook(plan(deferred), inputs, 'CP1/1', START + slots * SLOT_MS)).toBeUndefined();
  });

  it('names the sun when the later slots are not cheaper but have PV', () => {
    const sunny = { ...inputs, importPricePerKWh: new Array(slots).fill(0.3), pvW: Array.from({ length: slots }, (_, t) => (t >= 4 ? 8_000 : 0)) };
    expect(planOutlook(plan(deferred), sunny, 'CP1/1', START)?.because).toBe('solar');
  });
});

describe('plan outlooks walked once per plan', () => {
  const power = fc.constantFrom(0, 10, 49.9, 50, 3_000, 11_000, Number.NaN);
  const arbPlan = fc.record({
    slotMs: fc.constantFrom(SLOT_MS, SLOT_MS, 1_800_000, 0, -SLOT_MS),
    slotCount: fc.integer({ min: 0, max: 24 }),
    sessions: fc.array(
      fc.record({ key: fc.constantFrom('CP1/1', 'CP1/2', 'CP2/1', 'CP3/1'), powerW: fc.array(power, { maxLength: 30 }), unmetWh: fc.constantFrom(0, 99, 100, 4_000.4, -5) }),
      { maxLength: 6 },
    ),
  });
  const price = fc.constantFrom(0.1, 0.3, 0.3 - 1e-10, Number.NaN, Number.POSITIVE_INFINITY);
  const arbInputs = fc.option(fc.record({ importPricePerKWh: fc.array(price, { maxLength: 30 }), pvW: fc.array(fc.constantFrom(0, 40, 60, 8_000), { maxLength: 30 }) }), { nil: undefined });

  it('give the outlook the per-request walk gave, for every key and instant (property, 2,000 plans)', () => {
    fc.assert(
      fc.property(arbPlan, arbInputs, fc.array(fc.oneof(fc.integer({ min: -3 * SLOT_MS, max: 32 * SLOT_MS }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 8 }), (p, i, offsets) => {
        const figures: PlanFigures = { ...plan([]), slotMs: p.slotMs, slotCount: p.slotCount, sessions: p.sessions.map((s) => ({ ...s, steer: true, plannedWh: 0 })) };
        const inputsFigures = i && { ...i, importLimitW: [] };
        const outlooks = new PlanOutlooks(figures, inputsFigures);
        for (const key of ['CP1/1', 'CP1/2', 'CP2/1', 'CP3/1', 'CP9/1'])
          for (const offset of offsets) expect(outlooks.at(key, START + offset)).toEqual(referencePlanOutlook(figures, inputsFigures, key, START + offset));
      }),
      { seed: 20261207, numRuns: 2_000 },
    );
  });
});

describe('why a car is at 0 A, on the card', () => {
  const time = new SiteTime('Europe/Berlin');
  const view = (over: Partial<ConnectorView>): ConnectorView => ({
    chargerId: 'CP1',
    connectorId: 1,
    status: 'SuspendedEVSE',
    capA: 0,
    drawA: 0,
    phases: 3,
    reason: 'planner target 0 kW is below the 6 A minimum',
    reasonKind: 'plan',
    session: { idTag: 'BUS12', tier: 'fleet', startedAt: null, departure: null, energyWh: 0, energyNeedWh: 10_000, soc: null, paused: false },
    plan: { chargesFrom: new Date(START + 4 * SLOT_MS).toISOString(), readyBy: new Date(START + 8 * SLOT_MS).toISOString(), shortWh: 0, because: 'cheaper' },
    ...over,
  });

  it('says the car waits for cheaper hours and when it will be ready', () => {
    expect(whyText(view({}), START, time)).toBe('Waiting for cheaper hours from Mon 00:00; ready by Mon 01:00 (planner target 0 kW is below the 6 A minimum)');
  });

  it('says what the plan leaves short, and keeps the plain reason for a car not held by the plan', () => {
    expect(whyText(view({ plan: { chargesFrom: new Date(START + 4 * SLOT_MS).toISOString(), readyBy: null, shortWh: 4_000, because: null } }), START, time)).toBe(
      'Waiting for its planned hours from Mon 00:00; 4.0 kWh short of its need at the end of the plan (planner target 0 kW is below the 6 A minimum)',
    );
    expect(whyText(view({ capA: 16, reason: 'planner target 11 kW' }), START, time)).toBe('planner target 11 kW');
    expect(whyText(view({ reasonKind: 'scarcity', reason: 'waiting for capacity; priority 3 of 4' }), START, time)).toBe('waiting for capacity; priority 3 of 4');
  });
});
