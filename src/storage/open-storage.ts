import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import { createAuditLog } from './audit-log.ts';
import { createAuthTokenStore } from './auth-token-store.ts';
import { createConnectorHistoryStore } from './connector-history-store.ts';
import { createHistoryStore } from './history-store.ts';
import { migrate } from './migrations.ts';
import { createKpiDayStore } from './kpi-day-store.ts';
import { createPeakStore } from './peak-store.ts';
import { createSessionSettingsStore } from './session-settings-store.ts';
import { createSqlHoldingsStore } from './sql-holdings-store.ts';
import { createSqlRefusedStore } from './sql-refused-store.ts';
import { createSqlStationIdStore } from './sql-station-id-store.ts';
import { createSqlTransactionStore } from './sql-transaction-store.ts';
import { StorageError } from './storage-errors.ts';
import { createUpstreamStore } from './upstream-store.ts';
import { WalSync } from './wal-sync.ts';
import type { Storage } from './types.ts';
import { createUserStore } from './user-store.ts';

/**
 * Opens (creating if needed) the EMS database and brings its schema up to date. WAL journal with
 * synchronous=FULL: a write that returned is durable, even across kill -9 and power loss.
 * The frequent writes go through a second connection with synchronous=NORMAL, which never fsyncs
 * on the event loop: a write that returned is in the WAL file, safe against kill -9.
 * - History (one row a second) and charger holdings: they may lose their last rows on power loss.
 * - Transactions and the local controller's queue and id map: whoever answers a charger on their
 *   strength waits for `flushed()` (group commit, fsync off the event loop, wal-sync.ts), so what
 *   a charger was told is recorded is on disk, across power loss too.
 * Checkpoints: SQLite's automatic one runs inside the commit that crosses 1,000 WAL pages, on the
 * event loop, and fsyncs there; the app turns it off while a WalCheckpointer (wal-checkpointer.ts)
 * runs them on a worker thread (`autoCheckpoint(0)`), and back on when that worker cannot.
 * `:memory:` works for tests (one connection).
 */
export function openStorage(path: string, clock: Clock): Storage {
  let db: BetterSqlite3.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new BetterSqlite3(path);
  } catch (cause) {
    throw new StorageError(`cannot open database ${path}`, { cause });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, clock.nowMs());
  } catch (error) {
    db.close();
    throw error;
  }
  const schemaVersion = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
  let normalDb = db;
  if (path !== ':memory:') {
    normalDb = new BetterSqlite3(path);
    normalDb.pragma('journal_mode = WAL');
    normalDb.pragma('synchronous = NORMAL');
    normalDb.pragma('foreign_keys = ON');
    normalDb.pragma('busy_timeout = 5000');
  }
  const walSync = new WalSync(path === ':memory:' ? undefined : `${path}-wal`);
  return {
    path,
    schemaVersion,
    users: createUserStore(db, clock),
    tokens: createAuthTokenStore(db, clock),
    audit: createAuditLog(db, clock),
    transactions: createSqlTransactionStore(normalDb, walSync),
    stationIds: createSqlStationIdStore(normalDb),
    refused: createSqlRefusedStore(normalDb),
    sessionSettings: createSessionSettingsStore(db, clock),
    history: createHistoryStore(normalDb),
    connectorHistory: createConnectorHistoryStore(normalDb),
    peaks: createPeakStore(db),
    // Saved at every session end: on the NORMAL connection (no fsync on the event loop; kill -9 safe).
    kpiDays: createKpiDayStore(normalDb),
    upstream: createUpstreamStore(normalDb, walSync),
    holdings: createSqlHoldingsStore(normalDb, clock),
    flushed: () => walSync.flushed(),
    autoCheckpoint(pages) {
      for (const connection of new Set([db, normalDb])) if (connection.open) connection.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(pages))}`);
    },
    close: () => {
      walSync.close();
      if (normalDb !== db && normalDb.open) normalDb.close();
      if (db.open) db.close();
    },
  };
}
