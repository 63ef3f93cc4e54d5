// What the rest of the shell may ask of storage. The API and services get a `Storage` at wiring
// time and import only these types.
import type { HoldingsStore } from '../ocpp/holdings-store.ts';
import type { TransactionRecord, TransactionStore } from '../state/transaction-store.ts';
import type { RefusedStore } from '../ocpp/refused-store.ts';
import type { StationIdStore } from '../ocpp/station-id-store.ts';
import type { UpstreamStore } from '../upstream/upstream-store.ts';

export type { TransactionRecord };

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  username: string;
  passwordHash: string;
  role: Role;
  createdAtMs: number;
  updatedAtMs: number;
}

export type AuthTokenKind = 'session' | 'api';

/** A login session (cookie or bearer) or a machine API token. Only the token's hash is stored. */
export interface AuthTokenRecord {
  tokenHash: string;
  kind: AuthTokenKind;
  username: string;
  name?: string;
  csrf?: string;
  createdAtMs: number;
  expiresAtMs?: number;
  lastUsedAtMs?: number;
}

export interface UserStore {
  count(): number;
  get(username: string): UserRecord | undefined;
  list(): UserRecord[];
  create(user: { username: string; passwordHash: string; role: Role }): UserRecord;
  update(username: string, change: { passwordHash?: string; role?: Role }): UserRecord | undefined;
  remove(username: string): boolean;
}

export interface AuthTokenStore {
  create(token: Omit<AuthTokenRecord, 'createdAtMs' | 'lastUsedAtMs'>): AuthTokenRecord;
  /** The live record for a hash, or undefined when unknown or expired; touches lastUsedAtMs. */
  find(tokenHash: string): AuthTokenRecord | undefined;
  remove(tokenHash: string): boolean;
  /** Ends every login session of a user (API tokens stay), except `keepTokenHash`. */
  removeSessionsOf(username: string, keepTokenHash?: string): number;
  listApi(): AuthTokenRecord[];
  /** Drops expired tokens; returns how many. */
  prune(): number;
}

export interface AuditEntry {
  id: number;
  atMs: number;
  actor: string;
  action: string;
  target?: string;
  before?: unknown;
  after?: unknown;
  ip?: string;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'id' | 'atMs'>): AuditEntry;
  list(query?: { sinceMs?: number; beforeId?: number; limit?: number; action?: string }): AuditEntry[];
}

/** The OCPP side's TransactionStore, backed by SQLite, plus a listing for the API. */
export interface SqlTransactionStore extends TransactionStore {
  list(query?: { sinceMs?: number; limit?: number }): TransactionRecord[];
  /** Transactions started in [fromMs, toMs), oldest first, at most `limit` (exports). */
  between(fromMs: number, toMs: number, limit: number): TransactionRecord[];
}

/** Operator steering of a session that must survive a restart. Null = cleared. */
export interface SessionSettings {
  transactionId: number;
  departureAtMs?: number | null;
  energyNeedWh?: number | null;
  tier?: string | null;
  paused?: boolean | null;
  updatedAtMs: number;
}

export interface SessionSettingsStore {
  get(transactionId: number): SessionSettings | undefined;
  /** Merges the given fields into what is stored. */
  save(transactionId: number, change: Omit<SessionSettings, 'transactionId' | 'updatedAtMs'>): SessionSettings;
}

export const HISTORY_RESOLUTIONS = ['1s', '1m', '15m'] as const;
export type HistoryResolution = (typeof HISTORY_RESOLUTIONS)[number];

export interface HistorySample {
  atMs: number;
  gridPowerW?: number;
  pvPowerW?: number;
  batteryPowerW?: number;
  evPowerW: number;
  buildingPowerW?: number;
  limitPowerW?: number;
  /** Grid current per site phase at the connection point, A (mean over the interval). */
  gridL1A?: number;
  gridL2A?: number;
  gridL3A?: number;
  /**
   * Mean grid import and mean grid export over the samples with a grid reading, W, each ≥ 0: every
   * sample is split before it is averaged, so a minute that swings between them keeps both. Set by
   * query (from `gridPowerW` by record).
   */
  gridImportW?: number;
  gridExportW?: number;
  /** How many samples had a grid reading (the count behind the grid means; set by query). */
  gridSamples?: number;
  /**
   * How many of those samples were netted within their minute (recorded before migration 14: their
   * import and export are the minute's net mean, so both may be low). 0 for everything newer.
   */
  gridNettedSamples?: number;
  /** How many recorded samples the point is the mean of (1 at 1 s; set by query, ignored by record). */
  samples?: number;
}

