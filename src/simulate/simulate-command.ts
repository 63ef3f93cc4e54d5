// `ems simulate --config site.yaml --sessions sessions.json --out report.json [--solver highs|jslp]
//  [--step-s 60] [--no-plan]`: replays the sessions under the EMS and under two baselines.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decideParamsFromConfig } from '../control/decide-params.ts';
import { ConfigFileError, loadConfigFile } from '../config-file.ts';
import { EmsError } from '../errors.ts';
import { createLpSolver } from '../planner/create-solver.ts';
import { plannerEnabled } from '../planner/planner-service.ts';
import { parseReplaySessions, SessionsFileError } from './replay-sessions.ts';
import { replay, type DecideFn } from './replay.ts';
import { buildReport, formatReportTable, type SimulateReport } from './simulate-report.ts';

export interface CommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

export interface SimulateOptions {
  configPath: string;
  sessionsPath: string;
  outPath?: string;
  solver?: 'highs' | 'jslp';
  stepS?: number;
  plan?: boolean;
}

export async function simulate(options: SimulateOptions, decide: DecideFn): Promise<SimulateReport> {
  const config = loadConfigFile(options.configPath);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(options.sessionsPath, 'utf8'));
  } catch (cause) {
    throw new SessionsFileError([`${options.sessionsPath}: ${(cause as Error).message}`], { cause });
  }
  const sessions = parseReplaySessions(json, config);
  const params = decideParamsFromConfig(config);
  const stepMs = (options.stepS ?? 60) * 1000;
  const solverName = options.solver ?? config.planner?.solver ?? 'highs';
  // Mirror the live system: the horizon planner runs unless the config turns it off.
  const plan = options.plan ?? plannerEnabled(config);
  const base = { config, params, sessions, stepMs };
  const controlled = await replay({ ...base, strategy: 'controlled', decide, solver: createLpSolver(solverName), plan });
  const uncontrolled = await replay({ ...base, strategy: 'uncontrolled' });
  const equalShare = await replay({ ...base, strategy: 'equal-share' });
  const iso = (ms: number) => new Date(ms).toISOString();
  return buildReport(controlled, uncontrolled, equalShare, {
    site: { name: config.site.name, currency: config.tariffs?.currency ?? 'EUR', timezone: config.site.timezone },
    period: {
      from: sessions.length ? iso(Math.min(...sessions.map((s) => s.arrivalMs))) : '',
      to: sessions.length ? iso(Math.max(...sessions.map((s) => s.departureMs))) : '',
      sessions: sessions.length,
      stepS: stepMs / 1000,
    },
    planner: { enabled: plan, solver: solverName },
  });
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
        solver: { type: 'string' },
        'step-s': { type: 'string' },
        'no-plan': { type: 'boolean' },
      },
    }));
  } catch (error) {
    out.stderr(`ems simulate: ${(error as Error).message}`);
    return 1;
  }
  if (!values.config || !values.sessions) {
    out.stderr('ems simulate: needs --config site.yaml --sessions sessions.json [--out report.json]');
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
  try {
    const { decide } = await import('../../optimizer/index.ts');
    const report = await simulate(
      { configPath: values.config, sessionsPath: values.sessions, solver: values.solver as 'highs' | 'jslp' | undefined, stepS, plan: values['no-plan'] ? false : undefined },
      decide,
    );
    if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    out.stdout(formatReportTable(report));
    if (values.out) out.stdout(`report written to ${values.out}`);
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
