import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import type { CapReason, SessionSnapshot } from '../../optimizer/index.ts';
import { charger, circuit, params, plugged, session, snapshot } from './scenario.ts';

const p = params({ circuit: circuit('main', 400, [], [circuit('row-a', 100, ['A'])]), chargers: [charger('A', 'row-a')] });
const reasonFor = (overrides: Partial<SessionSnapshot>): { currentA: number; reason: CapReason } => {
  const cap = decide(snapshot([plugged('A', session('a', overrides))]), p).caps[0];
  return { currentA: cap.currentA, reason: cap.reason };
};

describe('reasons', () => {
  it.each<[string, Partial<SessionSnapshot>, number, CapReason]>([
    ['the charger’s own maximum', {}, 32, { kind: 'charger', text: 'charger max 32 A' }],
    ['the car’s maximum', { carMaxCurrentA: 16 }, 16, { kind: 'car', text: 'car max 16 A' }],
    ['the planner’s target power', { targetPowerW: 7400 }, 10.7, { kind: 'plan', text: 'planner target 7.4 kW' }],
    ['a planner target below the minimum', { targetPowerW: 3000 }, 0, { kind: 'plan', text: 'planner target 3 kW is below the 6 A minimum' }],
    ['an operator pause', { paused: true }, 0, { kind: 'paused', text: 'paused by operator' }],
  ])('names %s when that is what bound the cap', (_what, overrides, currentA, reason) => {
    expect(reasonFor(overrides)).toEqual({ currentA, reason });
  });

  it('counts the cars sharing a circuit and the car’s place among them', () => {
    const site = params({
      circuit: circuit('main', 400, [], [circuit('row-a', 63, ['A', 'B', 'C', 'D']), circuit('row-b', 63, ['E'])]),
      chargers: [charger('A', 'row-a'), charger('B', 'row-a', { phases: 1, phaseRotation: 'L2L3L1' }), charger('C', 'row-a'), charger('D', 'row-a'), charger('E', 'row-b')],
    });
    const cars = ['A', 'B', 'C', 'D', 'E'].map((id, i) => plugged(id, session(id, { startedAtMs: 1_000 * i })));
    const decision = decide(snapshot(cars), site);
    expect(decision.caps.map((c) => [c.chargerId, c.currentA, c.rank, c.reason.text])).toEqual([
      ['A', 32, 1, 'charger max 32 A'],
      // B is single-phase on site L2, the phase every car in row-a loads.
      ['B', 19, 2, 'circuit row-a L2 limit 63 A shared by 4 cars; priority 2 of 4'],
      ['C', 6, 3, 'circuit row-a L2 limit 63 A shared by 4 cars; priority 3 of 4'],
      ['D', 6, 4, 'circuit row-a L2 limit 63 A shared by 4 cars; priority 4 of 4'],
      ['E', 32, 5, 'charger max 32 A'],
    ]);
  });
});
