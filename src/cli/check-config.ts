// `ems check-config FILE`: exit 0 with "ok: ..." (and any warnings), or exit 1 with one line per problem.
import { formatProblem } from '../../config/config-problem.ts';
import type { CircuitConfig } from '../../config/schema.ts';
import { readConfigFile } from '../config-file.ts';
import { openAdrConfigWarnings } from '../openadr/config-checks.ts';

export interface CheckConfigOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

export function checkConfig(path: string, out: CheckConfigOutput): number {
  const { config, problems: found } = readConfigFile(path);
  const problems = config ? [...found, ...openAdrConfigWarnings(config, Date.now())] : found;
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = problems.filter((p) => p.severity === 'warning');
  for (const problem of [...errors, ...warnings]) out.stderr(formatProblem(problem));
  if (!config || errors.length > 0) return 1;
  // Fixed wording (always plural): scripts match this line.
  out.stdout(`ok: ${path} (${config.chargers.length} chargers, ${countCircuits(config.circuits)} circuits)`);
  return 0;
}

function countCircuits(circuits: readonly CircuitConfig[]): number {
  return circuits.reduce((n, c) => n + 1 + countCircuits(c.children ?? []), 0);
}
