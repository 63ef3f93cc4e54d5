import { configSchema } from '../config/schema.ts';
import { decideParamsFromConfig } from '../src/control/decide-params.ts';
import { HighsSolver } from '../src/planner/solver-highs.ts';
import { parseReplaySessions } from '../src/simulate/replay-sessions.ts';
import { replay } from '../src/simulate/replay.ts';
import { lpOptimum } from '../src/simulate/lp-optimum.ts';
import { generateScenario } from '../test/fixtures/scenarios/generate-scenario.ts';
const solver = new HighsSolver();
const stepMs = 120_000;
async function run(name: string, mutate: (c: any, s: any[]) => void) {
  const sc = generateScenario(name.split(':')[0] as any, 1);
  mutate(sc.config, sc.sessions);
  const config = configSchema.parse(sc.config);
  const params = decideParamsFromConfig(config);
  const sessions = parseReplaySessions(sc.sessions, config);
  const ems = await replay({ config, params, sessions, strategy: 'controlled', solver, stepMs });
  const unc = await replay({ config, params, sessions, strategy: 'uncontrolled', stepMs });
  const lp = await lpOptimum(config, sessions, solver, { stepMs });
  const f = (k: any) => `deliv ${(k.energyDeliveredWh / k.energyRequestedWh * 100).toFixed(2)}% peak ${(k.peakW/1000).toFixed(1)} cost ${k.totalCost.toFixed(1)} viol ${k.limitViolations}`;
  console.log(name, '| EMS', f(ems.kpis), '| UNC', f(unc.kpis), '| LP', f(lp!.kpis), `| peakcut ${(1 - ems.kpis.peakW / unc.kpis.peakW).toFixed(3)} costcut ${(1 - (ems.kpis.energyCost + ems.kpis.demandCharge) / (unc.kpis.energyCost + unc.kpis.demandCharge)).toFixed(3)} wall ${(ems.wallMs/1000).toFixed(1)}s`);
  if (name.includes('tiers')) {
    const byTier: Record<string, [number, number]> = {};
    for (const r of ems.sessions) { const t = sc.sessions.find((s: any) => s.id === r.id)!.idTag.slice(0, 1); byTier[t] ??= [0, 0]; byTier[t][0] += r.deliveredWh; byTier[t][1] += r.requestedWh; }
    console.log('  tiers', Object.entries(byTier).map(([t, [d, q]]) => `${t}: ${(d / q * 100).toFixed(1)}%`).join(' '));
  }
}
const which = process.argv[2];
if (!which || which === 'depot') await run('depot', () => {});
if (!which || which === 'workplace') await run('workplace', () => {});
if (!which || which === 'hub') await run('public-hub:tight', (c) => { c.grid.maxCurrent = 120; });
if (!which || which === 'tiers') await run('depot:tiers', (c, s) => {
  c.grid.maxCurrent = 90; delete c.grid.maxPower; c.circuits = []; c.control.priority = 'tier';
  c.idTags = s.map((x: any, i: number) => ({ idTag: x.idTag = ['F', 'S', 'G'][i % 3] + i, tier: ['fleet', 'staff', 'guest'][i % 3] }));
  for (const ch of c.chargers) delete ch.tier;
});
if (!which || which === 'wp90') await run('workplace:90A', (c) => { c.grid.maxCurrent = 90; });
