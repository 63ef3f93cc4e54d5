// The site history at a resolution, with the interval in progress included: storage rolls a minute
// (a quarter hour) up only once it is over, so without it "6 h" at 1 min would miss what "1 h" at
// 1 s shows of the current minute. The open interval is made from the finer level the way storage
// makes a closed one (sample-weighted means), so the totals are the same at every resolution.
import type { HistoryResolution, HistorySample, HistoryStore } from '../storage/types.ts';

const STEP_MS: Record<HistoryResolution, number> = { '1s': 1000, '1m': 60_000, '15m': 900_000 };
const FINER: Partial<Record<HistoryResolution, HistoryResolution>> = { '1m': '1s', '15m': '1m' };
const FIELDS = ['gridPowerW', 'pvPowerW', 'batteryPowerW', 'evPowerW', 'buildingPowerW', 'limitPowerW', 'gridL1A', 'gridL2A', 'gridL3A', 'gridImportW', 'gridExportW'] as const;
/** Means over the samples with a grid reading: weighted by `gridSamples`, as storage weights them. */
const GRID_FIELDS: ReadonlySet<string> = new Set(['gridPowerW', 'gridImportW', 'gridExportW']);

/** Points of [fromMs, toMs) at `resolution` (intervals starting in the range), the open one included. */
export function historyPoints(store: Pick<HistoryStore, 'query'>, fromMs: number, toMs: number, resolution: HistoryResolution): HistorySample[] {
  const points = store.query(fromMs, toMs, resolution);
  const finer = FINER[resolution];
  if (!finer) return points;
  const stepMs = STEP_MS[resolution];
  const last = points.at(-1);
  const tailFromMs = Math.max(Math.ceil(fromMs / stepMs) * stepMs, last ? last.atMs + stepMs : -Infinity);
  if (!(tailFromMs < toMs)) return points;
  const tail = historyPoints(store, tailFromMs, toMs, finer);
  return [...points, ...rollUp(tail, stepMs)];
}

/** Sample-weighted means per interval of `stepMs` (a missing value is averaged over the samples that had it). */
function rollUp(points: readonly HistorySample[], stepMs: number): HistorySample[] {
  const buckets = new Map<number, HistorySample[]>();
  for (const p of points) {
    const at = Math.floor(p.atMs / stepMs) * stepMs;
    const bucket = buckets.get(at);
    if (bucket) bucket.push(p);
    else buckets.set(at, [p]);
  }
  return [...buckets.entries()].map(([atMs, bucket]) => {
    const out: HistorySample = {
      atMs,
      evPowerW: 0,
      samples: bucket.reduce((n, p) => n + (p.samples ?? 1), 0),
      gridSamples: bucket.reduce((n, p) => n + (p.gridSamples ?? 0), 0),
      gridNettedSamples: bucket.reduce((n, p) => n + (p.gridNettedSamples ?? 0), 0),
    };
    for (const field of FIELDS) {
      let sum = 0;
      let n = 0;
      for (const p of bucket) {
        const v = p[field];
        if (v === undefined) continue;
        const weight = GRID_FIELDS.has(field) ? (p.gridSamples ?? p.samples ?? 1) : (p.samples ?? 1);
        sum += v * weight;
        n += weight;
      }
      if (n > 0) out[field] = sum / n;
    }
    return out;
  });
}
