import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/parse-config.ts';

const VALID_BASE = {
  grid: { maxCurrent: 63 },
  circuits: [{ id: 'main', maxCurrent: 63, children: [{ id: 'row', maxCurrent: 32, chargers: ['CP1', 'CP2'] }] }],
  chargers: [{ id: 'CP1' }, { id: 'CP2', phases: 1 }],
  idTags: [{ idTag: 'A1', tier: 'staff' }],
};

describe('parseConfigText on arbitrary input', () => {
  it('never throws, and every problem has a path, a message and a line inside the file', () => {
    const anyText = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.anything({ maxDepth: 4 }).map((value) => stringify(value ?? null)),
      fc.anything({ maxDepth: 3 }).map((value) => stringify({ ...VALID_BASE, grid: value })),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        const { config, problems } = parseConfigText(text, 'fuzz.yaml');
        const lineCount = text.split('\n').length;
        for (const problem of problems) {
          expect(problem.path.length).toBeGreaterThan(0);
          expect(problem.message.length).toBeGreaterThan(0);
          if (problem.line !== undefined) expect(problem.line).toBeGreaterThanOrEqual(1);
          if (problem.line !== undefined) expect(problem.line).toBeLessThanOrEqual(lineCount);
        }
        if (config) expect(problems.every((p) => p.severity === 'warning')).toBe(true);
        else expect(problems.some((p) => p.severity === 'error')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('points an unknown key at the line it was written on, wherever it is', () => {
    const sections = ['site', 'grid', 'control'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...sections),
        fc.stringMatching(/^[a-z][a-zA-Z]{2,12}$/).filter((k) => !['name', 'voltage', 'timezone', 'maxCurrent', 'maxPower', 'meter', 'tiers', 'priority'].includes(k)),
        (section, key) => {
          const config = structuredClone(VALID_BASE) as unknown as Record<string, Record<string, unknown>>;
          config[section] = { ...(config[section] ?? {}), [key]: 1 };
          const text = stringify(config);
          const expectedLine = text.split('\n').findIndex((l) => l.trimStart().startsWith(`${key}:`)) + 1;
          const { problems } = parseConfigText(text, 'site.yaml');
          const problem = problems.find((p) => p.path === `${section}.${key}`);
          if (!problem) return; // the key happened to be a real one (e.g. "safetyMargin")
          expect(problem.message).toMatch(new RegExp(`^unknown key "${key}"`));
          expect(problem.line).toBe(expectedLine);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('accepts the same config written in flow style or block style alike', () => {
    const block = stringify(VALID_BASE);
    const flow = stringify(VALID_BASE, { collectionStyle: 'flow' });
    expect(parseConfigText(block, 'a.yaml')).toEqual(parseConfigText(flow, 'b.yaml'));
    expect(parseConfigText(block, 'a.yaml').problems).toEqual([]);
  });
});
