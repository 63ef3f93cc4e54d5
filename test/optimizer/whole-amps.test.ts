// Cars that draw whole amps (floor of the pilot) waste the fraction of a cap: decide() gives a car
// seen doing so whole amps and hands the fractions to others, never above a limit (issue #11).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { SiteSnapshot } from '../../optimizer/index.ts';
import { arbSite } from './arb-site.ts';
import { violations } from './site-model.ts';

const withWholeAmps = (snapshot: SiteSnapshot, pick: (i: number) => boolean): SiteSnapshot => ({
  ...snapshot,
  connectors: snapshot.connectors.map((c, i) => (c.session && pick(i) ? { ...c, session: { ...c.session, wholeAmps: true } } : c)),
});

describe('whole-amp cars', () => {
  it('get whole amps, within every limit, and no car that follows fractions gets less for it', () => {
    fc.assert(
      fc.property(arbSite(), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), ({ snapshot, params }, picks) => {
        const marked = withWholeAmps(snapshot, (i) => picks[i % picks.length]!);
        const decision = decide(marked, params, initialDecideState);
        expect(violations(marked, params, decision.caps, true)).toEqual([]);
        const plain = decide(snapshot, params, initialDecideState);
        marked.connectors.forEach((c, i) => {
          const cap = decision.caps[i]!.currentA;
          if (c.session?.wholeAmps && cap >= 6) expect(Math.abs(cap - Math.round(cap))).toBeLessThan(1e-9);
        });
        // What the cars can use: a whole-amp car floor(cap), the others their cap.
        const usable = (caps: typeof decision.caps) => caps.reduce((sum, cap, i) => sum + (marked.connectors[i]!.session?.wholeAmps ? Math.floor(cap.currentA + 1e-9) : cap.currentA) * cap.phases, 0);
        expect(usable(decision.caps)).toBeGreaterThanOrEqual(usable(plain.caps) - 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('hand-computed: 40 A shared by three whole-amp cars gives 14 + 13 + 13, not 13.3 three times', () => {
    const params = {
      grid: { maxCurrentA: 40 },
      circuit: { id: 'main', maxCurrentA: 40, chargerIds: ['A', 'B', 'C'], children: [] },
      chargers: ['A', 'B', 'C'].map((id) => ({ id, connectors: 1, maxCurrentA: 32, minCurrentA: 6, phases: 3 as const, phaseRotation: 'L1L2L3' as const })),
      priority: 'equal' as const,
      deadbandA: 0,
      voltageV: 230,
    };
    const snapshot: SiteSnapshot = {
      atMs: 1_000_000,
      grid: null,
      circuitLoads: [],
      connectors: ['A', 'B', 'C'].map((id, i) => ({
        chargerId: id,
        connectorId: 1,
        status: 'Charging' as const,
        session: { id: `s${i}`, startedAtMs: i, energyWh: 0, tierRank: 0, paused: false, wholeAmps: true },
        drawA: [0, 0, 0] as const,
      })),
      signals: {},
    };
    const caps = decide(snapshot, params as never, initialDecideState).caps.map((c) => c.currentA);
    expect(caps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(40);
    expect(caps.every((a) => Number.isInteger(a))).toBe(true);
    expect([...caps].sort((a, b) => b - a)).toEqual([14, 13, 13]);
  });
});
