// A step of the wall clock moves every stamp the EMS holds by the step (src/clock-step-watch.ts):
// decide() on a snapshot and memory both taken on a clock an hour later (or earlier) must decide
// exactly as on the original: no pause ends early or lasts longer, no reading turns stale or
// fresh. If the memory gains a time field that optimizer/time-shift.ts does not move, this fails.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../optimizer/decide.ts';
import { shiftDecideState } from '../../optimizer/time-shift.ts';
import { initialDecideState, type DecideState, type SiteSnapshot } from '../../optimizer/types.ts';
import { arbSite } from './arb-site.ts';

function shiftSnapshot(s: SiteSnapshot, stepMs: number): SiteSnapshot {
  return {
    ...s,
    atMs: s.atMs + stepMs,
    grid: s.grid ? { ...s.grid, atMs: s.grid.atMs + stepMs } : s.grid,
    circuitLoads: s.circuitLoads.map((l) => ({ ...l, atMs: l.atMs + stepMs })),
    connectors: s.connectors.map((c) => ({
      ...c,
      ...(c.drawAtMs === undefined ? {} : { drawAtMs: c.drawAtMs + stepMs }),
      session: c.session
        ? { ...c.session, startedAtMs: c.session.startedAtMs + stepMs, ...(c.session.departureAtMs === undefined ? {} : { departureAtMs: c.session.departureAtMs + stepMs }) }
        : null,
    })),
  };
}

/**
 * The site `i` seconds on: time and readings advance, draws follow the last caps (cars obey), and
 * from the second cycle the building takes `bumpA` more (so some cars stop and pause timers run).
 */
function later(s: SiteSnapshot, i: number, caps: Map<string, number>, bumpA: number): SiteSnapshot {
  const atMs = s.atMs + i * 1_000;
  const extraA = i >= 1 ? bumpA : 0;
  return {
    ...s,
    atMs,
    grid: s.grid ? { ...s.grid, atMs, currentA: [s.grid.currentA[0] + extraA, s.grid.currentA[1] + extraA, s.grid.currentA[2] + extraA], powerW: s.grid.powerW + extraA * 690 } : s.grid,
    connectors: s.connectors.map((c) => {
      const capA = caps.get(`${c.chargerId}/${c.connectorId}`) ?? 0;
      return c.session ? { ...c, drawA: [capA, capA, capA], drawAtMs: atMs } : c;
    }),
  };
}

describe('a wall-clock step', () => {
  it('changes no decision once the snapshot and the memory are moved by the step', () => {
    fc.assert(
      fc.property(arbSite(), fc.constantFrom(3_600_000, -3_600_000, 7_000), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 150 }), (site, stepMs, cycles, bumpA) => {
        let state: DecideState = initialDecideState;
        let caps = new Map<string, number>();
        for (let i = 0; i < cycles; i++) {
          const d = decide(later(site.snapshot, i, caps, bumpA), site.params, state);
          state = d.nextState;
          caps = new Map(d.caps.map((c) => [`${c.chargerId}/${c.connectorId}`, c.currentA]));
        }
        const next = later(site.snapshot, cycles, caps, bumpA);
        const plain = decide(next, site.params, state);
        const stepped = decide(shiftSnapshot(next, stepMs), site.params, shiftDecideState(state, stepMs));
        expect(stepped.caps.map((c) => c.currentA)).toEqual(plain.caps.map((c) => c.currentA));
        expect(stepped.failsafe).toBe(plain.failsafe);
        expect(stepped.nextState).toEqual(shiftDecideState(plain.nextState, stepMs));
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});
