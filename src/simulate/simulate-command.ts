// `ems simulate`: replays a sessions file under the EMS (the live control step and planner) and
// under the baselines, and prints/writes the report. See docs/simulate.md.
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decideParamsFromConfig } from '../control/decide-params.ts';
import { ConfigFileError, loadConfigFile } from '../config-file.ts';
import { EmsError } from '../errors.ts';
import { createLpSolver } from '../planner/create-solver.ts';
import { plannerEnabled } from '../planner/planner-service.ts';
import { lpOptimum } from './lp-optimum.ts';
import { reportHtml } from './report-chart.ts';
import { parseReplaySessions, SessionsFileError } from './replay-sessions.ts';
import { replayOnPlant } from './plant-replay.ts';
import { replay, type ReplayResult, type Strategy } from './replay.ts';
import { buildReport, formatReportTable, type SimulateReport } from './simulate-report.ts';

export interface CommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
  /** True when stderr is a terminal: a progress bar is drawn there. */
  stderrIsTty?: boolean;
  /** Writes without a newline (progress bar). */
  stderrRaw?(text: string): void;
}

export interface SimulateOptions {
  configPath: string;
  sessionsPath: string;
  solver?: 'highs' | 'jslp';
  stepS?: number;
  plan?: boolean;
  lpOptimum?: boolean;
  seed?: number;
  /** The instant model instead of the site plant (caps act at once, cars draw min(cap, max)). */
  ideal?: boolean;
  /** Building load and PV exactly as configured (a perfect forecast). */
  perfectForecast?: boolean;
  /** Called with (label, fraction) while replaying. */
  onProgress?: (label: string, fraction: number) => void;
}

export const SIMULATE_HELP = `Usage: ems simulate --config site.yaml --sessions sessions.json [options]

Replays recorded or generated charging sessions against the site: under the EMS (the same control
step and horizon planner as the live system, knowing only what it would know live) and under
three baselines (uncontrolled, static equal share, round robin), and reports cost, peak, energy
delivered and unmet, and limit violations side by side. Every strategy runs on the site plant:
chargers and cars with their own timing, violations measured on the plant's true currents.

Options:
  -c, --config FILE      site config (YAML), as for ems run
  -s, --sessions FILE    JSON array of sessions (format: docs/simulate.md)
  -o, --out FILE         write the report as JSON
      --html FILE        write the report as an HTML page with charts (site power, limit, energy per session)
      --step-s N         longest step while nothing moves on the site, seconds, 1..900 (default 60);
                         the plant steps 0.25 s while caps change, cars ramp or profiles are in flight
      --solver NAME      highs (default) or jslp
      --no-plan          run the control step without the horizon planner
      --lp-optimum       also solve the offline optimum (the LP with perfect knowledge) and print it beside the run
      --seed N           seed of the building-load and PV deviations from their configured curves (default 1)
      --ideal            the instant model instead of the plant (caps act within the step, cars draw
                         min(cap, their max)), for comparison
      --perfect-forecast building load and PV exactly as configured (no seeded deviation)
  -h, --help             this text

The demand charge is prorated to the replayed period. A saving is only stated against a baseline
that delivered no more energy than the EMS.`;

function readSessionsFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new SessionsFileError([`${path}: ${code === 'ENOENT' ? 'file not found' : (cause as Error).message}`], { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SessionsFileError([`${path}: not valid JSON (${(cause as Error).message})`], { cause });
  }
}

export interface SimulateOutcome {
  report: SimulateReport;
  controlled: ReplayResult;
}

