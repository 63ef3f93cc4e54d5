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

/** 31 generated workplace days, 31 cars a day on 31 chargers: 961 sessions (or the days [from, to)). */
function month(fromDay = 0, toDay = 31): { config: Config; sessions: ReplaySession[] } {
  const first = generateScenario('workplace', 1, { sessions: 31 });
  const all: ScenarioSession[] = [];
  for (let d = fromDay; d < toDay; d++) {
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

/** Smallest, median and largest of a list, with the mean: how far one trajectory is from another. */
function spread(xs: number[]): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `${sorted[0]!.toFixed(1)} / ${median(xs).toFixed(1)} / ${sorted.at(-1)!.toFixed(1)} (mean ${mean.toFixed(1)})`;
}

/**
 * A·s over a limit on the site plant over several slices of the month and plant seeds, not one
 * trajectory: the month's overshoot comes from a few building steps the control cannot see coming,
 * so one replay's figure moves by hundreds of A·s with any change that shifts the trajectory.
 * OVERSHOOT_SLICES=a-b,c-d (days, end exclusive) and OVERSHOOT_SEEDS=1,2 choose them.
 */
async function overshootSlices(): Promise<BenchTable> {
  const slices = (process.env.OVERSHOOT_SLICES ?? '0-2,6-8,12-14,18-20,24-26').split(',').map((r) => r.split('-').map(Number) as [number, number]);
  const seeds = (process.env.OVERSHOOT_SEEDS ?? '1,2').split(',').map(Number);
  const solver = new HighsSolver();
  const rows: (string | number)[][] = [];
  const ems: number[] = [];
  const outside: number[] = [];
  const met: number[] = [];
  let cpuS = 0;
  for (const [from, to] of slices) {
    const { config, sessions } = month(from, to);
    const params = decideParamsFromConfig(config);
    for (const seed of seeds) {
      const cpuStarted = process.cpuUsage();
      const r = await replayOnPlant({ config, params, sessions, strategy: 'controlled', solver, seed, stepMs: 300_000 });
      const cpu = process.cpuUsage(cpuStarted);
      cpuS += (cpu.user + cpu.system) / 1e6;
      const p = r.plant!;
      ems.push(p.emsCausedAs);
      outside.push(p.outsideAs);
      met.push(r.kpis.sessionSuccessRate * 100);
      const worstOutside = p.worstOutside[0];
      rows.push([
        `days ${from}–${to - 1}`,
        seed,
        sessions.length,
        pct(r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh),
        pct(r.kpis.sessionSuccessRate),
        p.emsCausedAs,
        p.outsideAs,
        `${p.episodes} (${p.emsCausedEpisodes})`,
        worstOutside ? `${worstOutside.ampereSeconds} A·s, ${worstOutside.peakA} A on ${worstOutside.limitA.toFixed(1)} A` : 'none',
        Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
      ]);
    }
  }
  return {
    title: 'Overshoot on the site plant over slices of the workplace month and plant seeds (5-min longest step, planner on)',
    columns: ['slice', 'seed', 'sessions', 'energy met', 'sessions met', 'A·s over, EMS-caused', 'A·s over, after an outside change', 'episodes (EMS-caused)', 'largest after an outside change', 'CPU (s)'],
    rows,
    notes: [
      `EMS-caused A·s, min / median / max over ${rows.length} runs: ${spread(ems)}`,
      `A·s after an outside change (a building step inside the reaction window), min / median / max: ${spread(outside)}`,
      `sessions met, min / median / max: ${spread(met)} %`,
      `CPU for all runs: ${cpuS.toFixed(0)} s (this process only)`,
      'read the spread, not one run: a change that moves the trajectory moves which building steps land on a full site',
    ],
  };
}

/**
 * The public hub at 100 A on the site plant (test/simulate/hub-plant.test.ts) over several seeds and
 * with every session shifted off the quarter hour: the EMS against equal share, with the test's bars
 * per run. The test asserts on seed 1 unshifted only; a change that holds its bars there but loses
 * over seeds or shifted sessions is noise-fitted. HUB_SEEDS=1,2,3 and HUB_SHIFTS_MIN=0,7 choose them.
 */
async function hubSeeds(): Promise<BenchTable> {
  const seeds = (process.env.HUB_SEEDS ?? '1,2,3,4,5').split(',').map(Number);
  const shifts = (process.env.HUB_SHIFTS_MIN ?? '0,7').split(',').map(Number);
  const solver = new HighsSolver();
  const rows: (string | number)[][] = [];
  const sums = new Map<number, { emsWh: number; equalWh: number; emsMet: number; equalMet: number; emsUnmetKWh: number; equalUnmetKWh: number; emsCost: number }>();
  for (const shiftMin of shifts) {
    for (const seed of seeds) {
      const scenario = generateScenario('public-hub', seed);
      (scenario.config as Record<string, any>).grid.maxCurrent = 100;
      const config = configSchema.parse(scenario.config);
      const shifted = scenario.sessions.map((s) => ({ ...s, arrival: new Date(Date.parse(s.arrival) + shiftMin * 60_000).toISOString(), departure: new Date(Date.parse(s.departure) + shiftMin * 60_000).toISOString() }));
      const sessions = parseReplaySessions(shifted, config);
      const run = (strategy: 'uncontrolled' | 'equal-share' | 'controlled') => replayOnPlant({ config, params: decideParamsFromConfig(config), sessions, strategy, solver, stepMs: 120_000 });
      const [physical, equal, ems] = [await run('uncontrolled'), await run('equal-share'), await run('controlled')];
      const unmet = (r: typeof ems) => new Map(r.sessions.map((x) => [x.id, x.unmetWh]));
      const meetable = physical.sessions.filter((x) => x.unmetWh < 100).map((x) => x.id);
      const on = (r: typeof ems) => {
        const u = unmet(r);
        return { met: meetable.filter((id) => u.get(id)! < 100).length, kWh: meetable.reduce((sum, id) => sum + u.get(id)!, 0) / 1000 };
      };
      const met = (r: typeof ems) => r.sessions.filter((x) => x.unmetWh < 100).length;
      const share = (r: typeof ems) => r.kpis.energyDeliveredWh / r.kpis.energyRequestedWh;
      const [emsOn, equalOn] = [on(ems), on(equal)];
      const failed = [
        share(ems) > share(equal) + 0.03 ? '' : 'energy',
        ems.kpis.sessionSuccessRate >= 0.25 ? '' : 'met 25 %',
        emsOn.kWh < equalOn.kWh / 2 ? '' : 'unmet half',
        ems.plant!.emsCausedAs === 0 ? '' : 'A·s',
        met(ems) >= met(equal) && emsOn.met >= equalOn.met ? '' : 'met vs equal',
      ].filter(Boolean);
      const sum = sums.get(shiftMin) ?? { emsWh: 0, equalWh: 0, emsMet: 0, equalMet: 0, emsUnmetKWh: 0, equalUnmetKWh: 0, emsCost: 0 };
      sums.set(shiftMin, {
        emsWh: sum.emsWh + ems.kpis.energyDeliveredWh,
        equalWh: sum.equalWh + equal.kpis.energyDeliveredWh,
        emsMet: sum.emsMet + met(ems),
        equalMet: sum.equalMet + met(equal),
        emsUnmetKWh: sum.emsUnmetKWh + emsOn.kWh,
        equalUnmetKWh: sum.equalUnmetKWh + equalOn.kWh,
        emsCost: sum.emsCost + ems.kpis.totalCost,
      });
      rows.push([
        seed,
        shiftMin,
        `${pct(share(ems))} (${(ems.kpis.energyDeliveredWh / 1000).toFixed(1)} kWh)`,
        `${met(ems)} / ${ems.sessions.length}`,
        `${pct(share(equal))} (${(equal.kpis.energyDeliveredWh / 1000).toFixed(1)} kWh)`,
        met(equal),
        `${emsOn.met} / ${equalOn.met} of ${meetable.length}`,
        `${emsOn.kWh.toFixed(1)} / ${equalOn.kWh.toFixed(1)}`,
        ems.plant!.emsCausedAs,
        `${(ems.kpis.peakW / 1000).toFixed(1)} kW / ${ems.kpis.totalCost.toFixed(2)}`,
        failed.length ? failed.join(', ') : 'all hold',
      ]);
    }
  }
  return {
    title: 'Public hub at 100 A on the site plant, EMS (fcfs, planner) against equal share, per seed and shift of every session',
    columns: ['seed', 'shift (min)', 'EMS energy', 'EMS met', 'equal share energy', 'equal share met', 'meetable met, EMS / equal', 'kWh unmet on them, EMS / equal', 'EMS-caused A·s', 'EMS peak / total cost', "hub-plant test's bars"],
    rows,
    // Sessions met ride on which tapering car just makes it (±3 over ten runs for changes that do
    // not matter): judge a change on the sums over every run, with kWh and kWh unmet on meetable sessions.
    notes: [...sums].map(
      ([shiftMin, s]) =>
        `shift ${shiftMin} min, seeds ${seeds.join(',')} summed: EMS ${(s.emsWh / 1000).toFixed(1)} kWh, ${s.emsMet} met, ${s.emsUnmetKWh.toFixed(1)} kWh unmet on meetable sessions, total cost ${s.emsCost.toFixed(2)}; equal share ${(s.equalWh / 1000).toFixed(1)} kWh, ${s.equalMet} met, ${s.equalUnmetKWh.toFixed(1)} kWh unmet on them`,
    ),
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
  // SIMULATE_BENCH=overshoot: A·s over a limit on several slices and seeds (with the spread).
  if (process.env.SIMULATE_BENCH === 'overshoot') return [await overshootSlices()];
  // SIMULATE_BENCH=hub: the plant hub at 100 A over seeds and shifted sessions, against equal share.
  if (process.env.SIMULATE_BENCH === 'hub') return [await hubSeeds()];
  return [await gapToOptimum(), await monthReplay()];
}
