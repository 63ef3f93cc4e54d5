import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { DecideState } from '../../optimizer/index.ts';
import { arbSite } from './arb-site.ts';
import { capsOf, charger, circuit, params, plugged, reasonOf, session, snapshot, T0 } from './scenario.ts';

const BAD = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -5, -1e9, 1e12, undefined, null];

/** Replaces the value at a random numeric leaf of a snapshot with a bad one. */
function corrupt(value: unknown, pick: number, bad: unknown): { value: unknown; left: number } {
  if (typeof value === 'number') return pick === 0 ? { value: bad, left: -1 } : { value, left: pick - 1 };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    let left = pick;
    for (const item of value) {
      const r = left >= 0 ? corrupt(item, left, bad) : { value: item, left };
      out.push(r.value);
      left = r.left;
    }
    return { value: out, left };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    let left = pick;
    for (const [k, v] of Object.entries(value)) {
      const r = left >= 0 ? corrupt(v, left, bad) : { value: v, left };
      out[k] = r.value;
      left = r.left;
    }
    return { value: out, left };
  }
  return { value, left: pick };
}

describe('bad input', () => {
  it('never throws and still gives every connector a cap of 0 or within its bounds when numbers are bad', () => {
    fc.assert(
      fc.property(arbSite(), fc.array(fc.tuple(fc.nat(400), fc.constantFrom(...BAD)), { minLength: 1, maxLength: 4 }), ({ snapshot: snap, params: p }, hits) => {
        let corrupted: unknown = snap;
        for (const [pick, bad] of hits) corrupted = corrupt(corrupted, pick, bad).value;
        const decision = decide(corrupted as typeof snap, p, initialDecideState);
        expect(decision.caps).toHaveLength(snap.connectors.length);
        for (const cap of decision.caps) {
          const c = p.chargers.find((x) => x.id === cap.chargerId)!;
          expect(Number.isFinite(cap.currentA)).toBe(true);
          if (cap.currentA !== 0) {
            expect(cap.currentA).toBeGreaterThanOrEqual(c.minCurrentA);
            expect(cap.currentA).toBeLessThanOrEqual(c.maxCurrentA);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  const p = params({ grid: { maxCurrentA: 40, safetyMargin: 0, metered: true }, circuit: circuit('main', 40, ['A']), chargers: [charger('A', 'main')] });

  it('reads a negative or NaN draw as no draw', () => {
    const grid = { atMs: T0, currentA: [10, 10, 10] as const, powerW: 6900 };
    const decision = decide(snapshot([plugged('A', session('a'), { drawA: [-20, Number.NaN, -1], drawAtMs: T0 })], { grid }), p);
    expect(capsOf(decision)).toEqual({ A: 30 });
  });

  it('gives 0 to a connector of a charger that is not configured, and says so', () => {
    const decision = decide(snapshot([plugged('A', session('a')), plugged('ZZ', session('z'))]), p);
    expect(capsOf(decision)).toEqual({ A: 32, ZZ: 0 });
    expect(reasonOf(decision, 'ZZ')).toBe('charger ZZ is not in the configuration');
  });

  it('ignores memory it cannot read', () => {
    const garbage = { connectors: { 'A/1': { currentA: Number.NaN, changedAtMs: Number.NaN, pausedSinceMs: Number.NaN } } } as DecideState;
    expect(capsOf(decide(snapshot([plugged('A', session('a'))]), p, garbage))).toEqual({ A: 32 });
  });

  it('falls back to the failsafe when the snapshot has no valid time', () => {
    expect(decide(snapshot([plugged('A', session('a'))], { atMs: Number.NaN }), p).failsafe).toBe(true);
  });
});

describe('input too broken to reason about', () => {
  it('stops every connector and says why instead of throwing', () => {
    const broken = { ...params({ circuit: circuit('main', 40, ['A']), chargers: [charger('A', 'main')] }), chargers: undefined } as never;
    const decision = decide(snapshot([plugged('A', session('a'))]), broken);
    expect(decision.failsafe).toBe(true);
    expect(decision.caps).toEqual([
      { chargerId: 'A', connectorId: 1, currentA: 0, phases: 3, reason: { kind: 'failsafe', text: expect.stringMatching(/^failsafe: the optimizer could not read its input \(.+\); all connectors held at 0 A$/) } },
    ]);
  });
});
