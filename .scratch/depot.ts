import { configSchema } from '../config/schema.ts';

import { decideParamsFromConfig } from '../src/control/decide-params.ts';
import { HighsSolver } from '../src/planner/solver-highs.ts';
import { parseReplaySessions } from '../src/simulate/replay-sessions.ts';
import { replay } from '../src/simulate/replay.ts';
import { generateScenario } from '../test/fixtures/scenarios/generate-scenario.ts';
const [kind, seed, step] = [process.argv[2] ?? 'depot', Number(process.argv[3] ?? 7), Number(process.argv[4] ?? 120)];
const scenario = generateScenario(kind as any, seed);
const config = configSchema.parse(scenario.config);
const params = decideParamsFromConfig(config);
const sessions = parseReplaySessions(scenario.sessions, config);
const r = await replay({ config, params, sessions, strategy: 'controlled', solver: new HighsSolver(), stepMs: step * 1000, idealSite: process.argv[5] === 'ideal' });
console.log(r.kpis.sessionSuccessRate, r.kpis.unmetWh, r.kpis.peakW, r.kpis.totalCost);
for (const s of r.sessions) if (s.unmetWh > 1) console.log(s);
