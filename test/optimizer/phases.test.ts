import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, params, plugged, session, snapshot } from './scenario.ts';

describe('phase mapping', () => {
  it('puts a single-phase charger on the site phase its rotation maps L1 to', () => {
    // 'L2L3L1': charger L1 is site L2. Site L2 has 30 A of building load, L1 and L3 none.
    const p = params({
      grid: { maxCurrentA: 40, safetyMargin: 0, metered: true },
      circuit: circuit('main', 40, ['X', 'Y']),
      chargers: [charger('X', 'main', { phases: 1, phaseRotation: 'L2L3L1' }), charger('Y', 'main', { phases: 1, phaseRotation: 'L1L2L3' })],
    });
    const decision = decide(snapshot([plugged('X', session('x')), plugged('Y', session('y'))], { grid: { atMs: snapshot([]).atMs, currentA: [0, 30, 0], powerW: 6900 } }), p);
    expect(capsOf(decision)).toEqual({ X: 10, Y: 32 });
    expect(decision.caps.map((c) => c.phases)).toEqual([1, 1]);
    expect(decision.caps[0].reason).toMatchObject({ kind: 'circuit', circuitId: '@grid', phase: 'L2' });
  });

  it('lets three single-phase cars on rotated chargers each take a full phase of a 32 A circuit', () => {
    const p = params({
      circuit: circuit('main', 400, [], [circuit('row', 32, ['A', 'B', 'C'])]),
      chargers: [
        charger('A', 'row', { phases: 1, phaseRotation: 'L1L2L3' }),
        charger('B', 'row', { phases: 1, phaseRotation: 'L2L3L1' }),
        charger('C', 'row', { phases: 1, phaseRotation: 'L3L1L2' }),
      ],
    });
    expect(capsOf(decide(snapshot([plugged('A', session('a')), plugged('B', session('b')), plugged('C', session('c'))]), p))).toEqual({ A: 32, B: 32, C: 32 });
  });

  it('counts a single-phase car on a three-phase charger on one phase only', () => {
    const p = params({
      circuit: circuit('main', 400, [], [circuit('row', 32, ['A', 'B'])]),
      chargers: [charger('A', 'row', { phaseRotation: 'L1L2L3' }), charger('B', 'row', { phaseRotation: 'L2L3L1' })],
    });
    const decision = decide(snapshot([plugged('A', session('a', { carPhases: 1 })), plugged('B', session('b', { carPhases: 1 }))]), p);
    expect(capsOf(decision)).toEqual({ A: 32, B: 32 });
    expect(decision.caps.map((c) => c.phases)).toEqual([1, 1]);
  });

  it('detects a single-phase car from its measured draw and maps the phase it draws on', () => {
    // Charger A draws on its L1 only; rotation L3L1L2 puts that on site L3, which is nearly full.
    const p = params({
      grid: { maxCurrentA: 50, safetyMargin: 0, metered: true },
      circuit: circuit('main', 50, ['A']),
      chargers: [charger('A', 'main', { phaseRotation: 'L3L1L2' })],
    });
    const grid = { atMs: snapshot([]).atMs, currentA: [0, 0, 56] as const, powerW: 12_880 };
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [16, 0.2, 0], drawAtMs: grid.atMs })], { grid }), p);
    // Building on L3 = 56 − 16 (the car) = 40, so 10 A are left on L3.
    expect(decision.caps[0]).toMatchObject({ currentA: 10, phases: 1 });
    expect(decision.caps[0].reason).toMatchObject({ kind: 'circuit', phase: 'L3' });
  });

  it('treats a car drawing on all three phases as three-phase', () => {
    const p = params({ circuit: circuit('main', 400, [], [circuit('row', 32, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')] });
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [10, 10, 10] }), plugged('B', session('b'))]), p);
    expect(capsOf(decision)).toEqual({ A: 26, B: 6 });
  });
});
