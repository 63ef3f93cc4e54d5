import type { Database } from 'better-sqlite3';
import type { KpiDayStore } from './types.ts';

/** One row per local day with the KPI state as JSON; a damaged row reads as none. */
export function createKpiDayStore(db: Database): KpiDayStore {
  const select = db.prepare<[string], { state_json: string }>('SELECT state_json FROM kpi_days WHERE day = ?');
  const upsert = db.prepare(`
    INSERT INTO kpi_days (day, state_json, updated_at_ms) VALUES (?, ?, ?)
    ON CONFLICT (day) DO UPDATE SET state_json = excluded.state_json, updated_at_ms = excluded.updated_at_ms`);
  return {
    load(day) {
      const row = select.get(day);
      if (!row) return undefined;
      try {
        return JSON.parse(row.state_json) as unknown;
      } catch {
        return undefined;
      }
    },
    save(day, state, atMs) {
      upsert.run(day, JSON.stringify(state), atMs);
    },
  };
}
