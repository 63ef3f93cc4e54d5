// Reruns listed property cases ("half index" per line in a file) and prints each one's figures.
//   npx tsx test/closed-loop/run-listed-cases.ts <file>
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { arbSiteKnobs } from './arbitrary-site.ts';
import { runKnobs } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
let total = 0;
let over = 0;
for (const line of readFileSync(process.argv[2]!, 'utf8').trim().split('\n')) {
  const [half, i] = line.split(/\s+/).map(Number) as [number, number];
  const seed = PROPERTY_SEED + half * 1_000_003;
  const batch = Math.floor(i / BATCH) * BATCH;
  const knobs = fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: seed + batch })[i - batch]!;
  const r = runKnobs(knobs);
  total += r.emsCausedAs;
  if (r.emsCausedAs > 0.05) over++;
  console.log(`${half} ${i} as ${r.emsCausedAs.toFixed(2)} flaps ${r.flaps} use ${r.headroomUse?.toFixed(3)}`);
}
console.log(`overshoot cases ${over}, ${total.toFixed(1)} A·s`);
