import type { Database } from 'better-sqlite3';
import type { StationIdRecord, StationIdStore } from '../ocpp/station-id-store.ts';

interface Row {
  charger_id: string;
  station_tx_id: string;
  transaction_id: number;
}

/**
 * The 2.0.1 station transaction ids (src/ocpp/station-id-store.ts), in SQLite, on the connection
 * the transactions are written on: a pair is written with its transaction, before the station is
 * answered (the answer waits for the same group commit).
 */
export function createSqlStationIdStore(db: Database): StationIdStore {
  const all = db.prepare<[], Row>('SELECT charger_id, station_tx_id, transaction_id FROM station_transactions');
  const upsert = db.prepare(`
    INSERT INTO station_transactions (charger_id, station_tx_id, transaction_id) VALUES (?, ?, ?)
    ON CONFLICT (charger_id, station_tx_id) DO UPDATE SET transaction_id = excluded.transaction_id`);
  const del = db.prepare('DELETE FROM station_transactions WHERE charger_id = ? AND station_tx_id = ?');
  return {
    load: () => all.all().map((r) => ({ chargerId: r.charger_id, stationTxId: r.station_tx_id, transactionId: r.transaction_id })),
    save: (record: StationIdRecord) => void upsert.run(record.chargerId, record.stationTxId, record.transactionId),
    remove: (chargerId: string, stationTxId: string) => void del.run(chargerId, stationTxId),
  };
}