export const CONNECTOR_HISTORY_RESOLUTIONS = ['1m', '15m'] as const;
export type ConnectorHistoryResolution = (typeof CONNECTOR_HISTORY_RESOLUTIONS)[number];

/** One connector over one interval (a minute or a quarter hour). */
export interface ConnectorHistoryPoint {
  chargerId: string;
  connectorId: number;
  /** Start of the interval. */
  atMs: number;
  /** Energy into the car over the interval, Wh (a minute without a row: none). */
  energyWh: number;
  /** Mean power over the whole interval, W (energyWh / interval). */
  powerW: number;
  /** Mean current per charger phase L1-L3 over the samples of the interval, A. */
  currentA: [number, number, number];
  /** Mean cap the EMS gave it over the samples of the interval, A per phase. */
  capA: number;
  samples: number;
}

/** A connector's sums over one minute, as the recorder gathers them. */
export interface ConnectorMinute {
  chargerId: string;
  connectorId: number;
  energyWh: number;
  currentSumA: [number, number, number];
  capSumA: number;
  samples: number;
}

export interface ConnectorHistoryStore {
  /** Stores finished minutes (connectors with a car or a draw) and rolls finished quarter hours up. */
  recordMinute(minuteStartMs: number, rows: readonly ConnectorMinute[]): void;
  query(fromMs: number, toMs: number, resolution: ConnectorHistoryResolution, filter?: { chargerId?: string; connectorId?: number }): ConnectorHistoryPoint[];
  /** Drops rows past their retention (1 min: 7 days, 15 min: 1 year). */
  prune(nowMs: number): void;
}

export interface HistoryStore {
  /**
   * Records one sample (at most one per second is kept) and rolls finished minutes and quarters up.
   * `heldS` (default 1): the sample stands for that many seconds ending at its own, a row for each,
   * written in one transaction.
   */
  record(sample: HistorySample, heldS?: number): void;
  query(fromMs: number, toMs: number, resolution: HistoryResolution): HistorySample[];
  /** Drops rows past their retention (1 s: 1 h, 1 min: 7 days, 15 min: 1 year). */
  prune(nowMs: number): void;
}

export interface MonthlyPeak {
  month: string;
  peakPowerW: number;
  atMs: number;
}

export interface PeakStore {
  /** Raises the month's peak if powerW is above it; returns the month's peak. */
  offer(month: string, powerW: number, atMs: number): MonthlyPeak;
  get(month: string): MonthlyPeak | undefined;
  /** The billing month containing atMs in the site's time zone, and its peak so far. */
  current(atMs: number, timeZone: string): { month: string; peak?: MonthlyPeak };
}

/** Running figures of one local day (the tariff service's KPI state), kept so a restart changes nothing. */
export interface KpiDayStore {
  /** The saved state of a day ("2026-12-06"), undefined when none (or unreadable). */
  load(day: string): unknown;
  save(day: string, state: unknown, atMs: number): void;
}

export interface Storage {
  readonly path: string;
  readonly users: UserStore;
  readonly tokens: AuthTokenStore;
  readonly audit: AuditLog;
  readonly transactions: SqlTransactionStore;
  /** OCPP 2.0.1 station transaction ids paired with ours (src/ocpp/transaction-book.ts). */
  readonly stationIds: StationIdStore;
  /** Transactions refused by their tag, per connector until it is free (src/ocpp/transaction-book.ts). */
  readonly refused: RefusedStore;
  readonly sessionSettings: SessionSettingsStore;
  readonly history: HistoryStore;
  readonly connectorHistory: ConnectorHistoryStore;
  readonly peaks: PeakStore;
  readonly kpiDays: KpiDayStore;
  /** The local controller's offline queue and id map (src/upstream). */
  readonly upstream: UpstreamStore;
  /** What each charger may hold, kept across a restart (src/ocpp), on the synchronous=NORMAL connection. */
  readonly holdings: HoldingsStore;
  /** Schema version after migrations. */
  readonly schemaVersion: number;
  /** Resolves once every write that returned so far is on disk (power-loss safe); see wal-sync.ts. */
  flushed(): Promise<void>;
  /** SQLite's automatic WAL checkpoint on this process's connections: every `pages` WAL pages, on the committing thread; 0 turns it off (wal-checkpointer.ts). */
  autoCheckpoint(pages: number): void;
  close(): void;
}
