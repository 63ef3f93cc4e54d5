// Prints every cap change of one property case with its reason and the EMS's building estimate
// (trace-case.ts prints the plant second by second; this, what the EMS decided and why).
//   npx tsx test/closed-loop/trace-caps.ts <half 1|2> <index> [connector key, e.g. CP1/1]
import fc from 'fast-check';
import { arbSiteKnobs, siteFromKnobs } from './arbitrary-site.ts';
import { watchedEmsStep } from './ems-step.ts';
import { runClosedLoop } from './harness.ts';
import { PROPERTY_OPTIONS } from './property-run.ts';
import { PROPERTY_SEED } from './property-settings.ts';

const BATCH = 500;
const half = Number(process.argv[2] ?? 1);
const i = Number(process.argv[3] ?? 0);
const only = process.argv[4];
const from = Number(process.env.TRACE_FROM ?? Infinity);
const to = Number(process.env.TRACE_TO ?? -Infinity);
const seed = PROPERTY_SEED + half * 1_000_003;
const batch = Math.floor(i / BATCH) * BATCH;
const knobs = fc.sample(arbSiteKnobs, { numRuns: BATCH, seed: seed + batch })[i - batch]!;
const scenario = siteFromKnobs(knobs);
const last = new Map<string, number>();
const report = runClosedLoop(scenario, {
  ...PROPERTY_OPTIONS,
  createStep: watchedEmsStep((d, state, atMs) => {
    const t = ((atMs - scenario.startAtMs) / 1000).toFixed(1).padStart(5);
    const tS = (atMs - scenario.startAtMs) / 1000;
    if (tS >= from && tS <= to) {
      // TRACE_FROM..TRACE_TO (s): every cycle in full: caps, reservations, draws.
      const snap = state.snapshot(atMs);
      const rows = d.caps.map((c) => {
        const conn = snap.connectors.find((x) => x.chargerId === c.chargerId && x.connectorId === c.connectorId);
        return `${c.chargerId}/${c.connectorId} ${c.currentA} res ${conn?.reservedA ?? '-'} inst ${conn?.installedCapA ?? '-'} draw ${conn?.drawA?.map((a) => a.toFixed(1)).join('/')} [${c.reason.kind}]`;
      });
      console.log(`${t}s FULL bldg ${d.headroom.buildingA.map((a) => a.toFixed(1)).join('/')} grid ${snap.grid?.currentA.map((a) => a.toFixed(1)).join('/')}@${snap.grid ? ((snap.grid.atMs - scenario.startAtMs) / 1000).toFixed(1) : '-'} | ${rows.join(' | ')}`);
    }
    for (const c of d.caps) {
      const key = `${c.chargerId}/${c.connectorId}`;
      if (only && key !== only) continue;
      if (last.get(key) === c.currentA) continue;
      last.set(key, c.currentA);
      const conn = state.snapshot(atMs).connectors.find((x) => x.chargerId === c.chargerId && x.connectorId === c.connectorId);
      const draw = conn?.drawA ? `${Math.max(...conn.drawA).toFixed(1)}@${conn.drawAtMs === undefined ? '-' : ((conn.drawAtMs - scenario.startAtMs) / 1000).toFixed(1)}` : '-';
      console.log(`${t}s ${key} ${c.currentA} A (${c.reason.kind}: ${c.reason.text}) draw ${draw} ems bldg ${d.headroom.buildingA.map((a) => a.toFixed(1)).join('/')}`);
    }
  }),
});
console.log(`use ${report.headroomUse?.toFixed(3)} flaps ${report.flaps} emsCausedAs ${report.emsCausedAs.toFixed(1)} steady ${report.steadyMs}`);
