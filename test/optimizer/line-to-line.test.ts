import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/index.ts';
import { lineCurrentsA, type LineLoad } from '../../optimizer/phase-map.ts';
import type { ChargerParams, LineConnection, PhaseRotation } from '../../optimizer/types.ts';
import { capsOf, charger, circuit, params, plugged, session, snapshot } from './scenario.ts';

const CONNECTIONS: LineConnection[] = ['L1-L2', 'L2-L3', 'L3-L1'];
const ROTATIONS: PhaseRotation[] = ['L1L2L3', 'L2L3L1', 'L3L1L2'];

/** The exact line currents of a set of chargers at their caps (unity power factor). */
function lineCurrentsOf(chargers: readonly ChargerParams[], caps: Record<string, number>, ids?: ReadonlySet<string>): [number, number, number] {
  const loads: LineLoad[] = chargers
    .filter((c) => !ids || ids.has(c.id))
    .map((c) => {
      const currentA = caps[c.id] ?? 0;
      if (c.phases === 3) return { currentA, threePhase: true };
      if (c.connection) return { currentA, connection: c.connection };
      return { currentA, phase: ({ L1L2L3: 0, L2L3L1: 1, L3L1L2: 2 } as const)[c.phaseRotation as 'L1L2L3'] ?? 0 };
    });
  return lineCurrentsA(loads);
}

describe('line currents', () => {
  it('adds line-to-line loads as phasors: |I_L1| = sqrt(I12² + I31² + I12·I31)', () => {
    const [l1, l2, l3] = lineCurrentsA([
      { currentA: 30, connection: 'L1-L2' },
      { currentA: 20, connection: 'L3-L1' },
    ]);
    expect(l1).toBeCloseTo(Math.sqrt(30 ** 2 + 20 ** 2 + 30 * 20), 9);
    expect(l2).toBeCloseTo(30, 9);
    expect(l3).toBeCloseTo(20, 9);
    // Three equal line-to-line loads: √3 times each on every line; a balanced 3-phase load adds in phase.
    const balanced = lineCurrentsA(CONNECTIONS.map((connection) => ({ currentA: 10, connection })).concat([{ currentA: 5, threePhase: true } as never]));
    for (const a of balanced) expect(a).toBeCloseTo(10 * Math.sqrt(3) + 5, 9);
    // A line-to-neutral load on L1 and a line-to-line one on L1-L2 are 30° apart.
    expect(lineCurrentsA([{ currentA: 10, phase: 0 }, { currentA: 10, connection: 'L1-L2' }])[0]).toBeCloseTo(Math.sqrt(200 + 200 * Math.cos(Math.PI / 6)), 9);
  });
});

describe('line-to-line chargers in decide()', () => {
  it('keeps a hand-computed three-charger delta within a 40 A fuse', () => {
    // A (L1-L2), B (L2-L3), C (L3-L1), fcfs A, B, C, 32 A each, one 40 A circuit, no margin.
    // Each charger counts on both its lines: L1 = A + C, L2 = A + B, L3 = B + C ≤ 40.
    // Minimums 6 A each, then A fills to 32 (L1: 32 + 6, L2: 32 + 6), B to 8 (L2 full), C to 8 (L1 full).
    const chargers = [
      charger('A', 'row', { phases: 1, connection: 'L1-L2' }),
      charger('B', 'row', { phases: 1, connection: 'L2-L3' }),
      charger('C', 'row', { phases: 1, connection: 'L3-L1' }),
    ];
    const p = params({ circuit: circuit('main', 400, [], [circuit('row', 40, ['A', 'B', 'C'])]), chargers, voltageV: 120 });
    const T = 1_800_000_000_000;
    const cars = chargers.map((c, i) => plugged(c.id, session(c.id.toLowerCase(), { startedAtMs: T - (3 - i) * 3_600_000 })));
    const caps = capsOf(decide(snapshot(cars), p));
    expect(caps).toEqual({ A: 32, B: 8, C: 8 });
    // Exact line currents: L1 = sqrt(32² + 8² + 32·8) = 36.66 A, L2 the same, L3 = sqrt(3)·8 = 13.86 A.
    const [l1, l2, l3] = lineCurrentsOf(chargers, caps);
    expect(l1).toBeCloseTo(36.661, 3);
    expect(l2).toBeCloseTo(36.661, 3);
    expect(l3).toBeCloseTo(13.856, 3);
  });

  it('counts a line-to-line charger at current × √3 × V against the grid power cap', () => {
    const chargers = [charger('A', 'site', { phases: 1, connection: 'L1-L2', maxCurrentA: 48 })];
    const p = params({ circuit: circuit('site', 400, ['A']), chargers, voltageV: 120, grid: { maxCurrentA: 400, safetyMargin: 0, metered: true, maxImportPowerW: 5_000 } });
    const caps = capsOf(decide(snapshot([plugged('A', session('a'))]), p));
    expect(caps.A * 120 * Math.sqrt(3)).toBeLessThanOrEqual(5_000);
    expect(caps.A).toBeCloseTo(5_000 / (120 * Math.sqrt(3)), 0);
  });

  it('never lets an exact line current exceed its limit for random mixes of line-to-line, line-to-neutral and 3-phase chargers', () => {
    const arbCharger = fc.record({
      kind: fc.constantFrom('ll', 'ln', '3p'),
      connection: fc.constantFrom(...CONNECTIONS),
      rotation: fc.constantFrom(...ROTATIONS),
      maxA: fc.integer({ min: 10, max: 80 }),
      row: fc.integer({ min: 0, max: 1 }),
      plugged: fc.boolean(),
      startedH: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(
        fc.array(arbCharger, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 10, max: 120 }),
        fc.integer({ min: 10, max: 120 }),
        fc.integer({ min: 20, max: 200 }),
        fc.constantFrom('fcfs', 'equal', 'tier', 'departure') as fc.Arbitrary<'fcfs' | 'equal' | 'tier' | 'departure'>,
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (specs, rowA, rowB, mainA, priority, margin) => {
          const chargers = specs.map((s, i) =>
            charger(`C${i}`, s.row === 0 ? 'a' : 'b', {
              maxCurrentA: s.maxA,
              phases: s.kind === '3p' ? 3 : 1,
              phaseRotation: s.rotation,
              ...(s.kind === 'll' ? { connection: s.connection } : {}),
            }),
          );
          const rows = [circuit('a', rowA, chargers.filter((c) => c.circuitId === 'a').map((c) => c.id)), circuit('b', rowB, chargers.filter((c) => c.circuitId === 'b').map((c) => c.id))];
          const p = params({ priority, voltageV: 120, grid: { maxCurrentA: mainA, safetyMargin: margin, metered: true }, circuit: circuit('main', mainA, [], rows), chargers });
          const T = 1_800_000_000_000;
          const cars = chargers.map((c, i) => plugged(c.id, specs[i].plugged ? session(c.id, { startedAtMs: T - specs[i].startedH * 3_600_000, tierRank: i % 3 }) : null));
          const caps = capsOf(decide(snapshot(cars), p));
          const check = (limitA: number, ids?: ReadonlySet<string>) => {
            for (const a of lineCurrentsOf(chargers, caps, ids)) expect(a).toBeLessThanOrEqual(limitA * (1 - margin) + 1e-6);
          };
          check(mainA);
          for (const row of rows) check(row.maxCurrentA, new Set(row.chargerIds));
        },
      ),
      { numRuns: 300 },
    );
  });
});
