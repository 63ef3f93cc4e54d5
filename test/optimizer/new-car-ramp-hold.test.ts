// #9: a 0 A sample right after a car plugs in is no proof that the car follows a cut. Seen in the
// demo at every start (`npm start`, 3 of 3 runs): a car started under its connector's 9 A default,
// the EMS cut it to 0 A at once (the planner had it wait), the charger accepted the 0 A and applied
// it up to 2 s later, and the car, at 0 A in its first sample, ramped to 9 A meanwhile. The EMS took
// that first 0 A sample as proof the car had followed the cut and logged "reports 9 A, above its
// 0 A limit: it over-reports or ignores its cap" about a charger that did nothing wrong.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../optimizer/index.ts';
import type { ConnectorSnapshot, DecideState, Decision } from '../../optimizer/index.ts';
import { capsOf, charger, circuit, params, session, T0 } from './scenario.ts';

const FUSE_A = 30;
const BUILDING_A = 2;
const P = params({
  grid: { maxCurrentA: FUSE_A, safetyMargin: 0.05, metered: true },
  circuit: circuit('main', FUSE_A, ['NEW', 'BUSY']),
  chargers: [charger('NEW', 'main'), charger('BUSY', 'main')],
  priority: 'equal',
  carResponseMs: 5_000,
});

const busyCar = session('tx-busy', { startedAtMs: T0 - 600_000 });
/** The new car plugs in at 1 s and is paused (0 A) from its first cycle, as a plan that makes it wait. */
const newCar = session('tx-new', { startedAtMs: T0 + 1_000, paused: true });

/** NEW's samples: before the car, 0 A; its first sample at 1.2 s, 0 A; at 3.5 s, 9 A (ramped under the default). */
function newDraw(tMs: number): { drawA: [number, number, number]; drawAtMs: number } {
  if (tMs >= 3_500) return { drawA: [9, 9, 9], drawAtMs: T0 + 3_500 };
  if (tMs >= 1_200) return { drawA: [0, 0, 0], drawAtMs: T0 + 1_200 };
  return { drawA: [0, 0, 0], drawAtMs: T0 + Math.floor(tMs / 1_000) * 1_000 };
}

function run(untilMs: number): { decisions: Map<number, Decision> } {
  let state: DecideState = initialDecideState;
  const decisions = new Map<number, Decision>();
  let busyCapA = 6;
  for (let t = -10_000; t <= untilMs; t += 200) {
    const nowMs = T0 + t;
    const started = t >= 1_000;
    const connectors: ConnectorSnapshot[] = [
      {
        chargerId: 'NEW',
        connectorId: 1,
        status: started ? 'Charging' : 'Available',
        session: started ? newCar : null,
        ...newDraw(t),
        online: true,
        // The connector default of 9 A confirmed before the car; the 0 A cut accepted with the first cycle that sees the car.
        installedCapA: started && t >= 1_200 ? 0 : 9,
      },
      {
        chargerId: 'BUSY',
        connectorId: 1,
        status: 'Charging',
        session: busyCar,
        // A car that takes whatever it is given (up to 32 A), seen a second later.
        drawA: [busyCapA, busyCapA, busyCapA],
        drawAtMs: nowMs - 1_000,
        online: true,
        installedCapA: busyCapA,
      },
    ];
    // The grid meter sees the building and what the cars really draw: NEW ramps from 1.5 s to 9 A by 2.5 s.
    const newTrueA = t < 1_500 ? 0 : Math.min(9, ((t - 1_500) / 1_000) * 9);
    const gridA = BUILDING_A + busyCapA + newTrueA;
    const decision = decide({ atMs: nowMs, grid: { atMs: nowMs - 50, currentA: [gridA, gridA, gridA], powerW: 3 * gridA * 230 }, circuitLoads: [], connectors, signals: {} }, P, state);
    state = decision.nextState;
    decisions.set(t, decision);
    busyCapA = capsOf(decision).BUSY!;
  }
  return { decisions };
}

describe('a new car cut at once, before its charger applies the cut', () => {
  const { decisions } = run(4_000);

  it('does not call the charger an over-reporter when the car draws what its default allowed', () => {
    const flagged = [...decisions].filter(([, d]) => (d.findings ?? []).some((f) => f.key === 'over-cap:NEW/1')).map(([t]) => t);
    expect(flagged).toEqual([]);
  });
});
