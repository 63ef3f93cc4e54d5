import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, params, plugged, reasonOf, session, snapshot, T0 } from './scenario.ts';

const oneCar = (overrides: Parameters<typeof params>[0]) => params(overrides);

describe('site loads and limits', () => {
  it('counts the building load as grid current minus the measured EV draw', () => {
    const p = oneCar({ grid: { maxCurrentA: 100, safetyMargin: 0, metered: true }, circuit: circuit('main', 100, ['A']), chargers: [charger('A', 'main')] });
    const grid = { atMs: T0, currentA: [100, 95, 90] as const, powerW: 65_000 };
    // The car draws 30 A per phase: the building is 70 / 65 / 60 A, so L1 leaves 30 A.
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [30, 30, 30], drawAtMs: T0 })], { grid }), p);
    expect(capsOf(decision)).toEqual({ A: 30 });
    expect(decision.headroom.buildingA).toEqual([70, 65, 60]);
    // The root circuit has the connection point's limit: the reason names the site.
    expect(reasonOf(decision, 'A')).toBe('site limit 100 A on L1 shared by 1 car; priority 1 of 1');
  });

  it('never counts on PV export for fuse headroom', () => {
    const p = oneCar({ grid: { maxCurrentA: 20, safetyMargin: 0, metered: true }, circuit: circuit('main', 20, ['A']), chargers: [charger('A', 'main')] });
    const grid = { atMs: T0, currentA: [-30, -30, -30] as const, powerW: -20_700 };
    expect(capsOf(decide(snapshot([plugged('A', session('a'))], { grid }), p))).toEqual({ A: 20 });
  });

  it('keeps the safety margin of every limit in reserve', () => {
    const p = oneCar({ grid: { maxCurrentA: 400, safetyMargin: 0.1, metered: true }, circuit: circuit('main', 400, [], [circuit('row', 30, ['A'])]), chargers: [charger('A', 'row')] });
    const decision = decide(snapshot([plugged('A', session('a'))]), p);
    expect(capsOf(decision)).toEqual({ A: 27 });
    expect(reasonOf(decision, 'A')).toBe('circuit row L1 limit 30 A shared by 1 car; priority 1 of 1');
  });

  it('holds the import power cap with the measured building power', () => {
    const p = oneCar({ grid: { maxCurrentA: 400, maxImportPowerW: 20_000, safetyMargin: 0, metered: true }, circuit: circuit('main', 400, ['A']), chargers: [charger('A', 'main')] });
    const grid = { atMs: T0, currentA: [20, 20, 20] as const, powerW: 10_000 };
    const decision = decide(snapshot([plugged('A', session('a'))], { grid }), p);
    // 10 kW left for a three-phase car at 230 V: 10000 / 690 = 14.49 A, rounded down.
    expect(capsOf(decision)).toEqual({ A: 14.4 });
    expect(decision.caps[0].reason).toMatchObject({ kind: 'grid-power' });
    expect(reasonOf(decision, 'A')).toBe('grid import cap 20 kW shared by 1 car; priority 1 of 1');
  });

  it('applies a grid signal import limit when it is stricter than the configured cap', () => {
    const p = oneCar({ grid: { maxCurrentA: 400, maxImportPowerW: 50_000, safetyMargin: 0, metered: true }, circuit: circuit('main', 400, ['A', 'B']), chargers: [charger('A', 'main'), charger('B', 'main')] });
    const grid = { atMs: T0, currentA: [0, 0, 0] as const, powerW: 0 };
    const decision = decide(snapshot([plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 }))], { grid, signals: { importLimitW: 30_000 } }), p);
    // 30 kW = 43.4 A across three phases at 230 V: 32 A for A, 11.4 A for B.
    expect(capsOf(decision)).toEqual({ A: 32, B: 11.4 });
    expect(decision.caps[1].reason).toMatchObject({ kind: 'signal' });
    expect(reasonOf(decision, 'B')).toBe('grid signal import limit 30 kW shared by 2 cars; priority 2 of 2');
  });

  it('counts a submeter load against its circuit and every circuit above it', () => {
    const p = oneCar({
      circuit: circuit('main', 400, [], [circuit('feeder', 60, [], [circuit('row-a', 63, ['A']), circuit('row-b', 63, ['B'])])]),
      chargers: [charger('A', 'row-a'), charger('B', 'row-b')],
    });
    // row-a measures 45 A per phase of which car A draws 5: 40 A of other load on row-a and feeder.
    const connectors = [plugged('A', session('a'), { drawA: [5, 5, 5], drawAtMs: T0 }), plugged('B', session('b', { startedAtMs: T0 }))];
    const decision = decide(snapshot(connectors, { circuitLoads: [{ circuitId: 'row-a', atMs: T0, currentA: [45, 45, 45] }] }), p);
    // feeder has 20 A left: both minimums first, then A (first in priority) takes the rest.
    expect(capsOf(decision)).toEqual({ A: 14, B: 6 });
    expect(decision.caps[0].reason).toMatchObject({ kind: 'circuit', circuitId: 'feeder' });
    expect(decision.caps[1].reason).toMatchObject({ kind: 'circuit', circuitId: 'feeder' });
  });

  it('balances statically without a grid meter: no building load and no failsafe', () => {
    const p = oneCar({ grid: { maxCurrentA: 50, safetyMargin: 0, metered: false }, circuit: circuit('main', 50, ['A', 'B']), chargers: [charger('A', 'main'), charger('B', 'main')] });
    const decision = decide(snapshot([plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 }))], { grid: null }), p);
    expect(decision.failsafe).toBe(false);
    expect(capsOf(decision)).toEqual({ A: 32, B: 18 });
  });

  it('reserves a connector that ignores its profiles before sharing the rest', () => {
    const p = oneCar({ circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')] });
    // B came later but ignores profiles: it may draw 32 A whatever we decide.
    const decision = decide(snapshot([plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 }), { reservedA: 32 })]), p);
    expect(capsOf(decision)).toEqual({ A: 8, B: 32 });
  });

  it('does not undo a pending decrease while the old cap is still reserved', () => {
    const p = oneCar({ circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')] });
    const previous = { connectors: { 'B/1': { currentA: 8, changedAtMs: T0 - 1000, sessionId: 'b' } } };
    const decision = decide(snapshot([plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 }), { reservedA: 32 })]), p, previous);
    expect(decision.caps[1]).toMatchObject({ currentA: 8, reason: { kind: 'reserved' } });
    // A still only gets what the reservation leaves: the site never overshoots during the move.
    expect(decision.caps[0].currentA).toBe(8);
  });

  it('gives idle connectors the capacity left after every session, as the default for a car plugging in', () => {
    const p = oneCar({
      circuit: circuit('main', 400, [], [circuit('row', 50, ['A', 'B', 'C'])]),
      chargers: [charger('A', 'row'), charger('B', 'row'), charger('C', 'row')],
    });
    const decision = decide(snapshot([plugged('A', session('a')), plugged('B', null), plugged('C', null)]), p);
    // 18 A left: both idle connectors can hold their 6 A minimum, then share the rest evenly.
    expect(capsOf(decision)).toEqual({ A: 32, B: 9, C: 9 });
    expect(decision.caps[1].reason.kind).toBe('idle');
    expect(decision.caps[1].rank).toBeUndefined();
    const full = decide(snapshot([plugged('A', session('a')), plugged('B', session('b')), plugged('C', null)]), p);
    expect(full.caps[2]).toMatchObject({ currentA: 0, reason: { kind: 'idle', text: 'no room for a car plugging in: circuit row limit 50 A is full on L1, L2 and L3' } });
  });
});

