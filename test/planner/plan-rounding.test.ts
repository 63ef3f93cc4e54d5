import { describe, expect, it } from 'vitest';
import { roundTargets, type TargetRequest } from '../../optimizer/plan-rounding.ts';

const req = (key: string, targetW: number, over: Partial<TargetRequest> = {}): TargetRequest => ({
  key,
  targetW,
  minPowerW: 4_140,
  remainingWh: 10_000,
  timeLeftMs: 8 * 3_600_000,
  deliverableLaterWh: 80_000,
  slotLeftMs: 900_000,
  ...over,
});

describe('rounding planned power to what cars can follow', () => {
  it('passes targets at or above the minimum through unchanged', () => {
    expect(Object.fromEntries(roundTargets([req('a', 7_000), req('b', 4_140)]))).toEqual({ a: 7_000, b: 4_140 });
  });

  it('pools small targets: as many cars run at their minimum as the pooled power pays for, most urgent first', () => {
    // 4 cars planned at 2 kW each = 8 kW: two of them run at 4.14 kW, the two most urgent.
    const out = roundTargets([
      req('a', 2_000, { remainingWh: 5_000 }),
      req('b', 2_000, { remainingWh: 20_000 }),
      req('c', 2_000, { remainingWh: 15_000 }),
      req('d', 2_000, { remainingWh: 1_000 }),
    ]);
    expect(Object.fromEntries(out)).toEqual({ a: 0, b: 4_140, c: 4_140, d: 0 });
    const total = [...out.values()].reduce((s, w) => s + w, 0);
    expect(Math.abs(total - 8_000)).toBeLessThanOrEqual(4_140 / 2);
  });

  it('rounds a small target up to the minimum only with capacity the plan leaves unused or gave a lower priority', () => {
    // 19 A site (13.1 kW): the plan gives one car 11.04 kW and the other 2.07 kW, half its minimum.
    // With no unused capacity, lifting the second to 4.14 kW would take 2.07 kW from the first.
    expect(Object.fromEntries(roundTargets([req('a', 11_040), req('b', 2_070)], 0))).toEqual({ a: 11_040, b: 0 });
    // With 2.07 kW unused in the slot, it may.
    expect(Object.fromEntries(roundTargets([req('a', 11_040), req('b', 2_070)], 2_070))).toEqual({ a: 11_040, b: 4_140 });
    // From a car of a lower priority it may: decide() serves the higher priority's minimum first.
    expect(Object.fromEntries(roundTargets([req('a', 11_040, { priorityWeight: 1 }), req('b', 2_070, { priorityWeight: 8 })], 0))).toEqual({ a: 11_040, b: 4_140 });
    expect(Object.fromEntries(roundTargets([req('a', 11_040, { priorityWeight: 8 }), req('b', 2_070, { priorityWeight: 1 })], 0))).toEqual({ a: 11_040, b: 0 });
    // A pool that pays the whole minimum needs no slack.
    expect(Object.fromEntries(roundTargets([req('b', 2_070), req('c', 2_070, { remainingWh: 1_000 })], 0))).toEqual({ b: 4_140, c: 0 });
  });

  it('runs a car that could not finish if it skipped this slot, at the rate it needs', () => {
    // 3 kWh left, 15 min in this slot, only 1 kWh deliverable afterwards: needs 8 kW now.
    const out = roundTargets([req('late', 1_000, { remainingWh: 3_000, deliverableLaterWh: 1_000 })]);
    expect(out.get('late')).toBeCloseTo(8_000, 6);
  });

  it('does not lift a car the plan chose to short back to its minimum', () => {
    // 3 kWh left and only 1 kWh deliverable after this slot, but the plan gives it nothing more:
    // it stays at 0, the capacity stays with the cars the plan serves.
    const out = roundTargets([req('shorted', 0, { remainingWh: 3_000, deliverableLaterWh: 1_000, plannedWh: 0 }), req('served', 11_000)]);
    expect(out.get('shorted')).toBe(0);
    expect(out.get('served')).toBe(11_000);
    // Planned 2.5 kWh of the 3: it must draw what the plan needs now, not what it wants.
    expect(roundTargets([req('part', 1_000, { remainingWh: 3_000, deliverableLaterWh: 1_000, plannedWh: 2_500 })]).get('part')).toBeCloseTo(6_000, 6);
  });

  it('treats negligible targets as "not now"', () => {
    expect(roundTargets([req('a', 10)]).get('a')).toBe(0);
  });
});
