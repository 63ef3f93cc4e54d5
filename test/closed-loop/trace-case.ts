// Prints one property case second by second: true grid and building at the root, the EMS's building
// estimate, and each car's cap / pilot / draw. For tracing a failing case of tally-cases.ts.
//   npx tsx test/closed-loop/trace-case.ts <half 1|2> <index> [traceEveryMs]
import fc from 'fast-check';
import { arbSiteKnobs, siteFromKnobs } from './arbitrary-site.ts';
import { runClosedLoop } from './harness.ts';
import { PROPERTY_OPTIONS } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
const half = Number(process.argv[2] ?? 1);
const i = Number(process.argv[3] ?? 0);
const every = Number(process.argv[4] ?? 1000);
const seed = PROPERTY_SEED + half * 1_000_003;
const batch = Math.floor(i / BATCH) * BATCH;
const knobs = fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: seed + batch })[i - batch]!;
const scenario = siteFromKnobs(knobs);
console.log(JSON.stringify(knobs));
const report = runClosedLoop(scenario, { ...PROPERTY_OPTIONS, trace: true, traceEveryMs: every });
console.log(`emsCausedAs ${report.emsCausedAs.toFixed(1)} outsideAs ${report.outsideAs.toFixed(1)} use ${report.headroomUse?.toFixed(3)} flaps ${report.flaps} window ${report.reactionWindowMs}`);
for (const e of report.episodes) console.log(JSON.stringify(e));
for (const s of report.trace ?? []) {
  const cars = s.connectors.map((c) => `${c.key} ${c.capA?.toFixed(1) ?? '-'}/${c.pilotA}/${c.drawA}${c.status === 'Charging' ? '' : ` ${c.status}`}`).join(' | ');
  console.log(`${(s.atMs / 1000).toFixed(1).padStart(5)}s grid ${s.rootA.join('/')} bldg ${s.buildingA.join('/')} ems ${s.emsBuildingA?.map((a) => a.toFixed(1)).join('/') ?? '-'}${s.failsafe ? ' FAILSAFE' : ''} | ${cars}`);
}
