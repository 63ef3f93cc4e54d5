// A floor from the plan (issue #11): decide() fills every car up to the plan's own target before
// any car gets more than its own. On the public hub (seed 3, shift 7) a car the plan gave 4.6–10.8 kW
// sat at 6 A for 25 minutes: fcfs ranked it last, and earlier cars lifted above their plan (the
// planner lifts a car it runs flat out and still cannot fill) took the fuse first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { Plan } from '../../optimizer/plan-types.ts';
import type { PriorityScheme, SiteSnapshot } from '../../optimizer/types.ts';
import { controlStep, initialControlMemory } from '../../src/control/control-step.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { PlanCeilings } from '../../src/planner/plan-ceilings.ts';
import { arbSite } from '../optimizer/arb-site.ts';
import { violations } from '../optimizer/site-model.ts';
import { capsOf, charger, circuit, params, plugged, session, snapshot, T0 } from '../optimizer/scenario.ts';

const V3 = 3 * 230;
const SLOT_MS = 15 * 60_000;

// Four cars on a 100 A fuse with 30 A of building (65 A for cars after the 5 % margin). H1 came
// first and tapers: the plan gives it 1.2 A of what it still wants, runs it flat out and still
// cannot fill it, so the planner lifts it to the charger's max (it draws what its cap allows). The
// plan gives H2, H3 and H4 15 A each.
describe('a car lifted above its plan, first come, first served', () => {
  const config = configSchema.parse({
    site: { timezone: 'Europe/Berlin' },
    grid: { maxCurrent: 100, meter: 'grid' },
    devices: [{ id: 'grid', role: 'grid-meter', driver: 'simulated' }],
    chargers: ['H1', 'H2', 'H3', 'H4'].map((id) => ({ id, maxCurrent: 32, minCurrent: 6, phases: 3 })),
    control: { priority: 'fcfs' },
  });
  const siteParams = decideParamsFromConfig(config);
  const buildingA = 30;
  const cars = [
    { id: 'H1', capA: 12.5, drawA: 12, plannedA: 1.2, needWh: 4_000, leavesInMin: 45 },
    { id: 'H2', capA: 6, drawA: 6, plannedA: 15, needWh: 15_000, leavesInMin: 120 },
    { id: 'H3', capA: 6, drawA: 6, plannedA: 15, needWh: 15_000, leavesInMin: 120 },
    { id: 'H4', capA: 6, drawA: 6, plannedA: 15, needWh: 15_000, leavesInMin: 120 },
  ];
  const plan: Plan = {
    startMs: T0, slotMs: SLOT_MS, slotCount: 8, status: 'optimal',
    sessions: cars.map((c) => {
      const slots = Math.ceil((c.leavesInMin * 60_000) / SLOT_MS);
      const powerW = Array.from({ length: 8 }, (_, t) => (t < slots ? c.plannedA * V3 : 0));
      const plannedWh = (c.plannedA * V3 * c.leavesInMin) / 60;
      return { key: `${c.id}/1`, steer: true, maxPowerW: c.id === 'H1' ? c.plannedA * V3 : 11_040, powerW, plannedWh, unmetWh: Math.max(0, c.needWh - plannedWh) };
    }),
    gridW: [], batteryW: [], peakW: 0, energyCost: 0, demandCharge: 0, unmetPenalty: 0, objective: 0, overloadWh: 0,
  };
  const drawA = cars.reduce((sum, c) => sum + c.drawA, 0);
  const site: SiteSnapshot = {
    atMs: T0 + 60_000,
    grid: { atMs: T0 + 59_000, currentA: [buildingA + drawA, buildingA + drawA, buildingA + drawA], powerW: (buildingA + drawA) * V3 },
    circuitLoads: [],
    signals: {},
    connectors: cars.map((c, i) => ({
      chargerId: c.id, connectorId: 1, status: 'Charging' as const, drawA: [c.drawA, c.drawA, c.drawA] as [number, number, number], drawAtMs: T0 + 59_000, installedCapA: c.capA,
      session: { id: c.id, startedAtMs: T0 - (4 - i) * 3_600_000, departureAtMs: T0 + c.leavesInMin * 60_000, energyWh: 10_000, energyNeedWh: 10_000 + c.needWh, tierRank: 0, paused: false },
    })),
  };

  it('gives every later car its plan target before the lifted car gets more (old: H3 and H4 held at 6 A, H1 at 32 A)', () => {
    const ceilings = new PlanCeilings(() => ({ minPowerW: 6 * V3, maxPowerW: 32 * V3, voltsTimesPhases: V3 }));
    ceilings.setPlan(plan);
    const ceilingsW = ceilings.ceilingsW(site);
    expect(ceilingsW.get('H1/1')).toBe(32 * V3); // lifted to the charger's max
    const floorsW = ceilings.floorsW();
    expect(floorsW.get('H1/1')).toBeLessThan(32 * V3); // its own target is what the plan gave it
    const decision = controlStep({ snapshot: site, params: siteParams, memory: initialControlMemory, ceilingsW: [ceilingsW], floorsW }).decision;
    const capA = (id: string) => decision.caps.find((c) => c.chargerId === id)!.currentA;
    for (const id of ['H2', 'H3', 'H4']) expect(capA(id)).toBeGreaterThanOrEqual(15);
    // The lifted car still gets what is left: 65 A less 3 × 15 A.
    expect(capA('H1')).toBeGreaterThanOrEqual(19);
    expect(capA('H1') + 3 * 15).toBeLessThanOrEqual(65 + 1e-9);
  });
});

