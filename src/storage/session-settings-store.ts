import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { SessionSettings, SessionSettingsStore } from './types.ts';

interface Row {
  transaction_id: number;
  departure_at_ms: number | null;
  energy_need_wh: number | null;
  tier: string | null;
  paused: number | null;
  updated_at_ms: number;
}

const toSettings = (r: Row): SessionSettings => ({
  transactionId: r.transaction_id,
  departureAtMs: r.departure_at_ms,
  energyNeedWh: r.energy_need_wh,
  tier: r.tier,
  paused: r.paused === null ? null : r.paused === 1,
  updatedAtMs: r.updated_at_ms,
});

/** Departure, energy need, tier and pause per transaction, so a restart keeps what operators set. */
export function createSessionSettingsStore(db: Database, clock: Clock): SessionSettingsStore {
  const byId = db.prepare<[number], Row>('SELECT * FROM session_settings WHERE transaction_id = ?');
  const upsert = db.prepare(`
    INSERT INTO session_settings (transaction_id, departure_at_ms, energy_need_wh, tier, paused, updated_at_ms)
    VALUES (@transactionId, @departureAtMs, @energyNeedWh, @tier, @paused, @updatedAtMs)
    ON CONFLICT (transaction_id) DO UPDATE SET
      departure_at_ms = excluded.departure_at_ms, energy_need_wh = excluded.energy_need_wh,
      tier = excluded.tier, paused = excluded.paused, updated_at_ms = excluded.updated_at_ms`);
  return {
    get(transactionId) {
      const row = byId.get(transactionId);
      return row ? toSettings(row) : undefined;
    },
    save(transactionId, change) {
      const current = byId.get(transactionId);
      const pick = <T>(given: T | undefined, stored: T | null | undefined): T | null => (given !== undefined ? given : (stored ?? null));
      const pausedStored = current?.paused === null || current === undefined ? null : current.paused === 1;
      const paused = pick(change.paused, pausedStored);
      const next = {
        transactionId,
        departureAtMs: pick(change.departureAtMs, current?.departure_at_ms),
        energyNeedWh: pick(change.energyNeedWh, current?.energy_need_wh),
        tier: pick(change.tier, current?.tier),
        paused: paused === null ? null : paused ? 1 : 0,
        updatedAtMs: clock.nowMs(),
      };
      upsert.run(next);
      return toSettings(byId.get(transactionId)!);
    },
  };
}
