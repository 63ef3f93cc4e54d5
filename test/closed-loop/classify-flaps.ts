// Why the closed-loop property's cases flap: reruns listed cases (lines of tally-cases.ts output,
// `{"half":1,"i":12,...}`, with flaps > 0) and, from the decision seen at each steady-state use
// sample (every second), puts each pair of cap changes on one connector within 10 s in a class by
// the direction and the reason class of each change (classify-failures.ts reasonClass). Prints the
// classes by count and, per class, a few cases to trace (trace-case.ts).
//   npx tsx test/closed-loop/classify-flaps.ts <tally output file> [at most N cases]
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { arbSiteKnobs, siteFromKnobs } from './arbitrary-site.ts';
import { reasonClass } from './classify-failures.ts';
import { runClosedLoop } from './harness.ts';
import { PROPERTY_OPTIONS } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
const file = process.argv[2]!;
const most = Number(process.argv[3] ?? Number.POSITIVE_INFINITY);
const listed = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{"half"'))
  .map((l) => JSON.parse(l) as { half: number; i: number; flaps: number })
  .filter((c) => c.flaps > 0)
  .slice(0, most);
const counts = new Map<string, number>();
const examples = new Map<string, string[]>();
const knobsCache = new Map<string, ReturnType<typeof fc.sample<unknown>>>();
for (const c of listed) {
  const batch = Math.floor(c.i / BATCH) * BATCH;
  const cacheKey = `${c.half}/${batch}`;
  if (!knobsCache.has(cacheKey)) knobsCache.set(cacheKey, fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: PROPERTY_SEED + c.half * 1_000_003 + batch }));
  const knobs = knobsCache.get(cacheKey)![c.i - batch] as Parameters<typeof siteFromKnobs>[0];
  const scenario = siteFromKnobs(knobs);
  const last = new Map<string, { atMs: number; capA: number; cls: string; dir: string }>();
  const byCase = new Set<string>();
  runClosedLoop(scenario, {
    ...PROPERTY_OPTIONS,
    onUseSample: (s) => {
      for (const cap of s.decision?.caps ?? []) {
        const key = `${cap.chargerId}/${cap.connectorId}`;
        const before = last.get(key);
        const cls = reasonClass(cap.reason.text, cap.reason.kind);
        if (before === undefined) {
          last.set(key, { atMs: s.atMs, capA: cap.currentA, cls, dir: 'first' });
          continue;
        }
        if (before.capA === cap.currentA) continue;
        const dir = cap.currentA > before.capA ? 'up' : 'down';
        if (s.atMs - before.atMs < 10_000) byCase.add(`${before.dir} ${before.cls} -> ${dir} ${cls}`);
        last.set(key, { atMs: s.atMs, capA: cap.currentA, cls, dir });
      }
    },
  });
  for (const cls of byCase) {
    counts.set(cls, (counts.get(cls) ?? 0) + 1);
    const ex = examples.get(cls) ?? [];
    if (ex.length < 4) ex.push(`${c.half}/${c.i}`);
    examples.set(cls, ex);
  }
  if (byCase.size === 0) counts.set('(none seen at 1 s)', (counts.get('(none seen at 1 s)') ?? 0) + 1);
}
console.log(`${listed.length} flapping cases; pairs of cap changes within 10 s by class (cases):`);
for (const [cls, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${cls}\t${(examples.get(cls) ?? []).join(' ')}`);
