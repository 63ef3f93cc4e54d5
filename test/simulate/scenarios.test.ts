// Proof of decision quality (issue #11) on the generator's seeded days with a limit that binds:
// the planner runs by default, the EMS cuts peak and cost against uncontrolled charging at the
// energy the site can deliver, stays close to the offline optimum (the LP with perfect knowledge)
// under scarcity, and meets a fleet tier in full where the LP can.
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.ts';
import { decideParamsFromConfig } from '../../src/control/decide-params.ts';
import { plannerEnabled } from '../../src/planner/planner-service.ts';
import { HighsSolver } from '../../src/planner/solver-highs.ts';
import { lpOptimum } from '../../src/simulate/lp-optimum.ts';
import { parseReplaySessions, type ReplaySession } from '../../src/simulate/replay-sessions.ts';
import { replay, type ReplayResult } from '../../src/simulate/replay.ts';
import { reportKpis } from '../../src/simulate/simulate-report.ts';
import { generateScenario, type ScenarioKind } from '../fixtures/scenarios/generate-scenario.ts';

const STEP_MS = 120_000;
const solver = new HighsSolver();

async function site(kind: ScenarioKind, mutate: (config: Record<string, any>, sessions: Record<string, any>[]) => void = () => {}) {
  const scenario = generateScenario(kind, 1);
  // Planner on by default: the site file says nothing about enabling it.
  delete (scenario.config.planner as Record<string, unknown>).enabled;
  mutate(scenario.config, scenario.sessions);
  const config: Config = configSchema.parse(scenario.config);
  const params = decideParamsFromConfig(config);
  const sessions: ReplaySession[] = parseReplaySessions(scenario.sessions, config);
  const base = { config, params, sessions, stepMs: STEP_MS };
  const ems = await replay({ ...base, strategy: 'controlled', solver, plan: plannerEnabled(config) });
  const uncontrolled = await replay({ ...base, strategy: 'uncontrolled' });
  const lp = (await lpOptimum(config, sessions, solver, { stepMs: STEP_MS }))!;
  return { config, sessions, ems, uncontrolled, lp };
}

const share = (r: { kpis: { energyDeliveredWh: number; energyRequestedWh: number } }) => r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh;
/** Cost with the demand charge prorated to the replayed day, as the report states it. */
const dayCost = (r: ReplayResult) => reportKpis(r.kpis, 1 / 30.44).totalCost;

describe('decision quality on generated days with a binding limit', () => {
  it('depot: planner on by default, ≥ 40 % peak cut and ≥ 20 % cost cut vs uncontrolled with every kWh delivered', async () => {
    const { config, ems, uncontrolled, lp } = await site('depot');
    expect(plannerEnabled(config)).toBe(true);
    expect(ems.plans).toBeGreaterThan(0);
    expect(uncontrolled.kpis.limitViolations).toBeGreaterThan(0); // the limit binds
    expect(ems.kpis.limitViolations).toBe(0);
    expect(share(lp)).toBeGreaterThan(0.999);
    expect(share(ems)).toBeGreaterThan(0.999);
    expect(ems.kpis.peakW).toBeLessThanOrEqual(0.6 * uncontrolled.kpis.peakW);
    expect(dayCost(ems)).toBeLessThanOrEqual(0.8 * dayCost(uncontrolled));
  }, 240_000);

  it('workplace at 90 A: ≥ 40 % peak cut at 100 % energy met, as the LP optimum', async () => {
    const { ems, uncontrolled, lp } = await site('workplace', (c) => (c.grid.maxCurrent = 90));
    expect(uncontrolled.kpis.limitViolations).toBeGreaterThan(0);
    expect(ems.kpis.limitViolations).toBe(0);
    expect(share(lp)).toBeGreaterThan(0.999);
    expect(share(ems)).toBeGreaterThan(0.999);
    expect(ems.kpis.peakW).toBeLessThanOrEqual(0.6 * uncontrolled.kpis.peakW);
    expect(dayCost(ems)).toBeLessThan(dayCost(uncontrolled));
  }, 240_000);

  it('public hub at 120 A: within 1 point of the LP optimum’s delivered energy, no limit exceeded', async () => {
    const { ems, uncontrolled, lp } = await site('public-hub', (c) => (c.grid.maxCurrent = 120));
    expect(uncontrolled.kpis.limitViolations).toBeGreaterThan(0);
    expect(ems.kpis.limitViolations).toBe(0);
    expect(share(ems)).toBeGreaterThanOrEqual(share(lp) - 0.01);
    expect(ems.kpis.peakW).toBeLessThan(uncontrolled.kpis.peakW);
  }, 240_000);

  it('depot at 90 A under tier: the fleet is met in full where the LP can, the guests are shorted first', async () => {
    const tiers = ['fleet', 'staff', 'guest'];
    const { ems, lp, sessions } = await site('depot', (c, s) => {
      c.grid.maxCurrent = 90;
      delete c.grid.maxPower;
      c.circuits = [];
      c.control.priority = 'tier';
      c.idTags = s.map((x, i) => ({ idTag: (x.idTag = `${tiers[i % 3]}-${i}`), tier: tiers[i % 3] }));
      for (const charger of c.chargers) delete charger.tier;
    });
    const byTier = (tier: string) => {
      const ids = new Set(sessions.filter((s) => s.idTag.startsWith(tier)).map((s) => s.id));
      const mine = ems.sessions.filter((r) => ids.has(r.id));
      return mine.reduce((d, r) => d + r.deliveredWh, 0) / mine.reduce((q, r) => q + r.requestedWh, 0);
    };
    const fleetWh = sessions.filter((s) => s.idTag.startsWith('fleet')).reduce((sum, s) => sum + s.energyWh, 0);
    // The LP delivers more than the fleet asks for: the fleet alone fits.
    expect(lp.kpis.energyDeliveredWh).toBeGreaterThan(fleetWh);
    expect(ems.kpis.limitViolations).toBe(0);
    expect(byTier('fleet')).toBeGreaterThan(0.995);
    expect(byTier('staff')).toBeGreaterThanOrEqual(byTier('guest'));
  }, 240_000);
});
