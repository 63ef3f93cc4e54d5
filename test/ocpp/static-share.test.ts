import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CircuitConfig } from '../../config/schema.ts';
import { chargerShareA, sitePhaseOf, staticShares, type StaticShareInput } from '../../src/ocpp/static-share.ts';

type Charger = StaticShareInput['chargers'][number];

const charger = (id: string, over: Partial<Charger> = {}): Charger => ({
  id,
  connectors: 1,
  maxCurrent: 32,
  minCurrent: 6,
  phases: 3,
  phaseRotation: 'L1L2L3',
  ...over,
});

const site = (chargers: Charger[], grid: Partial<StaticShareInput['grid']> = {}, circuits: CircuitConfig[] = []): StaticShareInput => ({
  site: { name: 't', voltage: 230, timezone: 'UTC' },
  grid: { maxCurrent: 100, safetyMargin: 0.05, ...grid },
  circuits,
  chargers,
});

/** Per site phase, A, if every connector draws its share at once, under a node (or the whole site). */
function loadA(input: StaticShareInput, shares: Map<string, number>, chargerIds?: Set<string>): number[] {
  const perPhase = [0, 0, 0];
  for (const c of input.chargers) {
    if (chargerIds && !chargerIds.has(c.id)) continue;
    const phases = c.phases === 3 ? [0, 1, 2] : [sitePhaseOf(c.phaseRotation, 0)];
    for (const p of phases) perPhase[p] += (shares.get(c.id) ?? 0) * c.connectors;
  }
  return perPhase;
}

const under = (node: CircuitConfig): string[] => [...(node.chargers ?? []), ...(node.children ?? []).flatMap(under)];
const nodes = (list: CircuitConfig[]): CircuitConfig[] => list.flatMap((n) => [n, ...nodes(n.children ?? [])]);

const arbSite = fc
  .record({
    chargers: fc.array(
      fc.record({
        connectors: fc.integer({ min: 1, max: 4 }),
        maxCurrent: fc.integer({ min: 6, max: 63 }),
        phases: fc.constantFrom<1 | 3>(1, 3),
        phaseRotation: fc.constantFrom('L1L2L3', 'L2L3L1', 'L3L1L2', 'L1L3L2'),
        row: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 1, maxLength: 25 },
    ),
    gridA: fc.integer({ min: 10, max: 400 }),
    rowA: fc.array(fc.integer({ min: 6, max: 200 }), { minLength: 3, maxLength: 3 }),
    maxPowerW: fc.option(fc.integer({ min: 5_000, max: 300_000 }), { nil: undefined }),
    margin: fc.double({ min: 0, max: 0.3, noNaN: true }),
  })
  .map(({ chargers, gridA, rowA, maxPowerW, margin }) => {
    const list = chargers.map((c, i) => charger(`C${i}`, { ...c, phaseRotation: c.phaseRotation as Charger['phaseRotation'] }));
    const rows: CircuitConfig[] = rowA.map((maxCurrent, r) => ({ id: `row${r}`, maxCurrent, chargers: list.filter((_, i) => chargers[i].row === r).map((c) => c.id) }));
    const circuits: CircuitConfig[] = [{ id: 'main', maxCurrent: gridA, children: [{ id: 'sub', maxCurrent: Math.max(rowA[0], rowA[1]), children: rows.slice(0, 2) }, rows[2]] }];
    return site(list, { maxCurrent: gridA, safetyMargin: margin, ...(maxPowerW ? { maxPower: maxPowerW } : {}) }, circuits);
  });

describe('static safe share', () => {
  it('splits the site limit less the margin evenly over every connector, floored to 0.1 A', () => {
    const shares = staticShares(site([charger('A', { connectors: 2 }), charger('B')]));
    expect(shares.get('A')).toBe(31.6);
    expect(shares.get('B')).toBe(31.6);
    expect(chargerShareA(31.6, 2)).toBe(63.2);
  });

  it('is 0 for a charger whose share would be below its minimum current', () => {
    const shares = staticShares(site(Array.from({ length: 20 }, (_, i) => charger(`C${i}`)), { maxCurrent: 100 }));
    // 95 A / 20 = 4.75 A < 6 A
    expect([...shares.values()].every((a) => a === 0)).toBe(true);
  });

  it('counts single-phase chargers on the site phase their rotation puts them on', () => {
    const input = site(
      [charger('A', { phases: 1, phaseRotation: 'L1L2L3' }), charger('B', { phases: 1, phaseRotation: 'L2L3L1' }), charger('C', { phases: 1, phaseRotation: 'L1L3L2' })],
      { maxCurrent: 40, safetyMargin: 0 },
    );
    const shares = staticShares(input);
    // A and C both load L1: 20 A each; B alone on L2 gets its full 32 A.
    expect(Object.fromEntries(shares)).toEqual({ A: 20, B: 32, C: 20 });
  });

  it('honours the grid power cap', () => {
    const shares = staticShares(site([charger('A'), charger('B')], { maxCurrent: 250, maxPower: 22_080, safetyMargin: 0 }));
    // 22 080 W / (2 x 3 x 230 V) = 16 A
    expect(shares.get('A')).toBe(16);
  });

  it('never lets any node, phase or the power cap exceed its limit less the margin, with everyone at their share', () => {
    fc.assert(
      fc.property(arbSite, (input) => {
        const shares = staticShares(input);
        const margin = 1 - input.grid.safetyMargin;
        for (const phaseA of loadA(input, shares)) expect(phaseA).toBeLessThanOrEqual(input.grid.maxCurrent * margin + 1e-9);
        for (const node of nodes(input.circuits)) {
          for (const phaseA of loadA(input, shares, new Set(under(node)))) expect(phaseA).toBeLessThanOrEqual(node.maxCurrent * margin + 1e-9);
        }
        if (input.grid.maxPower !== undefined) {
          const powerW = input.chargers.reduce((sum, c) => sum + (shares.get(c.id) ?? 0) * c.connectors * c.phases * input.site.voltage, 0);
          expect(powerW).toBeLessThanOrEqual(input.grid.maxPower * margin + 1e-6);
        }
        for (const c of input.chargers) {
          const share = shares.get(c.id)!;
          expect(share === 0 || (share >= c.minCurrent && share <= c.maxCurrent)).toBe(true);
          expect(Math.abs(share * 10 - Math.round(share * 10))).toBeLessThan(1e-9);
        }
      }),
      { numRuns: Number(process.env.SHARE_RUNS ?? 200) },
    );
  });
});

describe('static share with line-to-line chargers', () => {
  it('counts a line-to-line charger in full on both its lines and at √3 × V in power', () => {
    // Two 32 A chargers on L1-L2 and L3-L1 share L1: with a 40 A fuse (no margin) each gets 20 A;
    // the exact L1 current is then sqrt(20² + 20² + 20·20) = 34.6 A.
    const input: StaticShareInput = {
      site: { name: 't', voltage: 120, timezone: 'UTC' },
      grid: { maxCurrent: 40, safetyMargin: 0 },
      circuits: [],
      chargers: [charger('X', { phases: 1, connection: 'L1-L2' }), charger('Y', { phases: 1, connection: 'L3-L1' })],
    };
    const shares = staticShares(input);
    expect(shares.get('X')).toBe(20);
    expect(shares.get('Y')).toBe(20);
    const capped = staticShares({ ...input, grid: { maxCurrent: 400, safetyMargin: 0, maxPower: 5_000 } });
    expect((capped.get('X')! + capped.get('Y')!) * 120 * Math.sqrt(3)).toBeLessThanOrEqual(5_000);
  });
});
