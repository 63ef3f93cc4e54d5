// Turns zod issues into installer-facing problems: one per key, plain words, close-match hints.
import type { z } from 'zod';
import { joinPath, type ConfigProblem, type PathSegment } from './config-problem.ts';
import { allowedValuesAt, knownKeysAt } from './schema-keys.ts';
import { didYouMean } from './suggest.ts';

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true/false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
};

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return String(value);
}

function listValues(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? v : String(v)));
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`;
}

function bound(issue: { origin: string; inclusive?: boolean }, value: number | bigint, side: 'min' | 'max'): string {
  const n = Number(value);
  switch (issue.origin) {
    case 'string':
      if (side === 'min' && n === 1) return 'must not be empty';
      return side === 'min' ? `must be at least ${n} characters` : `must be at most ${n} characters`;
    case 'array':
    case 'set':
      return side === 'min' ? `must have at least ${n} item${n === 1 ? '' : 's'}` : `must have at most ${n} items`;
    default:
      if (side === 'min') return issue.inclusive === false ? `must be greater than ${n}` : `must be at least ${n}`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
  }
}

function messageFor(issue: Issue, data: unknown, root: z.ZodType): string {
  const input = valueAt(data, issue.path);
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return 'required';
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      const hint = issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean') ? ' (put it in quotes)' : '';
      if (issue.expected === 'int' && typeof input === 'number') return `must be a whole number, got ${input}`;
      return `expected ${expected}, got ${describeValue(input)}${hint}`;
    }
    case 'too_small':
      return bound(issue, issue.minimum, 'min');
    case 'too_big':
      return bound(issue, issue.maximum, 'max');
    case 'invalid_value': {
      const hint = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : '';
      return `must be ${issue.values.length > 1 ? 'one of ' : ''}${listValues(issue.values)}, got ${describeValue(input)}${hint}`;
    }
    case 'invalid_union': {
      const values = issue.errors.flat().flatMap((e) => (e.code === 'invalid_value' && e.path.length === 0 ? e.values : []));
      if (values.length === issue.errors.length && values.length > 0) return `must be ${listValues(values)}, got ${describeValue(input)}`;
      // A discriminated union (devices by driver) names no options in the issue; the schema has them.
      const allowed = issue.errors.length === 0 ? allowedValuesAt(root, issue.path.map((s) => (typeof s === 'number' ? s : String(s)))) : [];
      if (allowed.length > 0) {
        const hint = typeof input === 'string' ? didYouMean(input, allowed.map(String)) : '';
        return `must be ${allowed.length > 1 ? 'one of ' : ''}${listValues(allowed)}, got ${describeValue(input)}${hint}`;
      }
      const types = issue.errors.map((branch) => branch.find((e) => e.path.length === 0 && e.code === 'invalid_type'));
      if (types.length > 0 && types.every((t) => t !== undefined)) {
        const names = [...new Set(types.map((t) => TYPE_NAMES[(t as { expected: string }).expected] ?? (t as { expected: string }).expected))];
        return `expected ${listValues(names)}, got ${describeValue(input)}`;
      }
      return `does not match any allowed form, got ${describeValue(input)}`;
    }
    case 'invalid_format':
      if (issue.format === 'url') return `must be a URL, got ${describeValue(input)}`;
      if (issue.format === 'regex' && issue.message.startsWith('Invalid string')) {
        return `must match ${issue.pattern ?? 'the expected pattern'}, got ${describeValue(input)}`;
      }
      return `${issue.message}, got ${describeValue(input)}`;
    case 'not_multiple_of':
      return `must be a multiple of ${Number(issue.divisor)}`;
    case 'invalid_key':
      return `invalid key: ${issue.issues.map((i) => messageFor(i, undefined, root)).join('; ')}`;
    default:
      return issue.message;
  }
}

/** One problem per zod issue; an unrecognized-keys issue becomes one problem per key, addressed at the key. */
export function problemsFromZod(issues: readonly Issue[], data: unknown, root: z.ZodType): { path: PathSegment[]; problem: ConfigProblem }[] {
  const out: { path: PathSegment[]; problem: ConfigProblem }[] = [];
  for (const issue of issues) {
    const path = issue.path.map((s) => (typeof s === 'number' ? s : String(s)));
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(root, path, data);
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        const fallback = hint === '' && known.length > 0 ? `; allowed here: ${known.join(', ')}` : '';
        const keyPath = [...path, key];
        out.push({ path: keyPath, problem: { path: joinPath(keyPath), message: `unknown key "${key}"${hint}${fallback}`, severity: 'error' } });
      }
      continue;
    }
    out.push({ path, problem: { path: joinPath(path), message: messageFor(issue, data, root), severity: 'error' } });
  }
  return out;
}
