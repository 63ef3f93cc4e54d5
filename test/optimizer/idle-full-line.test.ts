// An idle connector's "no room for a car plugging in: ... is full" names the site lines that are
// full, after each charger's phase rotation, and every one of them when a circuit is full on more
// than one (session 14 saw "row-b L1 ... is full" while L2 was the full line; session 15's snapshots
// of the live demo, ~3,800 such reasons at x10 and x60, named the line full in the EMS's own
// accounting every time, and L1 whenever three-phase cars had filled all three lines alike).
import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import { charger, circuit, params, plugged, reasonOf, session, snapshot, T0 } from './scenario.ts';

const row = (chargers: ReturnType<typeof charger>[]) =>
  params({ grid: { maxCurrentA: 400, safetyMargin: 0, metered: false }, circuit: circuit('main', 400, [], [circuit('row', 36, chargers.map((c) => c.id))]), chargers });

describe('an idle connector that has no room', () => {
  it('names the site line a rotated charger\'s single-phase car fills, not the charger\'s own L1', () => {
    // A is wired L3L1L2: its car draws on the charger's L1, which is the site's L3.
    const p = row([charger('A', 'row', { phaseRotation: 'L3L1L2' }), charger('B', 'row')]);
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [32, 0, 0], drawAtMs: T0 }), plugged('B', null)]), p);
    expect(decision.caps[0]).toMatchObject({ currentA: 32, phases: 1 });
    expect(reasonOf(decision, 'B')).toBe('no room for a car plugging in: circuit row L3 limit 36 A is full');
  });

  it('names the site line a single-phase charger is wired to', () => {
    // C is a single-phase wallbox on the site's L2 (its L1 wired to L2, as the demo's CP007).
    const p = row([charger('A', 'row'), charger('C', 'row', { phases: 1, phaseRotation: 'L2L3L1' })]);
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [32, 32, 32], drawAtMs: T0 }), plugged('C', null)]), p);
    expect(reasonOf(decision, 'C')).toBe('no room for a car plugging in: circuit row L2 limit 36 A is full');
  });

  it('names every line when a three-phase car has filled them all alike', () => {
    const p = row([charger('A', 'row', { phaseRotation: 'L2L3L1' }), charger('B', 'row', { phaseRotation: 'L3L1L2' })]);
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [32, 32, 32], drawAtMs: T0 }), plugged('B', null)]), p);
    expect(reasonOf(decision, 'B')).toBe('no room for a car plugging in: circuit row limit 36 A is full on L1, L2 and L3');
  });
});