// Hand-computed in decide(): 40 A; A came first, the plan gives it 10 A and the planner lifted it to
// 32 A; B's plan (and ceiling) is 16 A. Without the floor A takes 32 A and B keeps 8 A.
describe('the plan floor in decide()', () => {
  const siteParams = (priority: PriorityScheme) => params({ priority, circuit: circuit('main', 40, ['A', 'B', 'C']), chargers: ['A', 'B', 'C'].map((id) => charger(id, 'main')) });
  const cars = (b: { tierRank?: number; targetA?: number } = {}, c?: { targetPowerW: number; planFloorPowerW: number }) =>
    snapshot([
      plugged('A', session('a', { startedAtMs: T0 - 3_600_000, targetPowerW: 32 * V3, planFloorPowerW: 10 * V3, tierRank: 2 })),
      plugged('B', session('b', { startedAtMs: T0 - 1_800_000, targetPowerW: (b.targetA ?? 16) * V3, planFloorPowerW: (b.targetA ?? 16) * V3, tierRank: b.tierRank ?? 2 })),
      plugged('C', c ? session('c', { startedAtMs: T0 - 600_000, ...c }) : null),
    ]);

  // equal: B's plan is 26 A; an even split would give both 20 A.
  it.each<[PriorityScheme, number, number, number]>([
    ['fcfs', 16, 24, 16],
    ['departure', 16, 24, 16],
    ['equal', 26, 14, 26],
  ])('under %s, the later car gets its plan target (%s A) first, the lifted car the rest', (scheme, targetA, a, b) => {
    const caps = capsOf(decide(cars({ targetA }), siteParams(scheme), initialDecideState));
    expect(caps.A).toBe(a);
    expect(caps.B).toBe(b);
  });

  it('under tier, a higher tier lifted above its plan still comes before a lower tier (tiers stay strict)', () => {
    const caps = capsOf(decide(cars({ tierRank: 1 }), siteParams('tier'), initialDecideState));
    expect(caps.A).toBe(32);
    expect(caps.B).toBe(8);
  });

  it('does not lift a car the plan shorts below its minimum back to it, whatever room is left', () => {
    // C's plan is 3 kW (4.3 A, under its 6 A minimum): 0 A, though 6 A would fit beside A and B.
    const decision = decide(cars({}, { targetPowerW: 3_000, planFloorPowerW: 3_000 }), params({ priority: 'fcfs', circuit: circuit('main', 60, ['A', 'B', 'C']), chargers: ['A', 'B', 'C'].map((id) => charger(id, 'main')) }), initialDecideState);
    const caps = capsOf(decision);
    expect(caps.C).toBe(0);
    expect(caps.B).toBe(16);
    expect(caps.A).toBe(32);
  });

  it('keeps every limit and every cap at 0 or within the car’s min and max, whatever the floors', () => {
    fc.assert(
      fc.property(arbSite(), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 16, maxLength: 16 }), ({ snapshot: s, params: p }, fractions) => {
        const floored: SiteSnapshot = {
          ...s,
          connectors: s.connectors.map((c, i) => (c.session ? { ...c, session: { ...c.session, planFloorPowerW: fractions[i % 16]! * (c.session.targetPowerW ?? 22_000) } } : c)),
        };
        const decision = decide(floored, p, initialDecideState);
        expect(violations(floored, p, decision.caps, true)).toEqual([]);
        for (const cap of decision.caps) {
          const min = p.chargers.find((c) => c.id === cap.chargerId)?.minCurrentA ?? 0;
          if (cap.currentA > 0) expect(cap.currentA).toBeGreaterThanOrEqual(min - 1e-9);
        }
      }),
      { numRuns: 150 },
    );
  });
});
