import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, headroom } from '../../optimizer/index.ts';
import type { ConnectorCap, DecideState, SiteSnapshot } from '../../optimizer/index.ts';
import { initialDecideState } from '../../optimizer/index.ts';
import { arbSite, NOW_MS, sessionUpperA } from './arb-site.ts';
import { freeAt, freeOnPath, freePowerW, measuredPhases, nonEvLoads, phasesWithMemory, sitePhases, violations, withMetersSeeingCars } from './site-model.ts';

const RUNS = { numRuns: 300 };
const keyOf = (c: { chargerId: string; connectorId: number }): string => `${c.chargerId}/${c.connectorId}`;
const capsByKey = (caps: readonly ConnectorCap[]): Map<string, ConnectorCap> => new Map(caps.map((c) => [keyOf(c), c]));

describe('decide', () => {
  it('keeps every phase of every circuit, the grid connection and the grid power within their limits', () => {
    fc.assert(
      fc.property(arbSite(), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        expect(decision.failsafe).toBe(false);
        expect(violations(snapshot, params, decision.caps, true)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('stays within limits over a series of cycles while draws, loads and hysteresis memory change', () => {
    const arbSteps = fc.array(
      fc.record({
        dtMs: fc.integer({ min: 500, max: 90_000 }),
        drawScale: fc.double({ min: 0, max: 1.2, noNaN: true }),
        gridScale: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
      }),
      { minLength: 2, maxLength: 6 },
    );
    fc.assert(
      fc.property(arbSite(), arbSteps, ({ snapshot, params }, steps) => {
        let state: DecideState = initialDecideState;
        let atMs = NOW_MS;
        let caps = decide(snapshot, params, state).caps;
        // The phases each car was last measured on: it keeps them while it draws nothing (a car
        // does not change its phase count within a session; the estimator remembers them too).
        const learned = new Map<string, number[]>();
        const learn = (snap: SiteSnapshot): void => {
          for (const c of snap.connectors) {
            const measured = measuredPhases(c, snap, params);
            if (measured) learned.set(keyOf(c), measured);
          }
        };
        learn(snapshot);
        // Readings stay within what the fuse allows (2.5× its rating, as arbSite): the estimator
        // ignores implausible ones (optimizer/site-view.ts) and those have their own tests.
        const plausibleA = 2.5 * params.grid.maxCurrentA;
        for (const step of steps) {
          atMs += step.dtMs;
          const byKey = capsByKey(caps);
          // Cars draw a share of their last cap: this drives unused-capacity lending.
          const next: SiteSnapshot = {
            ...snapshot,
            atMs,
            grid: snapshot.grid && { ...snapshot.grid, atMs, currentA: snapshot.grid.currentA.map((a) => Math.min(a * step.gridScale, plausibleA)) as unknown as readonly [number, number, number] },
            connectors: snapshot.connectors.map((c) => {
              const capA = byKey.get(keyOf(c))?.currentA ?? 0;
              const phases = sitePhases(c, params);
              const drawn = capA * step.drawScale;
              return { ...c, drawAtMs: atMs, drawA: phases.length === 1 ? [drawn, 0, 0] : [drawn, drawn, drawn] };
            }),
          };
          learn(next);
          const decision = decide(next, params, state);
          expect(violations(next, params, decision.caps, true, (c) => phasesWithMemory(c, params, learned.get(keyOf(c))))).toEqual([]);
          state = decision.nextState;
          caps = decision.caps;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives every connector a cap of 0 or between its minimum and maximum, in steps of 0.1 A', () => {
    fc.assert(
      fc.property(arbSite(), fc.boolean(), ({ snapshot, params }, fresh) => {
        const snap = fresh ? snapshot : { ...snapshot, grid: null };
        const decision = decide(snap, params, initialDecideState);
        expect(decision.caps).toHaveLength(snapshot.connectors.length);
        for (const cap of decision.caps) {
          const charger = params.chargers.find((c) => c.id === cap.chargerId)!;
          if (cap.currentA !== 0) {
            expect(cap.currentA).toBeGreaterThanOrEqual(charger.minCurrentA);
            expect(cap.currentA).toBeLessThanOrEqual(charger.maxCurrentA);
          }
          expect(Math.abs(cap.currentA * 10 - Math.round(cap.currentA * 10))).toBeLessThan(1e-9);
          expect(cap.reason.text.length).toBeGreaterThan(5);
        }
      }),
      RUNS,
    );
  });

  it('decides the same whatever the order of connectors in the snapshot', () => {
    fc.assert(
      fc.property(arbSite(), fc.nat(), ({ snapshot, params }, seed) => {
        const shuffled = [...snapshot.connectors].sort((a, b) => ((keyOf(a).length * 31 + a.connectorId * 7 + seed) % 5) - ((keyOf(b).length * 31 + b.connectorId * 7 + seed) % 5) || (seed % 2 ? 1 : -1) * keyOf(a).localeCompare(keyOf(b)));
        const a = decide(snapshot, params, initialDecideState);
        const b = decide({ ...snapshot, connectors: shuffled }, params, initialDecideState);
        const again = decide(snapshot, params, initialDecideState);
        expect(again).toEqual(a);
        const bCaps = capsByKey(b.caps);
        for (const cap of a.caps) expect(bCaps.get(keyOf(cap))).toEqual(cap);
      }),
      RUNS,
    );
  });

  it('never gives a lower-priority session its minimum while a higher-priority one that would fit in its place gets 0', () => {
    fc.assert(
      fc.property(arbSite({ reservations: false }), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        const byKey = capsByKey(decision.caps);
        const ranked = snapshot.connectors
          .filter((c) => c.session)
          .map((c) => ({ connector: c, cap: byKey.get(keyOf(c))! }))
          .sort((x, y) => x.cap.rank! - y.cap.rank!);
        // Replay the minimum round: sessions above each waiting one at their minimums only (under
        // tier, a higher tier at what it got: it is filled before a lower tier is admitted).
        for (let i = 0; i < ranked.length; i++) {
          const { connector, cap } = ranked[i];
          const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
          const upper = sessionUpperA(connector, params, sitePhases(connector, params).length);
          if (cap.currentA > 0 || upper < charger.minCurrentA) continue;
          const lower = ranked.slice(i + 1).filter((r) => r.cap.currentA > 0);
          if (lower.length === 0) continue;
          const higherTier = (r: (typeof ranked)[number]) => params.priority === 'tier' && r.connector.session!.tierRank !== connector.session!.tierRank;
          const atMinimum = ranked.slice(0, i).map((r) => ({
            ...r.cap,
            currentA: r.cap.currentA > 0 && !higherTier(r) ? params.chargers.find((c) => c.id === r.cap.chargerId)!.minCurrentA : r.cap.currentA,
          }));
          const others = snapshot.connectors.filter((c) => !c.session || ranked.slice(0, i).some((r) => r.connector === c) || c === connector);
          const trial = { ...snapshot, connectors: others };
          const room = freeOnPath(trial, params, atMinimum, connector, true);
          // 0.2 A of slack: decide() rounds limits down and loads up to 0.1 A.
          expect(room, `${keyOf(connector)} (rank ${cap.rank}) waits although its minimum fits`).toBeLessThan(charger.minCurrentA + 0.2);
        }
      }),
      RUNS,
    );
  });

  it('leaves no capacity idle while a session could take more and every limit on its path has room', () => {
    fc.assert(
      fc.property(arbSite({ reservations: false }), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        const byKey = capsByKey(decision.caps);
        for (const connector of snapshot.connectors) {
          if (!connector.session || connector.session.paused) continue;
          const cap = byKey.get(keyOf(connector))!;
          const phases = sitePhases(connector, params).length;
          const upper = sessionUpperA(connector, params, phases);
          const charger = params.chargers.find((c) => c.id === connector.chargerId)!;
          const free = freeOnPath(snapshot, params, decision.caps, connector, true);
          if (cap.currentA === 0) {
            if (upper >= charger.minCurrentA) expect(free, `${keyOf(connector)} waits with room for its minimum`).toBeLessThan(charger.minCurrentA + 0.2);
          } else if (cap.currentA < upper - 1e-9) {
            expect(free, `${keyOf(connector)} at ${cap.currentA} A of ${upper} A with room left`).toBeLessThan(0.2);
          }
        }
      }),
      RUNS,
    );
  });

  it('falls back to the failsafe when the grid reading is stale, within the static limits', () => {
    fc.assert(
      fc.property(arbSite({ gridFresh: false }), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        expect(decision.failsafe).toBe(true);
        expect(violations(snapshot, params, decision.caps, false)).toEqual([]);
        const byKey = capsByKey(decision.caps);
        for (const connector of snapshot.connectors) {
          const cap = byKey.get(keyOf(connector))!;
          expect(cap.reason.kind === 'failsafe' || cap.reason.kind === 'paused').toBe(true);
          if (!connector.session) expect(cap.currentA).toBe(0);
          else expect([0, 6]).toContain(cap.currentA);
        }
      }),
      RUNS,
    );
  });

  it('reports the site headroom as limit less non-EV load less caps', () => {
    fc.assert(
      fc.property(arbSite({ reservations: false }), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        const building = nonEvLoads(snapshot, params, true).building.get('@grid')!;
        for (let p = 0; p < 3; p++) {
          expect(decision.headroom.limitA[p]).toBeCloseTo(params.grid.maxCurrentA * (1 - params.grid.safetyMargin), 0);
          expect(Math.abs(decision.headroom.buildingA[p] - building[p])).toBeLessThanOrEqual(0.2);
          const used = decision.caps
            .filter((c) => sitePhases(snapshot.connectors.find((x) => keyOf(x) === keyOf(c))!, params).includes(p))
            .reduce((sum, c) => sum + c.currentA, 0);
          // The tightest of every limit at the connection point: the fuse, the root circuit and the
          // import power limit (converted to A per phase, three-phase).
          const atGrid = decision.headroom.limitA[p] - decision.headroom.buildingA[p] - used;
          const rootBuilding = nonEvLoads(snapshot, params, true).building.get(params.circuit.id)![p];
          const atRoot = Math.floor(params.circuit.maxCurrentA * (1 - params.grid.safetyMargin) * 10 + 1e-6) / 10 - Math.ceil(rootBuilding * 10 - 1e-6) / 10 - used;
          const powerLimited = params.grid.maxImportPowerW !== undefined || snapshot.signals.importLimitW !== undefined;
          const h = decision.headroom.headroomA[p];
          expect(h).toBeLessThanOrEqual(Math.min(atGrid, atRoot) + 0.05 + 1e-9);
          // Below the model by at most the draws the estimate keeps in the building load (a sample
          // taken after the grid reading counts only as far as an earlier one agrees).
          const drawsA = snapshot.connectors.reduce((sum, c) => sum + Math.max(0, ...c.drawA.map((a) => (Number.isFinite(a) ? a : 0))), 0);
          if (!powerLimited) expect(h).toBeGreaterThanOrEqual(Math.min(atGrid, atRoot) - drawsA - 0.2);
          else expect(h).toBeLessThanOrEqual(decision.headroom.headroomW! / (3 * params.voltageV) + 0.05 + 1e-9);
          expect(decision.headroom.binding.text.length).toBeGreaterThan(5);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('headroom', () => {
  it('reports for given caps what decide() reports for its own', () => {
    fc.assert(
      fc.property(arbSite(), fc.boolean(), ({ snapshot, params }, fresh) => {
        const snap = fresh ? snapshot : { ...snapshot, grid: null };
        const decision = decide(snap, params, initialDecideState);
        expect(headroom(snap, params, decision.caps)).toEqual(decision.headroom);
      }),
      { numRuns: 100 },
    );
  });
});

describe('equal sharing', () => {
  it('gives cars on the same circuit and phases the same current, unless one is held by its own bound', () => {
    fc.assert(
      fc.property(arbSite({ reservations: false }), ({ snapshot, params: base }) => {
        const params = { ...base, priority: 'equal' as const };
        const decision = decide(snapshot, params, initialDecideState);
        const byKey = capsByKey(decision.caps);
        const sessions = snapshot.connectors
          .filter((c) => c.session && !c.session.paused)
          .map((c) => {
            const charger = params.chargers.find((x) => x.id === c.chargerId)!;
            const phases = sitePhases(c, params);
            return { c, charger, phases: phases.join(), capA: byKey.get(keyOf(c))!.currentA, upperA: sessionUpperA(c, params, phases.length) };
          })
          .filter((s) => s.capA > 0);
        for (const s of sessions)
          for (const t of sessions) {
            if (s === t || s.charger.circuitId !== t.charger.circuitId || s.phases !== t.phases || s.charger.minCurrentA !== t.charger.minCurrentA) continue;
            if (t.capA > s.capA + 0.1 + 1e-9) expect(s.capA, `${keyOf(s.c)} ${s.capA} A below ${keyOf(t.c)} ${t.capA} A`).toBeCloseTo(s.upperA, 9);
          }
      }),
      RUNS,
    );
  });
});

describe('reasons', () => {
  it('name a limit that is actually used up, or the bound the cap actually sits at', () => {
    fc.assert(
      fc.property(arbSite({ reservations: false }), ({ snapshot, params }) => {
        const decision = decide(snapshot, params, initialDecideState);
        for (const cap of decision.caps) {
          const connector = snapshot.connectors.find((c) => keyOf(c) === keyOf(cap))!;
          if (!connector.session || cap.currentA === 0) continue;
          const charger = params.chargers.find((c) => c.id === cap.chargerId)!;
          const phases = sitePhases(connector, params);
          const reason = cap.reason;
          const what = `${keyOf(cap)} ${cap.currentA} A: ${reason.text}`;
          switch (reason.kind) {
            case 'circuit':
              expect(freeAt(snapshot, params, decision.caps, reason.circuitId, Number(reason.phase.slice(1)) - 1, true), what).toBeLessThan(0.2);
              break;
            case 'grid-power':
            case 'signal':
              expect(freePowerW(snapshot, params, decision.caps, true), what).toBeLessThan(0.2 * params.voltageV * phases.length);
              break;
            case 'charger':
              expect(cap.currentA, what).toBe(charger.maxCurrentA);
              break;
            case 'car':
              expect(cap.currentA, what).toBe(Math.max(connector.session.carMaxCurrentA!, charger.minCurrentA));
              break;
            case 'plan':
              expect(cap.currentA, what).toBeCloseTo(sessionUpperA(connector, params, phases.length), 9);
              break;
            default:
              throw new Error(`unexpected reason for a charging car: ${what}`);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('over time', () => {
  it('hands capacity a car does not use to others: every limit a reason names is used up, cycle after cycle', () => {
    const arbSteps = fc.array(
      fc.record({ dtMs: fc.integer({ min: 1_000, max: 60_000 }), drawShare: fc.double({ min: 0, max: 1, noNaN: true }) }),
      { minLength: 2, maxLength: 6 },
    );
    fc.assert(
      fc.property(arbSite({ reservations: false }), arbSteps, ({ snapshot, params: base }, steps) => {
        const params = { ...base, deadbandA: 0, capHoldMs: 0 };
        let state: DecideState = initialDecideState;
        let atMs = NOW_MS;
        let caps = decide(snapshot, params, state).caps;
        for (const [n, step] of steps.entries()) {
          atMs += step.dtMs;
          const byKey = capsByKey(caps);
          const next: SiteSnapshot = withMetersSeeingCars(snapshot, {
            ...snapshot,
            atMs,
            grid: snapshot.grid && { ...snapshot.grid, atMs },
            circuitLoads: snapshot.circuitLoads.map((l) => ({ ...l, atMs })),
            connectors: snapshot.connectors.map((c, i) => {
              // Every other car draws only part of its cap: those are the ones that lend. A connector
              // with no car draws nothing, whatever its idle default.
              const capA = c.session ? (byKey.get(keyOf(c))?.currentA ?? 0) : 0;
              const drawn = i % 2 === 0 ? capA * step.drawShare : capA;
              return { ...c, drawAtMs: atMs, drawA: sitePhases(c, params).length === 1 ? [drawn, 0, 0] : [drawn, drawn, drawn] };
            }),
          }, params);
          const decision = decide(next, params, state);
          for (const cap of decision.caps) {
            if (cap.currentA === 0) continue;
            const what = `step ${n}: ${keyOf(cap)} ${cap.currentA} A: ${cap.reason.text}`;
            if (cap.reason.kind === 'circuit') {
              expect(freeAt(next, params, decision.caps, cap.reason.circuitId, Number(cap.reason.phase.slice(1)) - 1, true), what).toBeLessThan(0.2);
            } else if (cap.reason.kind === 'grid-power' || cap.reason.kind === 'signal') {
              const phases = sitePhases(next.connectors.find((c) => keyOf(c) === keyOf(cap))!, params).length;
              expect(freePowerW(next, params, decision.caps, true), what).toBeLessThan(0.2 * params.voltageV * phases);
            } else {
              expect(['charger', 'car', 'plan', 'idle'], what).toContain(cap.reason.kind);
            }
          }
          state = decision.nextState;
          caps = decision.caps;
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('whatever it remembers', () => {
  it('keeps every limit and bound with any memory from a previous cycle', () => {
    const arbMemory = fc.record({
      currentA: fc.constantFrom(0, 0, 6, 10, 16.4, 32, 40),
      changedAtMs: fc.integer({ min: NOW_MS - 600_000, max: NOW_MS }),
      pausedSinceMs: fc.option(fc.integer({ min: NOW_MS - 600_000, max: NOW_MS }), { nil: undefined }),
      underDrawSinceMs: fc.option(fc.integer({ min: NOW_MS - 600_000, max: NOW_MS }), { nil: undefined }),
      lending: fc.option(fc.boolean(), { nil: undefined }),
      sameSession: fc.boolean(),
    });
    fc.assert(
      fc.property(arbSite(), fc.array(arbMemory, { minLength: 16, maxLength: 16 }), ({ snapshot, params }, memories) => {
        const previous: DecideState = {
          connectors: Object.fromEntries(
            snapshot.connectors.map((c, i) => {
              const { sameSession, ...memory } = memories[i % 16];
              return [keyOf(c), { ...memory, sessionId: sameSession ? c.session?.id : 'other' }];
            }),
          ),
        };
        const decision = decide(snapshot, params, previous);
        expect(violations(snapshot, params, decision.caps, true)).toEqual([]);
        for (const cap of decision.caps) {
          const charger = params.chargers.find((c) => c.id === cap.chargerId)!;
          if (cap.currentA !== 0) expect(cap.currentA).toBeGreaterThanOrEqual(charger.minCurrentA);
          expect(cap.currentA).toBeLessThanOrEqual(charger.maxCurrentA);
        }
      }),
      RUNS,
    );
  });
});
