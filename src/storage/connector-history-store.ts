import type { Database } from 'better-sqlite3';
import type { ConnectorHistoryPoint, ConnectorHistoryResolution, ConnectorHistoryStore } from './types.ts';

const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;

export const CONNECTOR_HISTORY_LEVELS: Record<ConnectorHistoryResolution, { table: string; stepMs: number; keepMs: number }> = {
  '1m': { table: 'connector_history_1m', stepMs: MINUTE_MS, keepMs: 7 * DAY_MS },
  '15m': { table: 'connector_history_15m', stepMs: QUARTER_MS, keepMs: 366 * DAY_MS },
};

interface Row {
  charger_id: string;
  connector_id: number;
  at_ms: number;
  energy_wh: number;
  l1_a: number;
  l2_a: number;
  l3_a: number;
  cap_a: number;
  samples: number;
}

/**
 * Per-connector history: one row per connector and minute it had a car or drew power (a missing
 * row is a minute without either), rolled up into quarter hours. Energy is summed, so every
 * resolution gives the same totals; currents and caps are means over the samples.
 */
export function createConnectorHistoryStore(db: Database): ConnectorHistoryStore {
  // A minute written twice (the part before a restart, then the rest) adds up.
  const mean = (c: string) => `${c} = (${c} * samples + excluded.${c} * excluded.samples) / (samples + excluded.samples)`;
  const insert = db.prepare(`INSERT INTO connector_history_1m
    (charger_id, connector_id, at_ms, energy_wh, l1_a, l2_a, l3_a, cap_a, samples)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (charger_id, connector_id, at_ms) DO UPDATE SET energy_wh = energy_wh + excluded.energy_wh,
      ${['l1_a', 'l2_a', 'l3_a', 'cap_a'].map(mean).join(', ')}, samples = samples + excluded.samples`);
  const toQuarters = db.prepare(`INSERT OR REPLACE INTO connector_history_15m
    (charger_id, connector_id, at_ms, energy_wh, l1_a, l2_a, l3_a, cap_a, samples)
    SELECT charger_id, connector_id, (at_ms / ${QUARTER_MS}) * ${QUARTER_MS}, SUM(energy_wh),
      SUM(l1_a * samples) / SUM(samples), SUM(l2_a * samples) / SUM(samples), SUM(l3_a * samples) / SUM(samples),
      SUM(cap_a * samples) / SUM(samples), SUM(samples)
    FROM connector_history_1m WHERE at_ms >= ? AND at_ms < ? AND samples > 0
    GROUP BY charger_id, connector_id, at_ms / ${QUARTER_MS}`);
  const lastQuarter = (db.prepare('SELECT MAX(at_ms) AS t FROM connector_history_15m').get() as { t: number | null }).t;
  const lastMinute = (db.prepare('SELECT MAX(at_ms) AS t FROM connector_history_1m').get() as { t: number | null }).t;
  // After a restart, resume after the last rolled quarter (re-rolling one recomputes it).
  let quartersDoneUntilMs = Math.floor((lastQuarter ?? lastMinute ?? 0) / QUARTER_MS) * QUARTER_MS;

  const recordTx = db.transaction((minuteStartMs: number, rows: Parameters<ConnectorHistoryStore['recordMinute']>[1]) => {
    const atMs = Math.floor(minuteStartMs / MINUTE_MS) * MINUTE_MS;
    for (const r of rows) {
      if (r.samples <= 0) continue;
      insert.run(r.chargerId, r.connectorId, atMs, r.energyWh, r.currentSumA[0] / r.samples, r.currentSumA[1] / r.samples, r.currentSumA[2] / r.samples, r.capSumA / r.samples, r.samples);
    }
    const quarterStart = Math.floor(atMs / QUARTER_MS) * QUARTER_MS;
    if (quarterStart > quartersDoneUntilMs) {
      toQuarters.run(quartersDoneUntilMs, quarterStart);
      quartersDoneUntilMs = quarterStart;
    }
  });

  return {
    recordMinute: (minuteStartMs, rows) => recordTx(minuteStartMs, rows),
    query(fromMs, toMs, resolution, filter = {}) {
      const { table, stepMs } = CONNECTOR_HISTORY_LEVELS[resolution];
      const where = ['at_ms >= ?', 'at_ms < ?'];
      const args: (string | number)[] = [fromMs, toMs];
      if (filter.chargerId !== undefined) {
        where.push('charger_id = ?');
        args.push(filter.chargerId);
      }
      if (filter.connectorId !== undefined) {
        where.push('connector_id = ?');
        args.push(filter.connectorId);
      }
      return db
        .prepare<(string | number)[], Row>(`SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY charger_id, connector_id, at_ms LIMIT 200000`)
        .all(...args)
        .map(
          (r): ConnectorHistoryPoint => ({
            chargerId: r.charger_id,
            connectorId: r.connector_id,
            atMs: r.at_ms,
            energyWh: r.energy_wh,
            powerW: r.energy_wh / (stepMs / 3_600_000),
            currentA: [r.l1_a, r.l2_a, r.l3_a],
            capA: r.cap_a,
            samples: r.samples,
          }),
        );
    },
    prune(nowMs) {
      for (const level of Object.values(CONNECTOR_HISTORY_LEVELS)) db.prepare(`DELETE FROM ${level.table} WHERE at_ms < ?`).run(nowMs - level.keepMs);
    },
  };
}
