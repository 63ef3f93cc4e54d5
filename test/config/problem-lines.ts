import { formatProblem } from '../../config/config-problem.ts';
import { parseConfigText } from '../../config/parse-config.ts';

/** Strips the common indentation of a template literal, so YAML can sit indented in a test. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** What `ems check-config` would print for this YAML, one `path: message (line N)` per problem. */
export function problemLines(yamlText: string, source = 'site.yaml'): string[] {
  return parseConfigText(dedent(yamlText), source).problems.map(formatProblem);
}
