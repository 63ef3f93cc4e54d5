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
  // start-up pauses it caused) cost each arrival's neighbours a little: 27.5 %, 11 of the 17.
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
  // surplus a zero-export plant loses) meet 20 % here, and 1.08 against 1.31 sessions-met rates
  // summed over seeds 1–6 (energy −0.6 point): not a lottery. Without the demand charge they cost
  // nothing (seeds 1–4: 22.5 / 23.1 / 22.5 / 15 % against 22.5 / 23.1 / 20 / 17.5 %). The old view
  // let the plan count PV beyond the building as room in the morning, which raised the day's peak
  // (62.7 kW by 10:30 on seed 1); honest, the peak stays at 59.3 kW, and from 15:15 the plan holds
  // the grid under it, filling the afternoon's cars towards their departures. Then a car the plan
  // runs flat out and cannot fill loses its ceiling (plan-ceilings.ts) and takes the charger's 32 A
  // by fcfs for ~60 s of every ~75 s while drawing 9–13 A; three cars sit at 6 A with the grid at
  // 48–54 kW of 65.5, and three sessions (guest-8, -21, -24) end 0.7–1.1 kWh short. Capping that
  // lift at 1.25 × the assumed max (honest inputs, seeds 1–3) lost 3.4–10.2 points of energy and
  // met 22.5 / 15.4 / 27.5 % against 20 / 20.5 / 20 %: not the fix either.
  // Known gap (#11): the EMS meets fewer sessions than equal share here (30 % vs 32.5 %; 12 vs 13
  // of the meetable ones), though it delivers more energy and leaves a third as much unmet.
  it.fails('meets at least as many sessions as equal share [known failure #11: 30 % vs 32.5 %]', () => {
    expect(ems.met).toBeGreaterThanOrEqual(equal.met);
    expect(over(meetable, ems.unmetWh).met).toBeGreaterThanOrEqual(over(meetable, equal.unmetWh).met);
  });
});
