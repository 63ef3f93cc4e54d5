import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import type { PriorityScheme, SessionSnapshot } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, params, plugged, session, snapshot, T0 } from './scenario.ts';

const HOUR = 3_600_000;

/** Two 32 A three-phase chargers behind a 40 A circuit: only one can be filled. */
function twoCars(scheme: PriorityScheme, a: Partial<SessionSnapshot>, b: Partial<SessionSnapshot>): Record<string, number> {
  const p = params({
    priority: scheme,
    circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B'])]),
    chargers: [charger('A', 'row'), charger('B', 'row')],
  });
  return capsOf(decide(snapshot([plugged('A', session('a', a)), plugged('B', session('b', b))]), p));
}

describe('priority schemes under scarcity', () => {
  it.each<[string, PriorityScheme, Partial<SessionSnapshot>, Partial<SessionSnapshot>, Record<string, number>]>([
    ['fcfs: the earlier plug-in is filled first', 'fcfs', { startedAtMs: T0 - 2 * HOUR }, { startedAtMs: T0 - HOUR }, { A: 32, B: 8 }],
    ['fcfs: plug-in order, not charger order', 'fcfs', { startedAtMs: T0 - HOUR }, { startedAtMs: T0 - 2 * HOUR }, { A: 8, B: 32 }],
    ['departure: the car leaving sooner is filled first', 'departure', { startedAtMs: T0 - 2 * HOUR, departureAtMs: T0 + 8 * HOUR }, { departureAtMs: T0 + HOUR }, { A: 8, B: 32 }],
    ['departure: same departure, the car needing more energy has less laxity', 'departure', { departureAtMs: T0 + 4 * HOUR, energyNeedWh: 10_000 }, { startedAtMs: T0, departureAtMs: T0 + 4 * HOUR, energyNeedWh: 60_000 }, { A: 8, B: 32 }],
    ['departure: a car that charges slower has less laxity for the same need', 'departure', { startedAtMs: T0, departureAtMs: T0 + 4 * HOUR, energyNeedWh: 20_000, carMaxCurrentA: 10 }, { startedAtMs: T0 - 2 * HOUR, departureAtMs: T0 + 4 * HOUR, energyNeedWh: 20_000 }, { A: 10, B: 30 }],
    ['departure: a session without departure goes last', 'departure', { startedAtMs: T0 - 2 * HOUR }, { departureAtMs: T0 + 20 * HOUR }, { A: 8, B: 32 }],
    ['soc: the emptier battery is filled first', 'soc', { socPct: 70 }, { startedAtMs: T0, socPct: 20 }, { A: 8, B: 32 }],
    ['soc: an unknown state of charge goes last', 'soc', { startedAtMs: T0 - 2 * HOUR }, { socPct: 90 }, { A: 8, B: 32 }],
    ['tier: the higher tier is filled first, even when it came later', 'tier', { tierRank: 1, startedAtMs: T0 - 2 * HOUR }, { tierRank: 3 }, { A: 8, B: 32 }],
    ['tier: same tier falls back to plug-in order', 'tier', { tierRank: 2, startedAtMs: T0 - 2 * HOUR }, { tierRank: 2 }, { A: 32, B: 8 }],
    ['equal: both get the same share', 'equal', { startedAtMs: T0 - 2 * HOUR }, {}, { A: 20, B: 20 }],
  ])('%s', (_name, scheme, a, b, expected) => {
    expect(twoCars(scheme, a, b)).toEqual(expected);
  });

  const fourOnTwentyAmps = (scheme: PriorityScheme) => {
    const p = params({
      priority: scheme,
      circuit: circuit('main', 400, [], [circuit('row', 20, ['A', 'B', 'C', 'D'])]),
      chargers: ['A', 'B', 'C', 'D'].map((id) => charger(id, 'row')),
    });
    const cars = ['A', 'B', 'C', 'D'].map((id, i) => plugged(id, session(id, { startedAtMs: T0 - (10 - i) * HOUR, tierRank: i === 3 ? 5 : 1 })));
    return decide(snapshot(cars), p);
  };

  it.each<[PriorityScheme, Record<string, number>]>([
    ['fcfs', { A: 8, B: 6, C: 6, D: 0 }],
    ['equal', { A: 6.7, B: 6.7, C: 6.6, D: 0 }],
  ])('under %s, the 6 A minimum goes to as many cars as fit in priority order before anyone gets more', (scheme, expected) => {
    expect(capsOf(fourOnTwentyAmps(scheme))).toEqual(expected);
  });

  it('under tier, fills the higher tier before a lower tier gets even its minimum', () => {
    expect(capsOf(fourOnTwentyAmps('tier'))).toEqual({ D: 20, A: 0, B: 0, C: 0 });
  });

  it('under tier and fcfs, a car about to miss its departure goes first within its tier', () => {
    const p = (scheme: PriorityScheme) =>
      params({ priority: scheme, circuit: circuit('main', 400, [], [circuit('row', 20, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')] });
    // B plugged in later but leaves in 1.5 h needing 15 kWh (laxity under an hour).
    const cars = [plugged('A', session('a', { startedAtMs: T0 - 5 * HOUR, departureAtMs: T0 + 9 * HOUR, energyNeedWh: 20_000 })), plugged('B', session('b', { startedAtMs: T0 - HOUR, departureAtMs: T0 + 1.5 * HOUR, energyNeedWh: 15_000 }))];
    // B is filled first; A keeps the 6 A minimum (guarantee 3: minimums to as many as fit).
    expect(capsOf(decide(snapshot(cars), p('fcfs')))).toEqual({ A: 6, B: 14 });
    expect(capsOf(decide(snapshot(cars), p('tier')))).toEqual({ A: 6, B: 14 });
    // A higher tier still wins over a lower tier's deadline.
    const tiered = [plugged('A', session('a', { tierRank: 3, startedAtMs: T0 - 5 * HOUR, departureAtMs: T0 + 9 * HOUR, energyNeedWh: 20_000 })), plugged('B', session('b', { startedAtMs: T0 - HOUR, departureAtMs: T0 + 1.5 * HOUR, energyNeedWh: 15_000 }))];
    expect(capsOf(decide(snapshot(tiered), p('tier')))).toEqual({ A: 20, B: 0 });
  });

  it('tells the car left waiting why and where it stands', () => {
    const decision = fourOnTwentyAmps('fcfs');
    const waiting = decision.caps.find((c) => c.chargerId === 'D')!;
    expect(waiting.rank).toBe(4);
    expect(waiting.reason).toMatchObject({ kind: 'scarcity', rank: 4, of: 4 });
    expect(waiting.reason.text).toBe('no room for the 6 A minimum: circuit row L1 limit 20 A shared by 4 cars; priority 4 of 4');
  });

  it('shares evenly under equal while capping each car at what it accepts', () => {
    const p = params({
      priority: 'equal',
      circuit: circuit('main', 400, [], [circuit('row', 60, ['A', 'B', 'C'])]),
      chargers: ['A', 'B', 'C'].map((id) => charger(id, 'row')),
    });
    const decision = decide(snapshot([plugged('A', session('a', { carMaxCurrentA: 10 })), plugged('B', session('b')), plugged('C', session('c'))]), p);
    expect(capsOf(decision)).toEqual({ A: 10, B: 25, C: 25 });
  });
});
