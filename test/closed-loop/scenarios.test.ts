// Every saved closed-loop failure (test/closed-loop/scenarios/*.json, written by the property test
// with CLOSED_LOOP_SAVE=1, or by hand) replayed on the plant. A file may carry `knownFailure`: why
// today's EMS still fails it; it then runs as `it.fails` until the cause is fixed and the note removed.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioFromData } from '../../plant/index.ts';
import { closedLoopProblems, figures, type Expectations } from './closed-loop-checks.ts';
import { runClosedLoop, type ClosedLoopOptions } from './harness.ts';
import type { EmsSettings } from './site-config.ts';

interface SavedCase {
  scenario: unknown;
  expect?: Expectations;
  options?: Pick<ClosedLoopOptions, 'stepMs' | 'settleMs'>;
  ems?: EmsSettings;
  knownFailure?: string;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('saved closed-loop scenarios', () => {
  it('are there to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const saved = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SavedCase;
    const test = saved.knownFailure ? it.fails : it;
    test(`${file}${saved.knownFailure ? ` [known failure: ${saved.knownFailure}]` : ''}`, () => {
      const scenario = scenarioFromData(saved.scenario);
      const report = runClosedLoop(scenario, { ...saved.options, ...(saved.ems ? { ems: saved.ems } : {}) });
      console.info(`${file}: ${figures(report)}`);
      expect(closedLoopProblems(report, saved.expect ?? {})).toEqual([]);
    });
  }
});
