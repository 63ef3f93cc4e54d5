// The #9 site the session-6 independent cases share: a 64 A connection point, a SunSpec 203 grid
// meter (pymodbus), four strict OCPP 1.6J chargers, four three-phase cars that follow a new limit
// after 1.5–4 s and ramp at 10 A/s, priority equal, a real `ems run`. Figures are taken on the
// TRUE currents the site samples every 100 ms.
import { Ev } from '../fixtures/independent/ev.ts';
import { Rig } from '../fixtures/independent/rig.ts';
import { figures, meanOf, round1, type Sample } from '../fixtures/independent/site.ts';

export const FUSE_A = 64;
/** What the EMS may hand out per phase: the fuse less its 5 % safety margin. */
export const BUDGET_A = FUSE_A * 0.95;
export const CHARGERS = ['CP1', 'CP2', 'CP3', 'CP4'];
const RESPONSE_S = [1.5, 2.5, 3.5, 4];

export const evTotal = (s: Sample): number => Object.values(s.drawA).reduce((a, b) => a + b, 0);

/** Starts the rig (EMS, meter, chargers connected; no car yet). */
export function startSite(rig: Rig, buildingA: [number, number, number], extra?: Record<string, unknown>): Promise<void> {
  return rig.start({ gridMaxA: FUSE_A, chargers: CHARGERS.map((id) => ({ id })), buildingA, extra });
}

/** Plugs a three-phase car into every charger at once; resolves when every StartTransaction is answered. */
export async function plugInFour(rig: Rig): Promise<void> {
  await Promise.all(
    rig.site.chargers.map((cp, i) => cp.plugIn(new Ev({ name: `car${i + 1}`, maxA: 32, phases: 3, responseDelayS: RESPONSE_S[i]! }), `TAG${i + 1}`)),
  );
}

/** Headroom use over `samples`: mean EV current (A per phase, all cars) against `budgetA`, the lowest car. */
export function use(samples: Sample[], budgetA: number) {
  const meanEvA = meanOf(samples, evTotal);
  return {
    meanEvA,
    budgetA: round1(budgetA),
    usePct: round1((100 * meanEvA) / budgetA),
    minCarA: round1(Math.min(...samples.flatMap((s) => Object.values(s.drawA)))),
  };
}

/** The worst phase of the true grid over `samples` against the fuse. */
export function gridFigures(samples: Sample[], limitA = FUSE_A) {
  return figures(samples, (s) => s.gridA, limitA);
}

/** The lowest pilot each charger offered over `samples` (a pause shows as < 6 A). */
export function lowestPilots(samples: Sample[]): Record<string, number> {
  return Object.fromEntries(CHARGERS.map((id) => [id, round1(Math.min(...samples.map((s) => s.pilotA[id] ?? 0)))]));
}
