// Puts config problems at their place in the YAML: every issue gets the line of the key it is
// about (or of the nearest parent that exists, for a missing key). Pure: yaml + the config schema.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { parseConfigText } from '../../config/parse-config.ts';
import type { FieldIssue } from './api-types.ts';

export interface LocatedIssue {
  path: string;
  message: string;
  /** 1-based line in the YAML text; null when the path is not in the text at all. */
  line: number | null;
}

function lineOf(counter: LineCounter, offset: number | undefined): number | null {
  return offset === undefined ? null : counter.linePos(offset).line;
}

/** The line of the deepest existing node on `path` (dotted, numeric segments index sequences). */
function locate(root: Node | null, counter: LineCounter, path: string): number | null {
  let node: unknown = root;
  let line: number | null = null;
  const segments = path ? path.split('.') : [];
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === segment);
      if (!pair) break;
      line = lineOf(counter, isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? line;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) break;
      line = lineOf(counter, item.range?.[0]) ?? line;
      node = item;
    } else break;
  }
  if (line === null && root && !segments.length) line = lineOf(counter, root.range?.[0]);
  return line;
}

export function locateIssues(yamlText: string, issues: readonly FieldIssue[]): LocatedIssue[] {
  const counter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: counter });
  return issues.map((issue) => ({ ...issue, line: issue.line ?? locate(doc.contents as Node | null, counter, issue.path) }));
}

/**
 * What is wrong with a config text before it goes to the server: the same check as
 * `ems check-config` (YAML syntax, schema, cross-references). The server has the last word.
 */
export function checkConfigText(yamlText: string): LocatedIssue[] {
  return parseConfigText(yamlText, 'site.yaml')
    .problems.filter((p) => p.severity === 'error')
    .map((p) => ({ path: p.path, message: p.message, line: p.line ?? null }));
}
