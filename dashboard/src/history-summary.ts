// Figures under the history chart: peak import, energy into cars, PV produced. Pure.
import type { HistoryPoint } from './api-types.ts';

export interface HistorySummary {
  peakImportW: number | null;
  peakAtMs: number | null;
  evEnergyWh: number;
  pvEnergyWh: number;
  importEnergyWh: number;
  exportEnergyWh: number;
  /** Samples in the range recorded before the EMS split import and export (netted within their minute). */
  nettedSamples: number;
}

/**
 * With `stepMs` (the resolution: each point is the mean over its interval) a point's energy is its
 * mean × the time it was measured: its samples × `sampleMs` (one sample per control cycle, at most
 * one a second) when the EMS says, else × the interval. Every level's point is the sample-weighted
 * mean of the samples in it, so 1 s, 1 min and 15 min give the same totals, and a minute the EMS
 * ran for half of counts half. Grid import and export are the EMS's own Wh per point (split per
 * sample before any mean), so a minute that swings between them keeps both. Without `stepMs`: trapezoid integration; gaps longer than `maxGapMs`
 * (missing data) count as zero.
 */
export function summarizeHistory(points: readonly HistoryPoint[], maxGapMs = 30 * 60_000, stepMs?: number, sampleMs?: number): HistorySummary {
  if (stepMs) return summarizeSteps(points, stepMs, sampleMs);
  let peakImportW: number | null = null;
  let peakAtMs: number | null = null;
  let evEnergyWh = 0;
  let pvEnergyWh = 0;
  let importEnergyWh = 0;
  let exportEnergyWh = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p.gridPowerW !== null && (peakImportW === null || p.gridPowerW > peakImportW)) {
      peakImportW = p.gridPowerW;
      peakAtMs = p.atMs;
    }
    if (i === 0) continue;
    const q = points[i - 1];
    const dtMs = p.atMs - q.atMs;
    if (dtMs <= 0 || dtMs > maxGapMs) continue;
    const hours = dtMs / 3_600_000;
    const area = (a: number | null, b: number | null) => (a !== null && b !== null ? ((a + b) / 2) * hours : 0);
    evEnergyWh += area(q.evPowerW, p.evPowerW);
    pvEnergyWh += area(q.pvPowerW, p.pvPowerW);
    importEnergyWh += area(q.gridPowerW === null ? null : Math.max(0, q.gridPowerW), p.gridPowerW === null ? null : Math.max(0, p.gridPowerW));
    exportEnergyWh += area(q.gridPowerW === null ? null : Math.max(0, -q.gridPowerW), p.gridPowerW === null ? null : Math.max(0, -p.gridPowerW));
  }
  return { peakImportW, peakAtMs, evEnergyWh, pvEnergyWh, importEnergyWh, exportEnergyWh, nettedSamples: 0 };
}

const HOUR_MS = 3_600_000;
const SLACK_MS = 5 * 60_000;

/**
 * The resolution to ask for: the finest one the EMS still keeps for the whole range (1 s for the
 * last hour, 1 min for the last 7 days, else 15 min), so a range never comes back empty just
 * because its coarser level has not been filled yet.
 */
export function resolutionFor(fromMs: number, toMs: number, nowMs: number): '1s' | '1m' | '15m' {
  const spanMs = toMs - fromMs;
  if (fromMs >= nowMs - HOUR_MS - SLACK_MS && spanMs <= HOUR_MS + SLACK_MS) return '1s';
  if (fromMs >= nowMs - 7 * 24 * HOUR_MS - SLACK_MS && spanMs <= 7 * 24 * HOUR_MS + SLACK_MS) return '1m';
  return '15m';
}

function summarizeSteps(points: readonly HistoryPoint[], stepMs: number, sampleMs?: number): HistorySummary {
  let peakImportW: number | null = null;
  let peakAtMs: number | null = null;
  let evEnergyWh = 0;
  let pvEnergyWh = 0;
  let importEnergyWh = 0;
  let exportEnergyWh = 0;
  let nettedSamples = 0;
  for (const p of points) {
    const hours = (sampleMs && p.samples !== null ? p.samples * sampleMs : stepMs) / 3_600_000;
    // The interval's mean import (split per sample); an older EMS gives only the net mean.
    const importW = p.gridImportW ?? (p.gridPowerW === null ? null : Math.max(0, p.gridPowerW));
    if (importW !== null && (peakImportW === null || importW > peakImportW)) {
      peakImportW = importW;
      peakAtMs = p.atMs;
    }
    evEnergyWh += (p.evPowerW ?? 0) * hours;
    pvEnergyWh += (p.pvPowerW ?? 0) * hours;
    // The EMS's own energy per interval when it gives it: the same summed at every resolution.
    importEnergyWh += p.gridImportWh ?? Math.max(0, p.gridPowerW ?? 0) * hours;
    exportEnergyWh += p.gridExportWh ?? Math.max(0, -(p.gridPowerW ?? 0)) * hours;
    nettedSamples += p.gridNettedSamples ?? 0;
  }
  return { peakImportW, peakAtMs, evEnergyWh, pvEnergyWh, importEnergyWh, exportEnergyWh, nettedSamples };
}

export const RESOLUTION_MS: Record<string, number> = { '1s': 1000, '1m': 60_000, '15m': 900_000 };

/**
 * The chart's columns with a null point in every gap longer than `maxGapMs` (the EMS was stopped,
 * no car was plugged in), so no line is drawn across time that has no data. Pure.
 */
export function breakGaps(times: readonly number[], columns: readonly (readonly (number | null)[])[], maxGapMs: number): { times: number[]; columns: (number | null)[][] } {
  const outTimes: number[] = [];
  const outColumns: (number | null)[][] = columns.map(() => []);
  for (let i = 0; i < times.length; i++) {
    if (i > 0 && times[i] - times[i - 1] > maxGapMs) {
      outTimes.push(times[i - 1] + 1);
      outColumns.forEach((column) => column.push(null));
    }
    outTimes.push(times[i]);
    outColumns.forEach((column, c) => column.push(columns[c][i] ?? null));
  }
  return { times: outTimes, columns: outColumns };
}
