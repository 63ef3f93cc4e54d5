// The public hub at 100 A on the site plant (issue #11): real cars taper near full, draw whole
// amps and ramp, so a plan that counts on nominal power until departure misses sessions at the
// end. The planner learns the whole-amp gap and the taper from each car's draw, decide() gives
// whole-amp cars whole amps, and plans end a margin before departure (within the stay's slack).
// Before this: 89.1 % of the energy and 12.5 % of sessions met (fcfs), equal share 87.5 % / 32.5 %.
import { describe, expect, it } from 'vitest';
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
  return { share: r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh, met: r.kpis.sessionSuccessRate, emsCausedAs: r.plant!.emsCausedAs };
}

describe('public hub at 100 A on the plant', () => {
  it('delivers more than equal share and meets more sessions under the site’s own scheme (fcfs), never exceeding a limit', async () => {
    const equal = await hub('equal-share');
    const ems = await hub('controlled');
    // Measured (seed 1): EMS 91.2 % of the energy, 35 % of sessions met (fcfs, the site's scheme);
    // equal share 87.5 % / 32.5 %. Seeds 2 and 3 are not this good on sessions met (see the issue).
    expect(ems.share).toBeGreaterThan(equal.share + 0.03);
    expect(ems.met).toBeGreaterThan(equal.met);
    expect(ems.emsCausedAs).toBe(0);
  }, 600_000);
});
