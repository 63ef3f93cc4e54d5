import type { Database } from 'better-sqlite3';
import { StorageMigrationError } from './storage-errors.ts';

/** Append only: a released migration is never edited; a change is a new entry. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const historyTable = (name: string) => `
  CREATE TABLE ${name} (
    at_ms INTEGER PRIMARY KEY,
    grid_power_w REAL,
    pv_power_w REAL,
    battery_power_w REAL,
    ev_power_w REAL NOT NULL,
    building_power_w REAL,
    limit_power_w REAL,
    samples INTEGER NOT NULL DEFAULT 1
  ) WITHOUT ROWID;`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'users, auth tokens, audit log',
    sql: `
      CREATE TABLE users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE auth_tokens (
        token_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
        username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
        name TEXT,
        csrf TEXT,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        last_used_at_ms INTEGER
      );
      CREATE INDEX auth_tokens_user ON auth_tokens (username);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        before_json TEXT,
        after_json TEXT,
        ip TEXT
      );
      CREATE INDEX audit_log_at ON audit_log (at_ms);`,
  },
  {
    version: 2,
    name: 'transactions and session settings',
    sql: `
      CREATE TABLE transactions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        charger_id TEXT NOT NULL,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        meter_start_wh REAL NOT NULL,
        stopped_at_ms INTEGER,
        meter_stop_wh REAL,
        stop_reason TEXT
      );
      CREATE INDEX transactions_open ON transactions (stopped_at_ms) WHERE stopped_at_ms IS NULL;
      CREATE TABLE session_settings (
        transaction_id INTEGER PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
        departure_at_ms INTEGER,
        energy_need_wh REAL,
        tier TEXT,
        paused INTEGER,
        updated_at_ms INTEGER NOT NULL
      );`,
  },
  {
    version: 3,
    name: 'downsampled history and monthly peak',
    sql: `
      ${historyTable('history_1s')}
      ${historyTable('history_1m')}
      ${historyTable('history_15m')}
      CREATE TABLE monthly_peaks (
        month TEXT PRIMARY KEY,
        peak_power_w REAL NOT NULL,
        at_ms INTEGER NOT NULL
      );`,
  },
  {
    version: 4,
    name: 'history: samples per column, so means stay exact when a value is missing part of the time',
    sql: ['history_1m', 'history_15m']
      .flatMap((table) =>
        ['grid_power_w', 'pv_power_w', 'battery_power_w', 'ev_power_w', 'building_power_w', 'limit_power_w'].map(
          (column) => `ALTER TABLE ${table} ADD COLUMN ${column}_n INTEGER;`,
        ),
      )
      .join('\n'),
  },
  {
    version: 5,
    name: "today's KPI state per local day, so a restart changes no figure",
    sql: `
      CREATE TABLE kpi_days (
        day TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );`,
  },
  {
    version: 6,
    name: 'upstream (local controller): offline queue, transaction-id map, accepted-tag cache',
    sql: `
      CREATE TABLE upstream_queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        charger_id TEXT NOT NULL,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        charger_tx_id TEXT,
        queued_at_ms INTEGER NOT NULL
      );
      CREATE INDEX upstream_queue_by_charger ON upstream_queue (charger_id, seq);
      CREATE TABLE upstream_transactions (
        charger_id TEXT NOT NULL,
        charger_tx_id TEXT NOT NULL,
        local_tx_id INTEGER,
        csms_tx_id TEXT,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (charger_id, charger_tx_id)
      ) WITHOUT ROWID;
      CREATE TABLE upstream_tags (
        id_tag TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        expires_at_ms INTEGER,
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;`,
  },
  {
    version: 7,
    name: "upstream (local controller): the CSMS's charging profiles kept per charger",
    sql: `
      CREATE TABLE upstream_profiles (
        charger_id TEXT PRIMARY KEY,
        profiles TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;`,
  },
  {
    version: 8,
    name: 'history per phase (grid current L1-L3) and per connector (1 min and 15 min)',
    sql: [
      ...['history_1s', 'history_1m', 'history_15m'].flatMap((table) =>
        ['grid_l1_a', 'grid_l2_a', 'grid_l3_a'].flatMap((column) => [
          `ALTER TABLE ${table} ADD COLUMN ${column} REAL;`,
          ...(table === 'history_1s' ? [] : [`ALTER TABLE ${table} ADD COLUMN ${column}_n INTEGER;`]),
        ]),
      ),
      ...['connector_history_1m', 'connector_history_15m'].map(
        (table) => `
      CREATE TABLE ${table} (
        charger_id TEXT NOT NULL,
        connector_id INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        energy_wh REAL NOT NULL,
        l1_a REAL NOT NULL,
        l2_a REAL NOT NULL,
        l3_a REAL NOT NULL,
        cap_a REAL NOT NULL,
        samples INTEGER NOT NULL,
        PRIMARY KEY (charger_id, connector_id, at_ms)
      ) WITHOUT ROWID;
      CREATE INDEX ${table}_at ON ${table} (at_ms);`,
      ),
    ].join('\n'),
  },
  {
    version: 9,
    name: 'what each charger may hold (connector defaults, TxProfiles), for a restart',
    sql: `
      CREATE TABLE charger_holdings (
        charger_id TEXT NOT NULL,
        slot TEXT NOT NULL,
        limit_a REAL NOT NULL,
        transaction_id INTEGER,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (charger_id, slot)
      ) WITHOUT ROWID;`,
  },
  {
    version: 10,
    name: 'OCPP 2.0.1 station transaction ids paired with ours, for a reconnect and a restart',
    sql: `
      CREATE TABLE station_transactions (
        charger_id TEXT NOT NULL,
        station_tx_id TEXT NOT NULL,
        transaction_id INTEGER NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        PRIMARY KEY (charger_id, station_tx_id)
      ) WITHOUT ROWID;`,
  },
  {
    version: 11,
    name: "upstream (local controller): the requestId of the 2.0.1 CSMS's last UpdateFirmware / GetLog per 1.6 charger",
    sql: `
      CREATE TABLE upstream_requests (
        charger_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        request_id INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (charger_id, kind)
      ) WITHOUT ROWID;`,
  },
  {
    version: 12,
    name: 'transactions refused by their tag, per connector until it is free, and whether their car draws anyway',
    sql: `
      CREATE TABLE refused_transactions (
        charger_id TEXT NOT NULL,
        connector_id INTEGER NOT NULL,
        transaction_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        drawing INTEGER NOT NULL,
        PRIMARY KEY (charger_id, connector_id)
      ) WITHOUT ROWID;`,
  },
  {
    version: 13,
    name: 'upstream (local controller): what the 2.0.1-to-1.6 translation has seen of each station transaction not ended upstream',
    sql: `
      CREATE TABLE upstream_station_transactions (
        charger_id TEXT NOT NULL,
        station_tx_id TEXT NOT NULL,
        seen TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (charger_id, station_tx_id)
      ) WITHOUT ROWID;`,
  },
  {
    version: 14,
    name: 'history: grid import and export apart, so their energy is the same at every resolution',
    // The 1 s rows are single readings, so their split is exact. A minute or quarter hour recorded
    // before this kept only the net mean: it keeps it (import = the mean when positive, export =
    // minus the mean when negative, as read before) and says how many of its samples are netted.
    sql: [
      `ALTER TABLE history_1s ADD COLUMN grid_import_w REAL;
      ALTER TABLE history_1s ADD COLUMN grid_export_w REAL;
      ALTER TABLE history_1s ADD COLUMN grid_netted_n INTEGER NOT NULL DEFAULT 0;
      UPDATE history_1s SET grid_import_w = MAX(grid_power_w, 0), grid_export_w = MAX(-grid_power_w, 0) WHERE grid_power_w IS NOT NULL;`,
      ...['history_1m', 'history_15m'].map(
        (table) => `
      ALTER TABLE ${table} ADD COLUMN grid_import_w REAL;
      ALTER TABLE ${table} ADD COLUMN grid_import_w_n INTEGER;
      ALTER TABLE ${table} ADD COLUMN grid_export_w REAL;
      ALTER TABLE ${table} ADD COLUMN grid_export_w_n INTEGER;
      ALTER TABLE ${table} ADD COLUMN grid_netted_n INTEGER NOT NULL DEFAULT 0;
      UPDATE ${table} SET
        grid_import_w = MAX(grid_power_w, 0),
        grid_export_w = MAX(-grid_power_w, 0),
        grid_import_w_n = COALESCE(grid_power_w_n, samples),
        grid_export_w_n = COALESCE(grid_power_w_n, samples),
        grid_netted_n = COALESCE(grid_power_w_n, samples)
      WHERE grid_power_w IS NOT NULL;`,
      ),
    ].join('\n'),
  },
];

/**
 * Applies every migration the database has not recorded, in version order, each in its own
 * transaction. Returns the versions applied. By the recorded set, not the highest version: a
 * migration numbered on a branch below one that reached a database first still applies.
 */
export function migrate(db: Database, atMs: number, list: readonly Migration[] = migrations): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`);
  const recorded = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const current = Math.max(0, ...recorded);
  const known = Math.max(0, ...list.map((m) => m.version));
  if (current > known) {
    throw new StorageMigrationError(`database schema version ${current} is newer than this program (${known}); refusing to open it`);
  }
  const applied: number[] = [];
  for (const migration of [...list].sort((a, b) => a.version - b.version)) {
    if (recorded.has(migration.version)) continue;
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(migration.version, migration.name, atMs);
      })();
    } catch (cause) {
      throw new StorageMigrationError(`migration ${migration.version} (${migration.name}) failed`, { cause });
    }
    applied.push(migration.version);
  }
  return applied;
}
