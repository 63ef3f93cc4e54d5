// Saves one property case (same seeds and batches as property-run.ts) as a scenario file that
// scenarios.test.ts replays, checking only what `checks` names (default: overshoot and flapping).
//   npx tsx test/closed-loop/save-case.ts <half 1|2> <index> <file name> [headroom]
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { scenarioToJson } from '../../plant/index.ts';
import { arbSiteKnobs, siteFromKnobs } from './arbitrary-site.ts';
import { figures } from './closed-loop-checks.ts';
import { PROPERTY_OPTIONS, runKnobs } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
const [half, i] = [Number(process.argv[2]), Number(process.argv[3])];
const name = process.argv[4]!;
const seed = PROPERTY_SEED + half * 1_000_003;
const batch = Math.floor(i / BATCH) * BATCH;
const knobs = fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: seed + batch })[i - batch]!;
const report = runKnobs(knobs);
const scenario = { ...siteFromKnobs(knobs), name: `property seed ${seed}, case ${i}` };
const saved = { expect: process.argv[5] === 'headroom' ? { headroom: true } : {}, options: PROPERTY_OPTIONS, figures: figures(report), scenario: JSON.parse(scenarioToJson(scenario)) };
const file = join(dirname(fileURLToPath(import.meta.url)), 'scenarios', `${name}.json`);
writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
console.log(`${file}: ${figures(report)}`);
