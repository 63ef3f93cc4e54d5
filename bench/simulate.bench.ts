// ems simulate bench (issue #11): replay time of a ~960-session month at 5-min steps with the
// planner, and the gap to the offline optimum (LP with perfect knowledge) per priority scheme on
// generated days whose limit binds.
import { configSchema, type Config } from '../config/schema.ts';
import { decideParamsFromConfig } from '../src/control/decide-params.ts';
import { HighsSolver } from '../src/planner/solver-highs.ts';
import { lpOptimum } from '../src/simulate/lp-optimum.ts';
import { parseReplaySessions, type ReplaySession } from '../src/simulate/replay-sessions.ts';
import { replayOnPlant } from '../src/simulate/plant-replay.ts';
import { replay } from '../src/simulate/replay.ts';
import { generateScenario, type ScenarioSession } from '../test/fixtures/scenarios/generate-scenario.ts';
import type { BenchTable } from './types.ts';

const DAY_MS = 86_400_000;
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** 31 generated workplace days, 31 cars a day on 31 chargers: 961 sessions. */
function month(): { config: Config; sessions: ReplaySession[] } {
  const first = generateScenario('workplace', 1, { sessions: 31 });
  const all: ScenarioSession[] = [];
  for (let d = 0; d < 31; d++) {
    const day = generateScenario('workplace', d + 1, { sessions: 31 });
    for (const s of day.sessions) {
      all.push({ ...s, id: `d${d}-${s.id}`, arrival: new Date(Date.parse(s.arrival) + d * DAY_MS).toISOString(), departure: new Date(Date.parse(s.departure) + d * DAY_MS).toISOString() });
    }
  }
  const config = configSchema.parse(first.config);
  return { config, sessions: parseReplaySessions(all, config) };
}

async function monthReplay(): Promise<BenchTable> {
  const { config, sessions } = month();
  const params = decideParamsFromConfig(config);
  const solver = new HighsSolver();
  const rows: (string | number)[][] = [];
  const worst: string[] = [];
  const runs = [
    ['site plant, planner on (default)', true, false],
    ['site plant, planner off', false, false],
    ['instant model (--ideal), planner on', true, true],
  ] as const;
  // SIMULATE_BENCH=month-plant: the first run only (the site plant with the planner).
  for (const [name, plan, ideal] of process.env.SIMULATE_BENCH === 'month-plant' ? runs.slice(0, 1) : runs) {
    const cpuStarted = process.cpuUsage();
    const r = await (ideal ? replay : replayOnPlant)({ config, params, sessions, strategy: 'controlled', solver, plan, stepMs: 300_000 });
    const cpu = process.cpuUsage(cpuStarted);
    const k = r.kpis;
    const p = r.plant;
    rows.push([
      name,
      sessions.length,
      Number((r.wallMs / 1000).toFixed(1)),
      Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
      r.plans,
      Number(median(r.planSolveMs).toFixed(1)),
      p ? p.cycles : 'n/a',
      p ? `${p.fineSteps} / ${p.longSteps}` : 'n/a',
      pct(k.energyDeliveredWh / k.energyRequestedWh),
      pct(k.sessionSuccessRate),
      Number((k.peakW / 1000).toFixed(1)),
      p ? `${p.emsCausedAs} / ${p.outsideAs}` : `${k.limitViolations} steps`,
    ]);
    // Any A·s over a limit is a safety question: name the episodes, so that they can be replayed.
    if (p && p.emsCausedAs + p.outsideAs > 0) {
      const at = (ms: number) => new Date(ms).toISOString().slice(5, 19).replace('T', ' ');
      const list = (es: typeof p.worst) => es.map((e) => `${e.node} L${e.phase + 1} ${at(e.fromMs)}–${at(e.toMs)} UTC ${e.ampereSeconds} A·s (peak ${e.peakA} A, limit ${e.limitA.toFixed(1)} A)`).join('; ') || 'none';
      worst.push(`${name}: ${p.episodes} episodes over a limit (${p.emsCausedEpisodes} EMS-caused); the largest EMS-caused: ${list(p.worst)}; the largest after an outside change: ${list(p.worstOutside)}`);
    }
  }
  const wall = rows[0][2] as number;
  return {
    title: 'ems simulate: a 31-day workplace month, longest step 5 min (replay engine in process)',
    columns: ['run', 'sessions', 'replay wall time (s)', 'CPU (s)', 'plans solved', 'median plan (ms)', 'control cycles', 'plant steps fine / long', 'energy met', 'sessions met', 'peak (kW)', 'A·s over: controller / outside'],
    rows,
    notes: [
      `target (issue #11): < 10 s for the month with the planner on the plant — ${wall < 10 ? 'met' : 'NOT met'} (${wall} s)`,
      'on the plant the control step runs as the live loop does (every second and on every reading) while anything moves, and once per long step while the site is quiet; long steps are capped at half the TxProfile duration less 10 s (the dispatcher renews profiles then), so 140 s here rather than 5 min',
      'the wall time includes other processes sharing the 2 cores; CPU is this process only',
      'plans are solved every slot and on every arrival, departure and car limit learnt, as the live planner does',
      ...worst,
    ],
  };
}

async function gapToOptimum(): Promise<BenchTable> {
  const solver = new HighsSolver();
  const rows: (string | number)[][] = [];
  const cases: [string, (c: Record<string, any>) => void][] = [
    ['depot, 90 A main fuse', (c) => { c.grid.maxCurrent = 90; delete c.grid.maxPower; c.circuits = []; }],
    ['workplace, 90 A', (c) => { c.grid.maxCurrent = 90; }],
    ['public hub, 100 A', (c) => { c.grid.maxCurrent = 100; }],
  ];
  for (const [name, mutate] of cases) {
    const kind = name.startsWith('depot') ? 'depot' : name.startsWith('workplace') ? 'workplace' : 'public-hub';
    for (const scheme of ['fcfs', 'departure', 'tier', 'equal'] as const) {
      const scenario = generateScenario(kind, 1);
      mutate(scenario.config);
      (scenario.config.control as Record<string, unknown>).priority = scheme;
      const config = configSchema.parse(scenario.config);
      const params = decideParamsFromConfig(config);
      const sessions = parseReplaySessions(scenario.sessions, config);
      const lp = await lpOptimum(config, sessions, solver, { stepMs: 300_000 });
      const lpShare = lp ? lp.kpis.energyDeliveredWh / lp.kpis.energyRequestedWh : Number.NaN;
      const cell = async (plan: boolean) => {
        const r = await replay({ config, params, sessions, strategy: 'controlled', solver, plan, stepMs: 300_000 });
        const share = r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh;
        return [pct(share), Number(((lpShare - share) * 100).toFixed(2))];
      };
      rows.push([name, scheme, pct(lpShare), ...(await cell(true)), ...(await cell(false))]);
    }
  }
  return {
    title: 'Gap to the offline optimum (LP, perfect knowledge) in energy delivered, per priority scheme, 5-min steps',
    columns: ['site', 'scheme', 'LP optimum', 'EMS with planner', 'gap (points)', 'control step alone', 'gap (points)'],
    rows,
    notes: ['The replay knows what the live system knows (see docs/simulate.md); the LP knows every arrival, need, car and the true building load and PV, in 15-min slot averages without a minimum current.'],
  };
}

export default async function simulateBench(): Promise<BenchTable[]> {
  // SIMULATE_BENCH=month (or month-plant): the month replay only (the gap table takes long).
  if (process.env.SIMULATE_BENCH?.startsWith('month')) return [await monthReplay()];
  return [await gapToOptimum(), await monthReplay()];
}
