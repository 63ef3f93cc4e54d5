import { describe, expect, it } from 'vitest';
import type { ConnectorSnapshot, SiteSnapshot } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, decideSeries, gridWith, params, plugged, session, snapshot, T0 } from './scenario.ts';

describe('hysteresis', () => {
  // One car on a 40 A site whose building load moves: the car gets 40 A minus the building. The
  // building estimate follows a fall at once here (buildingHoldMs 0); the hold has its own tests.
  const p = params({ grid: { maxCurrentA: 40, safetyMargin: 0, metered: true }, circuit: circuit('main', 40, ['A']), chargers: [charger('A', 'main')], deadbandA: 1, buildingHoldMs: 0 });
  const at = (s: number, buildingA: number) => ({ atMs: T0 + s * 1000, snapshot: (atMs: number) => snapshot([plugged('A', session('a'))], { atMs, grid: gridWith(atMs, buildingA) }) });

  it('does not raise a cap by less than the deadband, but always lowers it', () => {
    const caps = decideSeries(p, [at(0, 20), at(1, 19.6), at(2, 19.2), at(3, 18.9), at(4, 19.4), at(5, 19.5)]).map((d) => d.caps[0]);
    expect(caps.map((c) => c.currentA)).toEqual([20, 20, 20, 21.1, 20.6, 20.5]);
    expect(caps[1].reason).toMatchObject({ kind: 'hysteresis', text: 'kept at 20 A: the increase is below the 1 A deadband' });
    expect(caps[3].reason.kind).toBe('circuit');
  });

  it('makes small increases that together free the deadband or more on a shared limit (four cars each 0.4 A short)', () => {
    const ids = ['A', 'B', 'C', 'D'];
    const four = params({ grid: { maxCurrentA: 64, safetyMargin: 0, metered: true }, circuit: circuit('main', 64, ids), chargers: ids.map((id) => charger(id, 'main')), priority: 'equal', deadbandA: 0.5, buildingHoldMs: 0 });
    const cars = (s: number, buildingA: number) => ({ atMs: T0 + s * 1000, snapshot: (atMs: number) => snapshot(ids.map((id) => plugged(id, session(id.toLowerCase()))), { atMs, grid: gridWith(atMs, buildingA) }) });
    // 16 A each, then the building falls by 1.6 A: 0.4 A more each, 1.6 A in all.
    const decisions = decideSeries(four, [cars(0, 0), cars(1, 14.4), cars(2, 12.8)]);
    expect(decisions.map((d) => d.caps.map((c) => c.currentA))).toEqual([
      [16, 16, 16, 16],
      [12.4, 12.4, 12.4, 12.4],
      [12.8, 12.8, 12.8, 12.8],
    ]);
    // One car alone 0.4 A short is still held (the deadband's point).
    const one = decideSeries(p, [at(0, 20), at(1, 19.6)]).map((d) => d.caps[0].currentA);
    expect(one).toEqual([20, 20]);
  });

  it('keeps a car stopped for lack of capacity paused for the minimum pause before it restarts', () => {
    const two = params({ grid: { maxCurrentA: 40, safetyMargin: 0, metered: true }, circuit: circuit('main', 40, ['A', 'B']), chargers: [charger('A', 'main'), charger('B', 'main')], minPauseMs: 120_000 });
    const cars = (atMs: number, buildingA: number) => snapshot([plugged('A', session('a')), plugged('B', session('b', { startedAtMs: T0 }))], { atMs, grid: gridWith(atMs, buildingA) });
    const steps = [0, 10, 60, 129, 130].map((s, i) => ({ atMs: T0 + s * 1000, snapshot: (atMs: number) => cars(atMs, [20, 30, 20, 20, 20][i]) }));
    const decisions = decideSeries(two, steps);
    expect(decisions.map((d) => capsOf(d).B)).toEqual([6, 0, 0, 0, 6]);
    expect(decisions[2].caps[1].reason).toMatchObject({ kind: 'hysteresis', text: 'paused for lack of capacity; may restart in 70 s (minimum pause)' });
    // While B waits, A gets what B may not use yet.
    expect(capsOf(decisions[2]).A).toBe(20);
  });

  it('restarts a session paused by the operator as soon as it is resumed', () => {
    const steps = [false, true, false].map((paused, s) => ({
      atMs: T0 + s * 1000,
      snapshot: (atMs: number) => snapshot([plugged('A', session('a', { paused }))], { atMs, grid: gridWith(atMs, 0) }),
    }));
    const caps = decideSeries(p, steps).map((d) => d.caps[0]);
    expect(caps.map((c) => c.currentA)).toEqual([32, 0, 32]);
    expect(caps[1].reason).toEqual({ kind: 'paused', text: 'paused by operator' });
  });

  it('starts a new session on the same connector without the previous session’s pause', () => {
    const two = params({ grid: { maxCurrentA: 40, safetyMargin: 0, metered: true }, circuit: circuit('main', 40, ['A', 'B']), chargers: [charger('A', 'main'), charger('B', 'main')], buildingHoldMs: 0 });
    const steps = [
      { atMs: T0, snapshot: (atMs: number) => snapshot([plugged('A', session('a')), plugged('B', session('b1', { startedAtMs: T0 }))], { atMs, grid: gridWith(atMs, 20) }) },
      { atMs: T0 + 1000, snapshot: (atMs: number) => snapshot([plugged('A', session('a')), plugged('B', session('b1', { startedAtMs: T0 }))], { atMs, grid: gridWith(atMs, 30) }) },
      { atMs: T0 + 2000, snapshot: (atMs: number) => snapshot([plugged('A', session('a')), plugged('B', session('b2', { startedAtMs: T0 + 2000 }))], { atMs, grid: gridWith(atMs, 20) }) },
    ];
    expect(decideSeries(two, steps).map((d) => capsOf(d).B)).toEqual([6, 0, 6]);
  });

  describe('lending capacity a car does not use', () => {
    // A (first) and B share a 40 A circuit. A's car only draws 10 A.
    const two = params({ circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')], unusedHoldMs: 30_000, rampReserveA: 2, deadbandA: 0.5 });
    const cars = (drawA: number, drawB: number) => (atMs: number): SiteSnapshot => {
      const connectors: ConnectorSnapshot[] = [
        plugged('A', session('a'), { drawA: [drawA, drawA, drawA], drawAtMs: atMs }),
        plugged('B', session('b', { startedAtMs: T0 }), { drawA: [drawB, drawB, drawB], drawAtMs: atMs }),
      ];
      return snapshot(connectors, { atMs, grid: gridWith(atMs, drawA + drawB) });
    };
    const series = [
      [0, 10], // A's first cap: 32 A
      [10, 10], // A draws 10 of its 32 A, but its cap may not have reached it yet (apply 5 s + response 5 s + ramp 6.4 s)
      [30, 10], // settled: sampled 30 s after its cap was set, still 10 A: A keeps 10 + 2, B gets the rest
      [40, 10], // steady draw: lending continues
      [50, 10], // B too draws only 8 of its 28 A, 20 s after its cap was set: B keeps 8 + 2
      [60, 11.5], // A ramps into its reserve: A gets its full share back
    ] as const;

    it('lends it to others once the draw is settled, keeps a ramp reserve, and takes it back when the car ramps up', () => {
      const decisions = decideSeries(
        two,
        series.map(([s, drawA]) => ({ atMs: T0 + s * 1000, snapshot: cars(drawA, 8) })),
      );
      expect(decisions.map((d) => capsOf(d))).toEqual([
        { A: 32, B: 8 },
        { A: 32, B: 8 },
        { A: 12, B: 28 },
        { A: 12, B: 28 },
        { A: 12, B: 10 },
        { A: 32, B: 8 },
      ]);
      expect(decisions[2].caps[0].reason).toMatchObject({ kind: 'car', text: 'car draws only 10 A for 20 s: capped at draw + 2 A to ramp, the rest lent to others' });
      for (const d of decisions) expect(capsOf(d).A + capsOf(d).B).toBeLessThanOrEqual(40);
    });

    it('does not lend anything when the car’s draw is not fresh', () => {
      const stale = (atMs: number) => {
        const snap = cars(10, 8)(atMs);
        return { ...snap, connectors: snap.connectors.map((c) => ({ ...c, drawAtMs: atMs - 60_000 })) };
      };
      const decisions = decideSeries(two, [0, 30, 60].map((s) => ({ atMs: T0 + s * 1000, snapshot: stale })));
      expect(decisions.map((d) => capsOf(d).A)).toEqual([32, 32, 32]);
    });
  });

  describe('in time (capHoldMs)', () => {
    const held = { ...p, capHoldMs: 15_000, deadbandA: 0.5 };

    it('lowers a cap at once when a limit needs it, then raises it only after the hold and the building peak have passed', () => {
      const decisions = decideSeries(held, [at(0, 20), at(1, 22), at(2, 20), at(10, 20), at(17, 20)]);
      expect(decisions.map((d) => d.caps[0].currentA)).toEqual([20, 18, 18, 18, 20]);
      expect(decisions[1].caps[0].reason.kind).toBe('circuit');
      expect(decisions[2].caps[0].reason).toMatchObject({ kind: 'hysteresis', text: 'kept at 18 A: its cap changed 1 s ago; raised once 15 s have passed' });
      for (const d of decisions) expect(d.caps[0].currentA + d.headroom.buildingA[0]).toBeLessThanOrEqual(40);
    });

    it('raises a cap after the hold only as far as it fits with the building load at its recent peak', () => {
      // 22 A at 10 s: the cap goes down. At 26 s the hold has passed and the 22 A peak is 16 s old,
      // but the building read 20 A at 14 s: the raise stops at what fits with that. The next raise
      // waits for the hold again (41 s), when 20 A is long gone.
      const decisions = decideSeries(held, [at(0, 18), at(10, 22), at(11, 18), at(14, 20), at(15, 18), at(26, 18), at(30, 18), at(41, 18)]);
      expect(decisions.map((d) => d.caps[0].currentA)).toEqual([22, 18, 18, 18, 18, 20, 20, 22]);
      expect(decisions[5].caps[0].reason).toMatchObject({ kind: 'hysteresis', text: 'raised only to 20 A: what still fits if the other load comes back to its level of the last 15 s' });
    });

    describe('a car that draws less than its cap', () => {
      const two = params({ circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B'])]), chargers: [charger('A', 'row'), charger('B', 'row')], unusedHoldMs: 30_000, rampReserveA: 2, deadbandA: 0.5, capHoldMs: 15_000 });
      const cars = (withB: boolean) => (atMs: number): SiteSnapshot => {
        const connectors: ConnectorSnapshot[] = [plugged('A', session('a'), { drawA: [10, 10, 10], drawAtMs: atMs })];
        if (withB) connectors.push(plugged('B', session('b', { startedAtMs: atMs }), { drawA: [0, 0, 0], drawAtMs: atMs }));
        return snapshot(connectors, { atMs, grid: gridWith(atMs, withB ? 10 : 10) });
      };

      it('keeps its cap while nobody needs the rest, and lends it at once when another car comes', () => {
        const decisions = decideSeries(
          two,
          [0, 10, 40, 50, 51].map((s) => ({ atMs: T0 + s * 1000, snapshot: cars(s >= 50) })),
        );
        expect(decisions.map((d) => capsOf(d))).toEqual([{ A: 32 }, { A: 32 }, { A: 32 }, { A: 12, B: 28 }, { A: 12, B: 28 }]);
        expect(decisions[2].caps[0].reason).toMatchObject({ kind: 'hysteresis', text: 'kept at 32 A: no limit and no other car needs it lower now' });
        for (const d of decisions) expect((capsOf(d).A ?? 0) + (capsOf(d).B ?? 0)).toBeLessThanOrEqual(40);
      });
    });
  });
});

