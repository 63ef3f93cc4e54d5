import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, params, plugged, reasonOf, session, snapshot, T0 } from './scenario.ts';

const site = params({
  grid: { maxCurrentA: 100, safetyMargin: 0, metered: true },
  circuit: circuit('main', 100, ['D'], [circuit('row', 15, ['A', 'B', 'C'])]),
  chargers: [charger('A', 'row'), charger('B', 'row'), charger('C', 'row'), charger('D', 'main')],
  failsafeCurrentA: 6,
  staleAfterMs: 10_000,
});
const cars = [plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 - 1000 })), plugged('C', session('c', { startedAtMs: T0 })), plugged('D', null)];

describe('failsafe', () => {
  it('gives each car the failsafe current while the static limits hold, the rest 0, idle connectors 0', () => {
    const decision = decide(snapshot(cars, { grid: { atMs: T0 - 12_000, currentA: [10, 10, 10], powerW: 6900 } }), site);
    expect(decision.failsafe).toBe(true);
    // row is 15 A: two cars at 6 A fit, the third does not.
    expect(capsOf(decision)).toEqual({ A: 6, B: 6, C: 0, D: 0 });
    expect(reasonOf(decision, 'A')).toBe('failsafe: grid meter stale for 12 s; 6 A per car');
    expect(reasonOf(decision, 'C')).toBe('failsafe: grid meter stale for 12 s; no static room left: circuit row L1 limit 15 A shared by 3 cars; priority 3 of 3');
    expect(reasonOf(decision, 'D')).toBe('failsafe: grid meter stale for 12 s; idle connectors held at 0 A');
  });

  it('applies when the grid meter never answered or sends numbers that are not numbers', () => {
    expect(decide(snapshot(cars, { grid: null }), site)).toMatchObject({ failsafe: true });
    const nan = decide(snapshot(cars, { grid: { atMs: T0, currentA: [Number.NaN, 1, 1], powerW: 0 } }), site);
    expect(nan.failsafe).toBe(true);
    expect(reasonOf(nan, 'A')).toBe('failsafe: grid meter reading is not a number; 6 A per car');
  });

  it('recovers as soon as a fresh reading arrives', () => {
    const stale = decide(snapshot(cars, { grid: null }), site);
    const fresh = decide(snapshot(cars, { grid: { atMs: T0 - 9_000, currentA: [10, 10, 10], powerW: 6900 } }), site, stale.nextState);
    expect(fresh.failsafe).toBe(false);
    expect(capsOf(fresh)).toEqual({ A: 9, B: 6, C: 0, D: 32 });
  });

  it('gives 0 when the failsafe current is below a charger’s minimum', () => {
    const decision = decide(snapshot(cars, { grid: null }), { ...site, failsafeCurrentA: 4 });
    expect(capsOf(decision)).toEqual({ A: 0, B: 0, C: 0, D: 0 });
    expect(reasonOf(decision, 'A')).toBe("failsafe: no grid meter reading; the failsafe current is below this charger's 6 A minimum");
  });

  it('still pauses what the operator paused', () => {
    const paused = [plugged('A', session('a', { paused: true })), ...cars.slice(1)];
    const decision = decide(snapshot(paused, { grid: null }), site);
    expect(decision.caps[0]).toMatchObject({ currentA: 0, reason: { kind: 'paused' } });
    expect(capsOf(decision)).toMatchObject({ B: 6, C: 6 });
  });

  it('never applies to a site balanced statically without a meter', () => {
    const decision = decide(snapshot(cars, { grid: null }), { ...site, grid: { ...site.grid, metered: false } });
    expect(decision.failsafe).toBe(false);
  });
});
