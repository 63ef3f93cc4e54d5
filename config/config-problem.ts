/** One thing wrong (or worth a look) in a site config, addressed the way an installer reads it. */
export interface ConfigProblem {
  /** Key path with array indexes as numbers (`chargers.3.minCurrent`), or `<file>:LINE` for YAML syntax. */
  path: string;
  message: string;
  /** Errors stop the EMS from starting; warnings are printed and the config is used. */
  severity: 'error' | 'warning';
  /** 1-based line in the YAML file, when the node could be found. */
  line?: number;
}

export type PathSegment = string | number;

export function joinPath(segments: readonly PathSegment[]): string {
  return segments.join('.');
}

/** `path: message (line N)`; warnings say so after the path, so every line keeps the `path: message` shape. */
export function formatProblem(problem: ConfigProblem): string {
  const lineSuffix = problem.line !== undefined && !problem.path.endsWith(`:${problem.line}`) ? ` (line ${problem.line})` : '';
  const kind = problem.severity === 'warning' ? 'warning: ' : '';
  return `${problem.path}: ${kind}${problem.message}${lineSuffix}`;
}

export function hasErrors(problems: readonly ConfigProblem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
