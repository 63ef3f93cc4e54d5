// The headroom-use oracle (ideal-share.ts) fills pilots, not draws: a car that wants less than the
// 6 A minimum still needs a 6 A pilot, and the caps must leave room for it.
import { describe, expect, it } from 'vitest';
import type { ConnectorTruth, PlantScenario, PlantTruth, Triple } from '../../plant/index.ts';
import { idealEvA } from './ideal-share.ts';

const ROW_A = 40;

function site(cars: { wantA: number }[], buildingA: number): { scenario: PlantScenario; truth: PlantTruth } {
  const ids = cars.map((_, i) => `CP${i + 1}`);
  const scenario = {
    name: 'ideal share',
    seed: 1,
    startAtMs: 0,
    utcOffsetH: 0,
    durationMs: 1_000,
    voltageV: 230,
    circuit: { id: 'site', maxCurrentA: ROW_A, chargerIds: ids, children: [] },
    loads: [],
    meters: [],
    chargers: ids.map((id) => ({ id, connectors: 1, maxCurrentA: 32, phases: 3 as const, phaseRotation: 'L1L2L3' as const, answerDelayMs: 0, applyDelayMs: 0, meterValuesPeriodMs: 10_000, profiles: 'obeys' as const })),
    cars: ids.map((id, i) => ({ id: `car-${i + 1}`, chargerId: id, connectorId: 1, arriveAtMs: 0, maxCurrentA: 32, phases: 3 as const, wholeAmps: false })),
    signals: [],
  } as unknown as PlantScenario;
  const building: Triple = [buildingA, buildingA, buildingA];
  const connectors: ConnectorTruth[] = cars.map((car, i) => ({ chargerId: ids[i]!, connectorId: 1, carId: `car-${i + 1}`, transactionId: i + 1, pilotA: 0, drawSiteA: [0, 0, 0], drawA: 0, wantA: car.wantA, carPhases: 3, status: 'Charging' }));
  const truth = { atMs: 0, nodeA: new Map([['site', building]]), buildingA: new Map([['site', building]]), gridPowerW: 0, pvPowerW: 0, batteryPowerW: 0, connectors } as PlantTruth;
  return { scenario, truth };
}

describe('the ideal share the headroom use is measured against', () => {
  it('gives a car that wants 3 A nothing when less than its 6 A minimum pilot is free', () => {
    // 40 A less 5 % is 38 A; 33.1 A of building leaves 4.9 A: a 6 A pilot does not fit.
    const { scenario, truth } = site([{ wantA: 3.2 }], 33.1);
    const { totalA, shareA } = idealEvA(scenario, truth, 0.05);
    expect(shareA.get('CP1/1')).toBe(0);
    expect(totalA).toBe(0);
  });

  it('counts 6 A of room for a car that wants 3 A, and what it draws', () => {
    // 38 A less 10 A of building: 28 A for two cars; the one that wants 3 A holds a 6 A pilot.
    const { scenario, truth } = site([{ wantA: 3 }, { wantA: 32 }], 10);
    const { totalA, shareA } = idealEvA(scenario, truth, 0.05);
    expect(shareA.get('CP1/1')).toBe(3);
    expect(shareA.get('CP2/1')).toBeCloseTo(22, 6);
    expect(totalA).toBeCloseTo((3 + 22) * 3, 6);
  });

  it('shares the room evenly among cars that want more than it', () => {
    const { scenario, truth } = site([{ wantA: 32 }, { wantA: 32 }], 10);
    const { shareA } = idealEvA(scenario, truth, 0.05);
    expect(shareA.get('CP1/1')).toBeCloseTo(14, 6);
    expect(shareA.get('CP2/1')).toBeCloseTo(14, 6);
  });
});