export async function simulate(options: SimulateOptions): Promise<SimulateOutcome> {
  const config = loadConfigFile(options.configPath);
  const sessions = parseReplaySessions(readSessionsFile(options.sessionsPath), config);
  const params = decideParamsFromConfig(config);
  const stepMs = (options.stepS ?? 60) * 1000;
  const solverName = options.solver ?? config.planner?.solver ?? 'highs';
  // Mirror the live system: the horizon planner runs unless the config turns it off.
  const plan = options.plan ?? plannerEnabled(config);
  const solver = createLpSolver(solverName);
  const base = { config, params, sessions, stepMs, seed: options.seed, idealSite: options.perfectForecast };
  const engine = options.ideal ? replay : replayOnPlant;
  const run = (strategy: Strategy, extra: object = {}) =>
    engine({ ...base, strategy, ...extra, onProgress: options.onProgress ? (f: number) => options.onProgress!(strategy, f) : undefined });
  const controlled = await run('controlled', { solver, plan, seriesPoints: 400 });
  const uncontrolled = await run('uncontrolled');
  const equalShare = await run('equal-share');
  const roundRobin = await run('round-robin');
  const optimum = options.lpOptimum ? await lpOptimum(config, sessions, solver, { stepMs, seed: options.seed, idealSite: options.perfectForecast }) : undefined;
  const iso = (ms: number) => new Date(ms).toISOString();
  const report = buildReport({
    controlled,
    uncontrolled,
    equalShare,
    roundRobin,
    ...(optimum ? { lpOptimum: optimum } : {}),
    meta: {
      site: { name: config.site.name, currency: config.tariffs?.currency ?? 'EUR', timezone: config.site.timezone },
      period: {
        from: sessions.length ? iso(Math.min(...sessions.map((s) => s.arrivalMs))) : '',
        to: sessions.length ? iso(Math.max(...sessions.map((s) => s.departureMs))) : '',
        sessions: sessions.length,
        stepS: stepMs / 1000,
      },
      planner: { enabled: plan, solver: solverName },
      demandChargePerKW: config.tariffs?.demandCharge?.pricePerKW ?? 0,
      knowledge: { departuresKnown: sessions.filter((s) => s.departureKnown).length, needsKnown: sessions.filter((s) => s.energyKnown).length },
    },
  });
  return { report, controlled };
}

/** A one-line progress bar on stderr, redrawn in place; only when stderr is a terminal. */
function progressBar(out: CommandOutput): ((label: string, fraction: number) => void) | undefined {
  if (!out.stderrIsTty || !out.stderrRaw) return undefined;
  let last = '';
  return (label, fraction) => {
    const width = 30;
    const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
    const text = `\r${label.padEnd(13)} [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(fraction * 100).toFixed(0).padStart(3)} %`;
    if (text !== last) out.stderrRaw!(text);
    last = text;
    if (fraction >= 1) out.stderrRaw!('\n');
  };
}

export async function runSimulateCommand(args: string[], out: CommandOutput): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        sessions: { type: 'string', short: 's' },
        out: { type: 'string', short: 'o' },
        html: { type: 'string' },
        solver: { type: 'string' },
        'step-s': { type: 'string' },
        'no-plan': { type: 'boolean' },
        'lp-optimum': { type: 'boolean' },
        seed: { type: 'string' },
        ideal: { type: 'boolean' },
        'perfect-forecast': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    out.stderr(`ems simulate: ${(error as Error).message} (ems simulate --help lists the options)`);
    return 1;
  }
  if (values.help) {
    out.stdout(SIMULATE_HELP);
    return 0;
  }
  if (!values.config || !values.sessions) {
    out.stderr('ems simulate: needs --config site.yaml --sessions sessions.json [--out report.json] (ems simulate --help)');
    return 1;
  }
  if (values.solver !== undefined && values.solver !== 'highs' && values.solver !== 'jslp') {
    out.stderr(`ems simulate: --solver must be highs or jslp, not "${values.solver}"`);
    return 1;
  }
  const stepS = values['step-s'] === undefined ? undefined : Number(values['step-s']);
  if (stepS !== undefined && !(stepS >= 1 && stepS <= 900)) {
    out.stderr('ems simulate: --step-s must be a number of seconds between 1 and 900');
    return 1;
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) {
    out.stderr('ems simulate: --seed must be a whole number');
    return 1;
  }
  try {
    const { report, controlled } = await simulate({
      configPath: values.config,
      sessionsPath: values.sessions,
      solver: values.solver as 'highs' | 'jslp' | undefined,
      stepS,
      plan: values['no-plan'] ? false : undefined,
      lpOptimum: values['lp-optimum'],
      seed,
      ideal: values.ideal,
      perfectForecast: values['perfect-forecast'],
      onProgress: progressBar(out),
    });
    const table = formatReportTable(report);
    if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    if (values.html) writeFileSync(values.html, reportHtml(report, table, controlled.series));
    out.stdout(table);
    if (values.out) out.stdout(`report written to ${values.out}`);
    if (values.html) out.stdout(`charts written to ${values.html}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigFileError || error instanceof SessionsFileError) {
      out.stderr(error.message);
      return 1;
    }
    out.stderr(`ems simulate: ${error instanceof EmsError ? `${error.code}: ` : ''}${(error as Error).message}`);
    return 1;
  }
}
