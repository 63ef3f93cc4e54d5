// YAML text → validated Config plus every problem found, each with its key path and line. Pure.
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ConfigProblem, PathSegment } from './config-problem.ts';
import { hasErrors, joinPath } from './config-problem.ts';
import { configSchema, type Config } from './schema.ts';
import { validateConfig } from './validate-config.ts';
import { lineOfPath, splitPath } from './yaml-locate.ts';
import { yamlSyntaxProblems } from './yaml-syntax.ts';
import { problemsFromZod } from './zod-problems.ts';

export interface ParsedConfig {
  /** Present only when there are no errors (warnings allowed). */
  config?: Config;
  problems: ConfigProblem[];
}

/** Path of the first object reached twice on one branch (a YAML alias that contains itself). */
function findCircularReference(value: unknown, path: PathSegment[] = [], onBranch = new Set<object>()): PathSegment[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (onBranch.has(value)) return path;
  onBranch.add(value);
  const entries: [PathSegment, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    const found = findCircularReference(child, [...path, key], onBranch);
    if (found) return found;
  }
  onBranch.delete(value);
  return undefined;
}

/**
 * Top-level keys starting with `x-` are free for YAML anchors (as in compose files), e.g.
 * `x-wallbox: &wallbox { maxCurrent: 16 }` then `- { <<: *wallbox, id: CP01 }`. Dropped before validation.
 */
export const EXTENSION_KEY_PREFIX = 'x-';

function stripExtensionKeys(data: unknown): void {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return;
  for (const key of Object.keys(data)) {
    if (key.startsWith(EXTENSION_KEY_PREFIX)) delete (data as Record<string, unknown>)[key];
  }
}

function byLine(a: ConfigProblem, b: ConfigProblem): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

/**
 * Parses a site config. `source` names the file in messages (`site.yaml:12: ...`). Never throws:
 * YAML syntax, schema and cross-reference problems all come back in `problems`.
 */
/** A site config is a few hundred KiB at most (2,000 chargers); beyond this it is not a config. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Nesting deeper than this is not a site config (the deepest real one, a fuse tree, is ~20). */
export const MAX_CONFIG_DEPTH = 64;

/**
 * Deepest nesting of a YAML text: flow brackets plus block indentation (in levels of 2 columns),
 * estimated in one pass without parsing (the parser itself would overflow the stack on a 20k-deep
 * file). Never below the real depth: a quote only opens a string where YAML starts a scalar (so an
 * apostrophe inside a plain word hides no bracket), and a stray closing bracket lowers nothing below 0.
 */
function yamlDepth(text: string): number {
  let deepest = 0;
  let flow = 0;
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  /** The last character outside a string that was not a space: a quote after it starts a scalar. */
  let before = '\n';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      if (!quote) before = '\n';
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '-') {
        indent++;
        if (c === '-') before = '-';
        continue;
      }
      lineStart = false;
      deepest = Math.max(deepest, Math.floor(indent / 2) + flow);
    }
    if (quote) {
      if (c === quote) {
        // '' inside a single-quoted string and \" inside a double-quoted one do not end it.
        if (quote === "'" && text[i + 1] === "'") i++;
        else if (quote === '"' && text[i - 1] === '\\') continue;
        else quote = undefined;
      }
      continue;
    }
    if ((c === '"' || c === "'") && /[\n:,[{?-]/.test(before)) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end - 1;
      continue;
    } else if (c === '[' || c === '{') {
      flow++;
      deepest = Math.max(deepest, Math.floor(indent / 2) + flow);
    } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    if (c !== ' ' && c !== '\t') before = c;
  }
  return deepest;
}

export function parseConfigText(text: string, source: string): ParsedConfig {
  if (text.length > MAX_CONFIG_BYTES) {
    return { problems: [{ path: source, message: `the file is ${Math.round(text.length / 1024)} KiB; a site config is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`, severity: 'error' }] };
  }
  const depth = yamlDepth(text);
  if (depth > MAX_CONFIG_DEPTH) {
    return { problems: [{ path: source, message: `the YAML nests ${depth} levels deep; a site config nests at most ${MAX_CONFIG_DEPTH}`, severity: 'error' }] };
  }
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  } catch (cause) {
    return { problems: [{ path: source, message: `cannot read the YAML: ${(cause as Error).message}`, severity: 'error' }] };
  }
  const syntax = [
    ...yamlSyntaxProblems(doc.errors, text, lineCounter, source, 'error'),
    ...yamlSyntaxProblems(doc.warnings, text, lineCounter, source, 'warning'),
  ];
  if (doc.errors.length > 0) return { problems: syntax };

  let data: unknown;
  try {
    // The alias budget grows with the file, so a large site can merge one anchor into every
    // charger while a small file still cannot expand into gigabytes ("billion laughs").
    data = doc.toJS({ maxAliasCount: Math.max(100, text.length) });
  } catch (cause) {
    return { problems: [...syntax, { path: source, message: `cannot read the YAML: ${(cause as Error).message}`, severity: 'error' }] };
  }
  if (data === null || data === undefined) {
    return { problems: [...syntax, { path: source, message: 'the file is empty; a site config needs at least grid.maxCurrent', severity: 'error' }] };
  }
  stripExtensionKeys(data);
  const circular = findCircularReference(data);
  if (circular) {
    const line = lineOfPath(doc, lineCounter, circular);
    return { problems: [...syntax, { path: joinPath(circular), message: 'a YAML alias refers to a node that contains it (circular reference)', severity: 'error', line }] };
  }

  const locate = (problem: ConfigProblem, path: readonly PathSegment[]): ConfigProblem => {
    const line = lineOfPath(doc, lineCounter, path);
    const located = line === undefined ? problem : { ...problem, line };
    return located.path === '' ? { ...located, path: source } : located;
  };

  const result = configSchema.safeParse(data);
  if (!result.success) {
    const problems = problemsFromZod(result.error.issues, data, configSchema).map(({ path, problem }) => locate(problem, path));
    // Misspelt keys are the commonest mistake; when they are the only one, the rest of the file is
    // still checked, so the installer sees every problem in one run.
    const withoutUnknownKeys = onlyUnknownKeys(result.error.issues) ? configSchema.safeParse(withoutKeys(data, result.error.issues)) : undefined;
    const crossChecks = withoutUnknownKeys?.success ? validateConfig(withoutUnknownKeys.data).map((problem) => locate(problem, splitPath(problem.path))) : [];
    return { problems: [...syntax, ...[...problems, ...crossChecks].sort(byLine)] };
  }
  const crossChecks = validateConfig(result.data).map((problem) => locate(problem, splitPath(problem.path)));
  const problems = [...syntax, ...crossChecks.sort(byLine)];
  return hasErrors(problems) ? { problems } : { config: result.data, problems };
}

type ZodIssue = z.core.$ZodIssue;

function onlyUnknownKeys(issues: readonly ZodIssue[]): boolean {
  return issues.every((issue) => issue.code === 'unrecognized_keys');
}

/** A copy of `data` without the keys that unrecognized-keys issues name. */
function withoutKeys(data: unknown, issues: readonly ZodIssue[]): unknown {
  const copy = structuredClone(data);
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target: unknown = copy;
    for (const segment of issue.path) target = (target as Record<PropertyKey, unknown> | undefined)?.[segment];
    if (target && typeof target === 'object') for (const key of issue.keys) delete (target as Record<string, unknown>)[key];
  }
  return copy;
}
