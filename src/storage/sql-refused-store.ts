import type { Database } from 'better-sqlite3';
import type { RefusedRecord, RefusedStore } from '../ocpp/refused-store.ts';

interface Row {
  charger_id: string;
  connector_id: number;
  transaction_id: number;
  id_tag: string;
  started_at_ms: number;
  drawing: number;
}

/**
 * The transactions refused by their tag (src/ocpp/refused-store.ts), in SQLite (migration 12), on
 * the connection the transactions are written on: the record is written with the refused
 * transaction, before the charger is answered (the answer waits for the same group commit).
 */
export function createSqlRefusedStore(db: Database): RefusedStore {
  const all = db.prepare<[], Row>('SELECT charger_id, connector_id, transaction_id, id_tag, started_at_ms, drawing FROM refused_transactions');
  const upsert = db.prepare(`
    INSERT INTO refused_transactions (charger_id, connector_id, transaction_id, id_tag, started_at_ms, drawing) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (charger_id, connector_id) DO UPDATE SET
      transaction_id = excluded.transaction_id, id_tag = excluded.id_tag, started_at_ms = excluded.started_at_ms, drawing = excluded.drawing`);
  const del = db.prepare('DELETE FROM refused_transactions WHERE charger_id = ? AND connector_id = ?');
  return {
    load: () =>
      all.all().map((r) => ({ chargerId: r.charger_id, connectorId: r.connector_id, transactionId: r.transaction_id, idTag: r.id_tag, startedAtMs: r.started_at_ms, drawing: r.drawing === 1 })),
    save: (record: RefusedRecord) => void upsert.run(record.chargerId, record.connectorId, record.transactionId, record.idTag, record.startedAtMs, record.drawing ? 1 : 0),
    remove: (chargerId: string, connectorId: number) => void del.run(chargerId, connectorId),
  };
}
