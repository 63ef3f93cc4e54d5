// Where the OCPP 2.0.1 station transaction ids survive a reconnect and an EMS restart. A station
// names its transactions (strings); the EMS keeps its own integer ids for the bus and the store.
// Without the pair, a restarted EMS (or a new link after a reconnect) cannot address the running
// transaction's TxProfile until the station happens to send another TransactionEvent.

/** One station transaction id and the EMS's transaction it stands for. */
export interface StationIdRecord {
  chargerId: string;
  stationTxId: string;
  transactionId: number;
}

export interface StationIdStore {
  /** Every pair recorded, for the restart. */
  load(): StationIdRecord[];
  /** Records (replaces) one pair. Synchronous: it returns once the row is written. */
  save(record: StationIdRecord): void;
  /** The station's transaction is over. */
  remove(chargerId: string, stationTxId: string): void;
}

/** Pairs in memory: a restart forgets them (a reconnect does not: the book outlives the link). */
export class MemoryStationIdStore implements StationIdStore {
  private readonly rows = new Map<string, StationIdRecord>();

  load(): StationIdRecord[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  save(record: StationIdRecord): void {
    this.rows.set(`${record.chargerId}\u0000${record.stationTxId}`, { ...record });
  }

  remove(chargerId: string, stationTxId: string): void {
    this.rows.delete(`${chargerId}\u0000${stationTxId}`);
  }
}