describe('the connection point', () => {
  it('names the site limit when the grid connection is tighter than the root circuit', () => {
    const p = params({ grid: { maxCurrentA: 25, safetyMargin: 0, metered: true }, circuit: circuit('main', 400, ['A']), chargers: [charger('A', 'main')] });
    const decision = decide(snapshot([plugged('A', session('a'))]), p);
    expect(decision.caps[0]).toMatchObject({ currentA: 25, reason: { kind: 'circuit', circuitId: '@grid', phase: 'L1', text: 'site limit 25 A on L1 shared by 1 car; priority 1 of 1' } });
  });
});

describe('parameters that change between cycles', () => {
  it('uses a circuit limit changed in place at the next decision', () => {
    const row = circuit('row', 40, ['A']);
    const p = params({ grid: { maxCurrentA: 400, safetyMargin: 0, metered: true }, circuit: circuit('main', 400, [], [row]), chargers: [charger('A', 'row')] });
    expect(capsOf(decide(snapshot([plugged('A', session('a'))]), p))).toEqual({ A: 32 });
    (row as { maxCurrentA: number }).maxCurrentA = 20;
    expect(capsOf(decide(snapshot([plugged('A', session('a'))]), p))).toEqual({ A: 20 });
    const lowerGrid = { ...p, grid: { ...p.grid, maxCurrentA: 10 } };
    expect(capsOf(decide(snapshot([plugged('A', session('a'))]), lowerGrid))).toEqual({ A: 10 });
  });
});

describe('measured draw between two meter samples', () => {
  // One car on a 40 A site, drawing 30 A; the grid meter sees 30 A of EVs plus 5 A of building.
  const site = params({ circuit: circuit('root', 40, ['A']), chargers: [charger('A', 'root')], grid: { maxCurrentA: 40, safetyMargin: 0, metered: true } });
  const car = (drawAgeMs: number) =>
    snapshot([plugged('A', session('a'), { drawA: [30, 30, 30], drawAtMs: T0 - drawAgeMs })], {
      grid: { atMs: T0, currentA: [35, 35, 35], powerW: 35 * 230 * 3 },
    });

  it('keeps subtracting a draw sampled within drawStaleAfterMs, so the car keeps its cap', () => {
    const { caps } = decide(car(15_000), { ...site, drawStaleAfterMs: 25_000 });
    expect(caps[0]!.currentA).toBe(32);
  });

  it('counts a draw older than drawStaleAfterMs as building load (the safe side)', () => {
    const { caps } = decide(car(15_000), site);
    expect(caps[0]!.currentA).toBeLessThanOrEqual(6);
  });
});
