// The public hub at 100 A on the site plant (issue #11): real cars taper near full, draw whole
// amps and ramp, so a plan that counts on nominal power until departure misses sessions at the
// end. The planner learns the whole-amp gap and the taper from each car's draw, decide() gives
// whole-amp cars whole amps, and plans end a margin before departure (within the stay's slack).
// Before this: 89.1 % of the energy and 12.5 % of sessions met (fcfs), equal share 87.5 % / 32.5 %.
//
// Sessions met is not a fair yardstick here on its own: the generator asks each car for 90 % of
// what its nominal power fits in the stay, and plant cars taper above 80 % SoC, so 23 of the 40
// sessions are missed even uncontrolled with no fuse at all (42.5 % met, 97.6 % of the energy). The
// LP optimum (99.3 %, 97.5 % met) knows no taper. So the test also compares what each strategy
// leaves unmet on the 17 sessions the plant can meet at all (uncontrolled: < 0.1 kWh unmet).
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { replayOnPlant } from '../../src/simulate/plant-replay.ts';
import { parseReplaySessions } from '../../src/simulate/replay-sessions.ts';
import type { Strategy } from '../../src/simulate/replay.ts';
import { generateScenario } from '../fixtures/scenarios/generate-scenario.ts';

const solver = new HighsSolver();

async function hub(strategy: Strategy) {
  const scenario = generateScenario('public-hub', 1);
  const raw = scenario.config as Record<string, any>;
  raw.grid.maxCurrent = 100;
  const config = configSchema.parse(raw);
  const sessions = parseReplaySessions(scenario.sessions, config);
  const r = await replayOnPlant({ config, params: decideParamsFromConfig(config), sessions, strategy, solver, stepMs: 120_000 });
  const unmetWh = new Map(r.sessions.map((x) => [x.id, x.unmetWh]));
  return { share: r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh, met: r.kpis.sessionSuccessRate, emsCausedAs: r.plant!.emsCausedAs, unmetWh };
}

/** Sessions met (< 0.1 kWh unmet, ACN-Sim's rule) and kWh left unmet, over the given sessions. */
function over(ids: readonly string[], unmetWh: ReadonlyMap<string, number>) {
  return { met: ids.filter((id) => unmetWh.get(id)! < 100).length, unmetKWh: ids.reduce((sum, id) => sum + unmetWh.get(id)!, 0) / 1000 };
}

describe('public hub at 100 A on the plant', () => {
  let physical: Awaited<ReturnType<typeof hub>>;
  let equal: Awaited<ReturnType<typeof hub>>;
  let ems: Awaited<ReturnType<typeof hub>>;
  let meetable: string[];
  beforeAll(async () => {
    physical = await hub('uncontrolled');
    equal = await hub('equal-share');
    ems = await hub('controlled');
    meetable = [...physical.unmetWh].filter(([, wh]) => wh < 100).map(([id]) => id);
  }, 900_000);

  // Measured (seed 1, fcfs, the site's scheme): uncontrolled without a fuse 97.6 % of the energy,
  // 42.5 % of sessions met; equal share 87.5 % / 32.5 %, on the 17 meetable sessions it meets 13 and
  // leaves 38.0 kWh unmet (it shorts the two biggest by 13 kWh each). The EMS: 89.8 % / 25 % before
  // plan targets counted a car's presence in its last slot (plan-extract.ts planTargetsAt), then
  // 91.8 % / 30 % (12 meetable met, 11.4 kWh unmet). A start-up estimation that counted a rise
  // next to a car without a sample as building load (#9 F7, 0c81dbd, reverted in session 6 for the
  // start-up pauses it caused) cost each arrival's neighbours a little: 27.5 %, 11 of the 17. With
  // honest planner inputs and a lifted car held near its draw (below): 94.2 % / 32.5 %, 13 of the 17
  // met, 5.2 kWh unmet on them; judging its draw only once it had time to follow its cap: 94.1 % /
  // 35 %, 14 of the 17, 5.1 kWh.
  it('delivers more than equal share, leaves less unmet on the sessions the plant can meet, and never exceeds a limit', () => {
    const emsOn = over(meetable, ems.unmetWh);
    const equalOn = over(meetable, equal.unmetWh);
    expect(meetable.length).toBe(17);
    expect(ems.share).toBeGreaterThan(equal.share + 0.03);
    expect(ems.met).toBeGreaterThanOrEqual(0.25);
    expect(emsOn.unmetKWh).toBeLessThan(equalOn.unmetKWh / 2);
    expect(ems.emsCausedAs).toBe(0);
  });

  // Honest planner inputs (e391895c: the plant's 15-min sample, the building net of PV, no PV
  // surplus a zero-export plant loses) first met 20 % here: from 15:15 the plan holds the grid under
  // the day's peak, and a tapering car (planned at its average power over what it still wants, and
  // short) was lifted off its plan to the charger's 32 A (plan-ceilings.ts) while drawing 9–14 A;
  // decide() counted the 32 A against the fuse by fcfs, and cars the plan gave 15 A sat at 6 A with
  // 11–17 kW of the fuse unused. Such a car is now lifted only to its draw + 2 A once it draws
  // clearly less than its cap (a sample taken 10 s or more after the cap). Measured (seeds 1–5
  // summed, EMS / equal share, `SIMULATE_BENCH=hub npm run bench -- simulate`): 3,259.7 / 3,086.9
  // kWh, 62 / 60 sessions met (shifted 7 min: 3,258.2 kWh, 60 met); seed 1 94.1 % / 35 % against
  // equal share's 87.5 % / 32.5 %. Not on every seed: the EMS (fcfs) still meets fewer sessions than
  // equal share on some (it delivers more and shorts more cars a little, not fewer a lot).
  it('meets at least as many sessions as equal share (seed 1: 14 of 40 against 13, 14 of the 17 meetable ones against 13)', () => {
    expect(ems.met).toBeGreaterThanOrEqual(equal.met);
    expect(over(meetable, ems.unmetWh).met).toBeGreaterThanOrEqual(over(meetable, equal.unmetWh).met);
  });
});
