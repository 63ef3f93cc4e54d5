import type { Database } from 'better-sqlite3';
import type { SqlTransactionStore, TransactionRecord } from './types.ts';
import type { WalSync } from './wal-sync.ts';

interface Row {
  id: number;
  charger_id: string;
  connector_id: number;
  id_tag: string;
  started_at_ms: number;
  meter_start_wh: number;
  stopped_at_ms: number | null;
  meter_stop_wh: number | null;
  stop_reason: string | null;
}

const toRecord = (r: Row): TransactionRecord => ({
  transactionId: r.id,
  chargerId: r.charger_id,
  connectorId: r.connector_id,
  idTag: r.id_tag,
  startedAtMs: r.started_at_ms,
  meterStartWh: r.meter_start_wh,
  stoppedAtMs: r.stopped_at_ms ?? undefined,
  meterStopWh: r.meter_stop_wh ?? undefined,
  stopReason: r.stop_reason ?? undefined,
});

/**
 * OCPP transactions in SQLite, on the synchronous=NORMAL connection: when start()/stop() return,
 * the row is in the WAL file (safe against kill -9) and the event loop never waited for a disk;
 * `flushed()` resolves once it is on disk (power loss), and the charger is answered only after that.
 */
export function createSqlTransactionStore(db: Database, wal?: WalSync): SqlTransactionStore {
  // Prepared once: start/stop run on a Start/Stop's way to its answer (a prepare cost as much as the write).
  const byId = db.prepare<[number], Row>('SELECT * FROM transactions WHERE id = ?');
  const insert = db.prepare('INSERT INTO transactions (charger_id, connector_id, id_tag, started_at_ms, meter_start_wh) VALUES (?, ?, ?, ?, ?)');
  const close = db.prepare('UPDATE transactions SET stopped_at_ms = ?, meter_stop_wh = ?, stop_reason = ? WHERE id = ? AND stopped_at_ms IS NULL');
  const openAll = db.prepare<[], Row>('SELECT * FROM transactions WHERE stopped_at_ms IS NULL ORDER BY id');
  const openOnConnector = db.prepare<[string, number], Row>('SELECT * FROM transactions WHERE stopped_at_ms IS NULL AND charger_id = ? AND connector_id = ? ORDER BY id');
  return {
    start(tx) {
      const { lastInsertRowid } = insert.run(tx.chargerId, tx.connectorId, tx.idTag, tx.startedAtMs, tx.meterStartWh);
      return Number(lastInsertRowid);
    },
    stop(id, end) {
      close.run(
        end.stoppedAtMs,
        end.meterStopWh,
        end.reason ?? null,
        id,
      );
      const row = byId.get(id);
      return row ? toRecord(row) : undefined;
    },
    flushed: () => wal?.flushed() ?? Promise.resolve(),
    get(id) {
      const row = byId.get(id);
      return row ? toRecord(row) : undefined;
    },
    open: () => openAll.all().map(toRecord),
    openOn: (chargerId, connectorId) => openOnConnector.all(chargerId, connectorId).map(toRecord),
    between(fromMs, toMs, limit) {
      return db
        .prepare<[number, number, number], Row>('SELECT * FROM transactions WHERE started_at_ms >= ? AND started_at_ms < ? ORDER BY started_at_ms, id LIMIT ?')
        .all(fromMs, toMs, limit)
        .map(toRecord);
    },
    list({ sinceMs = 0, limit = 100 } = {}) {
      return db
        .prepare<[number, number], Row>('SELECT * FROM transactions WHERE started_at_ms >= ? ORDER BY id DESC LIMIT ?')
        .all(sinceMs, Math.min(Math.max(1, limit), 1000))
        .map(toRecord);
    },
  };
}
