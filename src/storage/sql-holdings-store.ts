import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { HeldSlotRecord, HoldingsStore } from '../ocpp/holdings-store.ts';

interface Row {
  charger_id: string;
  slot: string;
  limit_a: number;
  transaction_id: number | null;
}

/**
 * What each charger's profile slots may hold (src/ocpp/holdings-store.ts), in SQLite. Give it a
 * connection with synchronous=NORMAL: a row written is safe against kill -9; the writes sit on the
 * path of every profile sent, so they do not wait for an fsync.
 */
export function createSqlHoldingsStore(db: Database, clock: Clock): HoldingsStore {
  const all = db.prepare<[], Row>('SELECT charger_id, slot, limit_a, transaction_id FROM charger_holdings');
  const upsert = db.prepare(`
    INSERT INTO charger_holdings (charger_id, slot, limit_a, transaction_id, updated_at_ms)
    VALUES (@chargerId, @slot, @limitA, @transactionId, @updatedAtMs)
    ON CONFLICT (charger_id, slot) DO UPDATE SET
      limit_a = excluded.limit_a, transaction_id = excluded.transaction_id, updated_at_ms = excluded.updated_at_ms`);
  const del = db.prepare('DELETE FROM charger_holdings WHERE charger_id = ? AND slot = ?');
  return {
    load: () =>
      all.all().map((r) => ({ chargerId: r.charger_id, slot: r.slot, limitA: r.limit_a, ...(r.transaction_id === null ? {} : { transactionId: r.transaction_id }) })),
    save: (record: HeldSlotRecord) =>
      void upsert.run({ chargerId: record.chargerId, slot: record.slot, limitA: record.limitA, transactionId: record.transactionId ?? null, updatedAtMs: clock.nowMs() }),
    remove: (chargerId: string, slot: string) => void del.run(chargerId, slot),
  };
}
