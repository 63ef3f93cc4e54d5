// The closed-loop property over random sites: run every case, tally what the site showed, and when
// a case fails let fast-check shrink it and (with CLOSED_LOOP_SAVE=1) save it as a scenario file
// that scenarios.test.ts replays from then on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { scenarioToJson } from '../../plant/index.ts';
import { arbSiteKnobs, siteFromKnobs, type SiteKnobs } from './arbitrary-site.ts';
import { closedLoopProblems, figures, type Expectations } from './closed-loop-checks.ts';
import { runClosedLoop, type ClosedLoopReport } from './harness.ts';

export const PROPERTY_EXPECT: Expectations = { headroom: true, fullRelease: undefined };
/** The property's plant step and settling time (short cases, coarse enough to run thousands). */
export const PROPERTY_OPTIONS = { stepMs: 200, settleMs: 10_000 } as const;

export function runKnobs(knobs: SiteKnobs): ClosedLoopReport {
  return runClosedLoop(siteFromKnobs(knobs), PROPERTY_OPTIONS);
}

export interface PropertyTally {
  cases: number;
  failing: number;
  emsCausedAs: number;
  casesWithEmsOvershoot: number;
  casesWithFlaps: number;
  casesUnderUse: number;
  worstUse: number;
  firstFailure?: { knobs: SiteKnobs; problems: string[]; figures: string };
}

const BATCH = 500;

/** Runs `runs` cases from `seed` (in batches, so memory stays flat) and tallies them. */
export function tallyCases(seed: number, runs: number): PropertyTally {
  const tally: PropertyTally = { cases: 0, failing: 0, emsCausedAs: 0, casesWithEmsOvershoot: 0, casesWithFlaps: 0, casesUnderUse: 0, worstUse: 1 };
  for (let done = 0; done < runs; done += BATCH) {
    for (const knobs of fc.sample(arbSiteKnobs, { numRuns: Math.min(BATCH, runs - done), seed: seed + done })) {
      const report = runKnobs(knobs);
      tally.cases++;
      tally.emsCausedAs += report.emsCausedAs;
      const problems = closedLoopProblems(report, PROPERTY_EXPECT);
      if (report.emsCausedAs > 0.05) tally.casesWithEmsOvershoot++;
      if (report.flaps > 0) tally.casesWithFlaps++;
      if (report.headroomUse !== undefined) {
        tally.worstUse = Math.min(tally.worstUse, report.headroomUse);
        if (report.headroomUse < 0.95) tally.casesUnderUse++;
      }
      if (problems.length === 0) continue;
      tally.failing++;
      tally.firstFailure ??= { knobs, problems, figures: figures(report) };
    }
  }
  return tally;
}

export function describeTally(t: PropertyTally): string {
  return `${t.failing} of ${t.cases} random sites failed: ${t.casesWithEmsOvershoot} with EMS-caused overshoot (${t.emsCausedAs.toFixed(1)} A·s in all), ${t.casesWithFlaps} with flapping caps, ${t.casesUnderUse} under 95 % headroom use (worst ${(t.worstUse * 100).toFixed(1)} %)`;
}

const scenariosDir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

/** Shrinks a failure with fast-check (same seed) and, with CLOSED_LOOP_SAVE=1, saves it; returns its description. */
export function shrinkAndSave(seed: number, runs: number, knownFailure?: string): string | undefined {
  const result = fc.check(
    fc.property(arbSiteKnobs, (knobs) => closedLoopProblems(runKnobs(knobs), PROPERTY_EXPECT).length === 0),
    { seed, numRuns: runs },
  );
  if (!result.failed || !result.counterexample) return undefined;
  const [knobs] = result.counterexample;
  const report = runKnobs(knobs);
  const problems = closedLoopProblems(report, PROPERTY_EXPECT);
  const text = `shrunk after ${result.numShrinks} steps: ${problems.join('; ')}`;
  if (process.env.CLOSED_LOOP_SAVE === '1') {
    mkdirSync(scenariosDir, { recursive: true });
    const scenario = { ...siteFromKnobs(knobs), name: `property seed ${seed}: ${problems[0]?.slice(0, 80) ?? ''}` };
    const file = join(scenariosDir, `property-${seed}-${knobs.seed}.json`);
    const saved = { expect: PROPERTY_EXPECT, options: PROPERTY_OPTIONS, ...(knownFailure ? { knownFailure } : {}), figures: figures(report), scenario: JSON.parse(scenarioToJson(scenario)) };
    writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
    return `${text} (saved as ${file})`;
  }
  return `${text} (run with CLOSED_LOOP_SAVE=1 to save it under test/closed-loop/scenarios/)`;
}
