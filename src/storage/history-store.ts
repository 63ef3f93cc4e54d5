import type { Database } from 'better-sqlite3';
import type { HistoryResolution, HistorySample, HistoryStore } from './types.ts';

const COLUMNS = ['grid_power_w', 'pv_power_w', 'battery_power_w', 'ev_power_w', 'building_power_w', 'limit_power_w', 'grid_l1_a', 'grid_l2_a', 'grid_l3_a', 'grid_import_w', 'grid_export_w'] as const;
const FIELDS = ['gridPowerW', 'pvPowerW', 'batteryPowerW', 'evPowerW', 'buildingPowerW', 'limitPowerW', 'gridL1A', 'gridL2A', 'gridL3A', 'gridImportW', 'gridExportW'] as const;

const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;

export const HISTORY_LEVELS: Record<HistoryResolution, { table: string; stepMs: number; keepMs: number }> = {
  '1s': { table: 'history_1s', stepMs: 1000, keepMs: 60 * MINUTE_MS },
  '1m': { table: 'history_1m', stepMs: MINUTE_MS, keepMs: 7 * DAY_MS },
  '15m': { table: 'history_15m', stepMs: QUARTER_MS, keepMs: 366 * DAY_MS },
};

type Row = Record<(typeof COLUMNS)[number], number | null> & { at_ms: number; samples: number; grid_netted_n: number; grid_import_w_n?: number | null };
// SELECT * on the coarse tables also returns the *_n counts; toSample reads only the grid import's.

const toSample = (r: Row): HistorySample => {
  const sample: HistorySample = { atMs: r.at_ms, evPowerW: r.ev_power_w ?? 0, samples: r.samples };
  COLUMNS.forEach((column, i) => {
    if (r[column] !== null) sample[FIELDS[i]] = r[column]!;
  });
  // A 1 s row has no counts: it is one sample, with a grid reading or without.
  sample.gridSamples = r.grid_import_w === null ? 0 : (r.grid_import_w_n ?? r.samples);
  sample.gridNettedSamples = r.grid_netted_n;
  return sample;
};

/**
 * Site power history at three resolutions. Raw samples land in the 1 s table; every finished
 * minute is averaged into the 1 min table, every finished quarter hour (sample-weighted) into the
 * 15 min table. Each level keeps its own retention. Grid import and export are split per sample
 * (migration 14) before any mean, so a minute that swings between them keeps both: their energy
 * is the same at every level.
 */
export function createHistoryStore(db: Database): HistoryStore {
  const insert = db.prepare(`INSERT OR REPLACE INTO history_1s (at_ms, ${COLUMNS.join(', ')}, samples)
    VALUES (@atMs, ${FIELDS.map((f) => `@${f}`).join(', ')}, 1)`);
  // Each column keeps how many samples its mean is made of (`<column>_n`), so a value that is
  // missing part of the time (a stale PV inverter) is averaged over the samples that had it.
  const counts = COLUMNS.map((c) => `${c}_n`);
  const rollup = (from: string, to: string, stepMs: number, countOf: (c: string) => string) =>
    db.prepare(`INSERT OR REPLACE INTO ${to} (at_ms, ${COLUMNS.join(', ')}, ${counts.join(', ')}, grid_netted_n, samples)
      SELECT (at_ms / ${stepMs}) * ${stepMs},
        ${COLUMNS.map((c) => `SUM(${c} * ${countOf(c)}) / NULLIF(SUM(${countOf(c)}), 0)`).join(', ')},
        ${COLUMNS.map((c) => `SUM(${countOf(c)})`).join(', ')},
        SUM(grid_netted_n),
        SUM(samples)
      FROM ${from} WHERE at_ms >= ? AND at_ms < ? GROUP BY at_ms / ${stepMs}`);
  const present = (c: string) => `(CASE WHEN ${c} IS NULL THEN 0 ELSE 1 END)`;
  // Rows written before the counts existed: every sample of the row had the value.
  const counted = (c: string) => `COALESCE(${c}_n, CASE WHEN ${c} IS NULL THEN 0 ELSE samples END)`;
  const toMinutes = rollup('history_1s', 'history_1m', MINUTE_MS, present);
  const toQuarters = rollup('history_1m', 'history_15m', QUARTER_MS, counted);
  const lastAt = (table: string) => (db.prepare(`SELECT MAX(at_ms) AS t FROM ${table}`).get() as { t: number | null }).t;

  // Everything before these marks is rolled up. After a restart, resume after the last rolled row
  // (re-rolling a bucket is harmless: INSERT OR REPLACE recomputes it from the finer table).
  const lastMinute = lastAt('history_1m');
  const lastQuarter = lastAt('history_15m');
  let minutesDoneUntilMs = lastMinute === null ? (lastAt('history_1s') ?? 0) : lastMinute;
  let quartersDoneUntilMs = lastQuarter === null ? (lastAt('history_1m') ?? 0) : lastQuarter;
  minutesDoneUntilMs = Math.floor(minutesDoneUntilMs / MINUTE_MS) * MINUTE_MS;
  quartersDoneUntilMs = Math.floor(quartersDoneUntilMs / QUARTER_MS) * QUARTER_MS;

  const recordTx = db.transaction((sample: HistorySample, heldS: number) => {
    const atMs = Math.floor(sample.atMs / 1000) * 1000;
    const row: Record<string, number | null> = { atMs };
    for (const f of FIELDS) row[f] = sample[f] ?? null;
    row.evPowerW = sample.evPowerW;
    const gridW = sample.gridPowerW;
    row.gridImportW = gridW === undefined ? null : Math.max(0, gridW);
    row.gridExportW = gridW === undefined ? null : Math.max(0, -gridW);
    for (let s = Math.max(1, Math.floor(heldS)) - 1; s >= 0; s--) {
      row.atMs = atMs - s * 1000;
      insert.run(row);
    }
    const minuteStart = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
    if (minuteStart > minutesDoneUntilMs) {
      toMinutes.run(minutesDoneUntilMs, minuteStart);
      minutesDoneUntilMs = minuteStart;
    }
    const quarterStart = Math.floor(atMs / QUARTER_MS) * QUARTER_MS;
    if (quarterStart > quartersDoneUntilMs) {
      toQuarters.run(quartersDoneUntilMs, quarterStart);
      quartersDoneUntilMs = quarterStart;
    }
  });

  return {
    record: (sample, heldS = 1) => recordTx(sample, heldS),
    query(fromMs, toMs, resolution) {
      const { table } = HISTORY_LEVELS[resolution];
      return db
        .prepare<[number, number], Row>(`SELECT * FROM ${table} WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms LIMIT 100000`)
        .all(fromMs, toMs)
        .map(toSample);
    },
    prune(nowMs) {
      for (const level of Object.values(HISTORY_LEVELS)) {
        db.prepare(`DELETE FROM ${level.table} WHERE at_ms < ?`).run(nowMs - level.keepMs);
      }
    },
  };
}
