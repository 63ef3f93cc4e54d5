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
import { createSqlTransactionStore } from './sql-transaction-store.ts';
import { StorageError } from './storage-errors.ts';
import { createUpstreamStore } from './upstream-store.ts';
import type { Storage } from './types.ts';
import { createUserStore } from './user-store.ts';

/**
 * Opens (creating if needed) the EMS database and brings its schema up to date. WAL journal with
 * synchronous=FULL: a write that returned is durable, even across kill -9 and power loss.
 * History (one row a second) goes through a second connection with synchronous=NORMAL: still
 * safe against a process crash, it may lose its last rows on power loss, and it does not fsync
 * every second on the control loop's thread. `:memory:` works for tests (one connection).
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
  let historyDb = db;
  if (path !== ':memory:') {
    historyDb = new BetterSqlite3(path);
    historyDb.pragma('journal_mode = WAL');
    historyDb.pragma('synchronous = NORMAL');
    historyDb.pragma('busy_timeout = 5000');
  }
  return {
    path,
    schemaVersion,
    users: createUserStore(db, clock),
    tokens: createAuthTokenStore(db, clock),
    audit: createAuditLog(db, clock),
    transactions: createSqlTransactionStore(db),
    sessionSettings: createSessionSettingsStore(db, clock),
    history: createHistoryStore(historyDb),
    connectorHistory: createConnectorHistoryStore(historyDb),
    peaks: createPeakStore(db),
    kpiDays: createKpiDayStore(db),
    upstream: createUpstreamStore(db),
    holdings: createSqlHoldingsStore(historyDb, clock),
    close: () => {
      if (historyDb !== db && historyDb.open) historyDb.close();
      if (db.open) db.close();
    },
  };
}
