/** One charging transaction as the central system recorded it (OCPP 1.6: we assign the id). */
export interface TransactionRecord {
  transactionId: number;
  chargerId: string;
  connectorId: number;
  idTag: string;
  startedAtMs: number;
  meterStartWh: number;
  stoppedAtMs?: number;
  meterStopWh?: number;
  stopReason?: string;
}

export interface TransactionStart {
  chargerId: string;
  connectorId: number;
  idTag: string;
  startedAtMs: number;
  meterStartWh: number;
}

export interface TransactionStop {
  stoppedAtMs: number;
  meterStopWh: number;
  reason?: string;
}

/**
 * Where transactions live. Synchronous on purpose: both the in-memory store and the SQLite one
 * (better-sqlite3) answer at once, and the OCPP handlers need the id before they reply.
 */
export interface TransactionStore {
  /** Records a new transaction and returns its id: a positive integer never handed out before. */
  start(tx: TransactionStart): number;
  /** Closes a transaction; undefined when the id is unknown. Stopping twice keeps the first stop. */
  stop(transactionId: number, stop: TransactionStop): TransactionRecord | undefined;
  get(transactionId: number): TransactionRecord | undefined;
  /** Transactions not stopped yet, oldest first. */
  open(): TransactionRecord[];
  /** Those on one connector (a start looks there, not through the site's every open transaction); absent: open() filtered. */
  openOn?(chargerId: string, connectorId: number): TransactionRecord[];
  /**
   * Resolves once every start/stop that returned is on disk, across power loss too (group commit,
   * off the event loop); a charger is answered after it. Absent: what returned is durable already.
   */
  flushed?(): Promise<void>;
}
