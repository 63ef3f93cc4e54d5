// Why the closed-loop property's cases miss the headroom-use bar: reruns the property's cases and,
// at every steady-state use sample, puts each car's shortfall against its ideal share (what it draws
// less than ideal-share.ts gives it) in a class: its cap below the share, by the reason on the cap
// (a limit with an honest or an over-estimated building load, a hysteresis hold, a pause, lending,
// a released car, a handover...), or its cap at the share but the charger not yet applied or the
// car still responding or ramping. Prints, over the failing cases, the class with the largest
// shortfall per case and the shortfall per class (A × samples).
//   npx tsx test/closed-loop/classify-failures.ts [half 1|2] [cases, default 5000] [at most N failing]
import fc from 'fast-check';
import { arbSiteKnobs, siteFromKnobs } from './arbitrary-site.ts';
import { closedLoopProblems } from './closed-loop-checks.ts';
import { runClosedLoop, type UseSample } from './harness.ts';
import { PROPERTY_EXPECT, PROPERTY_OPTIONS } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

/** A short name for the reason on a cap (optimizer/reasons.ts texts). */
export function reasonClass(text: string, kind: string): string {
  if (text.includes('minimum pause') && text.includes('restarts as soon')) return 'pause-recheck';
  if (text.includes('minimum pause')) return 'min-pause';
  if (text.includes('deadband')) return 'deadband';
  if (text.includes('its cap changed')) return 'recent-change';
  if (text.includes('raised only to')) return 'peak';
  if (text.includes('no limit and no other car')) return 'kept';
  if (text.includes('capped at draw +')) return 'lending';
  if (text.includes('until cars whose caps went down')) return 'handover';
  if (kind === 'reserved') return 'reserved';
  if (text.includes('full or not drawing')) return 'released';
  if (text.includes('looked full')) return 'probe';
  if (text.includes('waiting for capacity')) return 'scarcity0';
  if (kind === 'circuit' || kind === 'grid-power' || kind === 'scarcity' || kind === 'signal') return 'limit';
  return kind;
}

/** The shortfall of one use sample per class, A (per car phase × phases), added into `into`. */
export function classifySample(s: UseSample, rootId: string, into: Map<string, number>): void {
  const reasons = new Map((s.decision?.caps ?? []).map((c) => [`${c.chargerId}/${c.connectorId}`, c]));
  const trueA = s.truth.buildingA.get(rootId) ?? [0, 0, 0];
  const emsA = s.decision?.headroom.buildingA ?? [0, 0, 0];
  const overA = Math.max(emsA[0] - trueA[0], emsA[1] - trueA[1], emsA[2] - trueA[2]);
  for (const c of s.truth.connectors) {
    const key = `${c.chargerId}/${c.connectorId}`;
    const share = s.shareA.get(key);
    if (share === undefined || share <= 0) continue;
    const deficit = (share - c.drawA) * c.carPhases;
    if (deficit <= 0.05) continue;
    const cap = s.caps.get(key) ?? 0;
    const reason = reasons.get(key)?.reason;
    let cls: string;
    if (cap < share - 0.3) {
      const r = reason ? reasonClass(reason.text, reason.kind) : 'no-cap';
      cls = `cap below share: ${r}`;
      if (['limit', 'scarcity0', 'min-pause', 'pause-recheck', 'peak'].includes(r)) cls += overA > 1 ? ' (building over-estimated)' : ' (honest estimate)';
    } else if (c.pilotA < Math.min(cap, share) - 0.3) cls = 'charger not applied yet';
    else cls = 'car responding or ramping';
    into.set(cls, (into.get(cls) ?? 0) + deficit);
  }
}

function main(): void {
  const half = Number(process.argv[2] ?? 1);
  const runs = Number(process.argv[3] ?? 5_000);
  const most = Number(process.argv[4] ?? Number.POSITIVE_INFINITY);
  const seed = PROPERTY_SEED + half * 1_000_003;
  const totals = new Map<string, number>();
  const tops = new Map<string, number>();
  const examples = new Map<string, number[]>();
  let classified = 0;
  const BATCH = 500;
  for (let done = 0; done < runs && classified < most; done += BATCH) {
    const batch = fc.sample(arbSiteKnobs, { numRuns: Math.min(BATCH, runs - done), seed: seed + done });
    for (let j = 0; j < batch.length; j++) {
      const knobs = batch[j];
      if (classified >= most) break;
      const scenario = siteFromKnobs(knobs);
      const byClass = new Map<string, number>();
      const report = runClosedLoop(scenario, { ...PROPERTY_OPTIONS, onUseSample: (s) => classifySample(s, scenario.circuit.id, byClass) });
      if (closedLoopProblems(report, PROPERTY_EXPECT).length === 0 || report.headroomUse === undefined || report.headroomUse >= 0.95) continue;
      classified++;
      let top = 'none';
      let topA = 0;
      for (const [cls, a] of byClass) {
        totals.set(cls, (totals.get(cls) ?? 0) + a);
        if (a > topA) [top, topA] = [cls, a];
      }
      tops.set(top, (tops.get(top) ?? 0) + 1);
      const ex = examples.get(top) ?? [];
      if (ex.length < 6) ex.push(done + j);
      examples.set(top, ex);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  console.log(`${classified} cases under 95 % use (half ${half}, seed ${seed}); the class with the largest shortfall per case:`);
  for (const [cls, n] of sorted(tops)) console.log(`  ${n}\t${cls}\t(cases ${(examples.get(cls) ?? []).join(', ')})`);
  console.log('shortfall per class, A × samples:');
  for (const [cls, a] of sorted(totals)) console.log(`  ${a.toFixed(0)}\t${cls}`);
}

if (process.argv[1]?.endsWith('classify-failures.ts')) main();
