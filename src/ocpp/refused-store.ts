// Where the transactions the EMS refused (their tag) survive a reconnect and an EMS restart, one
// per connector until the connector is free again. The charger got a transaction id (the spec
// requires one) but the EMS opened no session; whether the car draws anyway is what reserves the
// connector, so a new link or a restarted EMS must not forget it.

/** A refused transaction on one connector, and whether its car draws anyway. */
export interface RefusedRecord {
  chargerId: string;
  connectorId: number;
  transactionId: number;
  idTag: string;
  startedAtMs: number;
  /** The car draws although its tag was refused: its connector counts at the charger max. */
  drawing: boolean;
}

export interface RefusedStore {
  /** Every record, for the restart. */
  load(): RefusedRecord[];
  /** Records (replaces) the connector's record. Synchronous: it returns once the row is written. */
  save(record: RefusedRecord): void;
  /** The connector is free again (or a new session started there). */
  remove(chargerId: string, connectorId: number): void;
}

/** Records in memory: a restart forgets them (a reconnect does not: the book outlives the link). */
export class MemoryRefusedStore implements RefusedStore {
  private readonly rows = new Map<string, RefusedRecord>();

  load(): RefusedRecord[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  save(record: RefusedRecord): void {
    this.rows.set(`${record.chargerId}\u0000${record.connectorId}`, { ...record });
  }

  remove(chargerId: string, connectorId: number): void {
    this.rows.delete(`${chargerId}\u0000${connectorId}`);
  }
}
