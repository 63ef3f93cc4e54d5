// Per-case tally of the closed-loop property for A/B work on the estimator: runs cases [from, to)
// of one half (same seeds and batches as property-run.ts) and prints one JSON line per case that
// fails, with its overshoot, flaps and headroom use, then a summary line.
//   npx tsx test/closed-loop/tally-cases.ts <half 1|2> <from> <to>
import fc from 'fast-check';
import { arbSiteKnobs } from './arbitrary-site.ts';
import { closedLoopProblems } from './closed-loop-checks.ts';
import { PROPERTY_EXPECT, runKnobs } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
const half = Number(process.argv[2] ?? 1);
const from = Number(process.argv[3] ?? 0);
const to = Number(process.argv[4] ?? 5_000);
const seed = PROPERTY_SEED + half * 1_000_003;
let failing = 0;
let overshoot = 0;
let overshootAs = 0;
let flapping = 0;
let under = 0;
for (let batch = Math.floor(from / BATCH) * BATCH; batch < to; batch += BATCH) {
  const knobsList = fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: seed + batch });
  for (let j = 0; j < knobsList.length; j++) {
    const i = batch + j;
    if (i < from || i >= to) continue;
    const report = runKnobs(knobsList[j]);
    const problems = closedLoopProblems(report, PROPERTY_EXPECT);
    if (report.emsCausedAs > 0.05) { overshoot++; overshootAs += report.emsCausedAs; }
    if (report.flaps > 0) flapping++;
    if (report.headroomUse !== undefined && report.headroomUse < 0.95) under++;
    if (problems.length === 0) continue;
    failing++;
    console.log(JSON.stringify({ half, i, as: +report.emsCausedAs.toFixed(2), flaps: report.flaps, use: report.headroomUse === undefined ? null : +report.headroomUse.toFixed(4) }));
  }
}
console.log(JSON.stringify({ summary: true, half, from, to, failing, overshoot, overshootAs: +overshootAs.toFixed(1), flapping, under }));
