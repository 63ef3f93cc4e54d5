// The one book of the site's OCPP transactions, shared by the 1.6 and 2.0.1 links of a central
// system and read by the local-controller relay (src/upstream). It owns the transaction store,
// which transaction is active on each connector, the 2.0.1 station transaction ids, and the
// transactions refused by their tag (per connector until it is free, and whether their car draws
// anyway). A link is one socket's life; the book outlives it (a reconnect keeps every id) and,
// with a persistent store, outlives the process (a restart keeps them too).
import { connectorKey } from '../../optimizer/types.ts';
import type { TransactionRecord, TransactionStart, TransactionStop, TransactionStore } from '../state/transaction-store.ts';
import { MemoryRefusedStore, type RefusedRecord, type RefusedStore } from './refused-store.ts';
import { MemoryStationIdStore, type StationIdStore } from './station-id-store.ts';

/** What others may read from the book (src/upstream); only the links write. */
export interface TransactionBookView {
  /** The EMS's transaction running on this connector, if any. */
  active(chargerId: string, connectorId: number): number | undefined;
  get(transactionId: number): TransactionRecord | undefined;
  /** The EMS's transaction a 2.0.1 station's transaction id stands for. */
  byStationId(chargerId: string, stationTxId: string): number | undefined;
  /** The 2.0.1 station's id of one of our transactions (undefined for 1.6 and once it ended). */
  stationIdOf(transactionId: number): string | undefined;
}

/** Station ids of transactions stopped longer ago than this are forgotten at a restart. */
const STOPPED_PAIR_KEEP_MS = 24 * 3_600_000;

export class TransactionBook implements TransactionStore, TransactionBookView {
  private readonly activeByConnector = new Map<string, number>();
  /** chargerId NUL stationTxId → our id, and our id → the station's. */
  private readonly ours = new Map<string, number>();
  private readonly theirs = new Map<number, { chargerId: string; stationTxId: string }>();
  /** Refused transactions by connector key. */
  private readonly refusedByConnector = new Map<string, RefusedRecord>();

  constructor(
    private readonly store: TransactionStore,
    private readonly stationIds: StationIdStore = new MemoryStationIdStore(),
    private readonly refusedStore: RefusedStore = new MemoryRefusedStore(),
  ) {
    for (const pair of stationIds.load()) {
      this.ours.set(stationKey(pair.chargerId, pair.stationTxId), pair.transactionId);
      this.theirs.set(pair.transactionId, { chargerId: pair.chargerId, stationTxId: pair.stationTxId });
    }
    for (const record of refusedStore.load()) this.refusedByConnector.set(connectorKey(record.chargerId, record.connectorId), record);
  }

  // The store, through the book: one writer of transactions.
  start(tx: TransactionStart): number {
    return this.store.start(tx);
  }

  stop(transactionId: number, stop: TransactionStop): TransactionRecord | undefined {
    return this.store.stop(transactionId, stop);
  }

  get(transactionId: number): TransactionRecord | undefined {
    return this.store.get(transactionId);
  }

  open(): TransactionRecord[] {
    return this.store.open();
  }

  /** Transactions not stopped yet on one connector, oldest first. */
  openOn(chargerId: string, connectorId: number): TransactionRecord[] {
    return this.store.openOn?.(chargerId, connectorId) ?? this.store.open().filter((t) => t.chargerId === chargerId && t.connectorId === connectorId);
  }

  flushed(): Promise<void> {
    return this.store.flushed?.() ?? Promise.resolve();
  }

  active(chargerId: string, connectorId: number): number | undefined {
    return this.activeByConnector.get(connectorKey(chargerId, connectorId));
  }

  setActive(chargerId: string, connectorId: number, transactionId: number | undefined): void {
    if (transactionId === undefined) this.activeByConnector.delete(connectorKey(chargerId, connectorId));
    else this.activeByConnector.set(connectorKey(chargerId, connectorId), transactionId);
  }

  byStationId(chargerId: string, stationTxId: string): number | undefined {
    return this.ours.get(stationKey(chargerId, stationTxId));
  }

  stationIdOf(transactionId: number): string | undefined {
    return this.theirs.get(transactionId)?.stationTxId;
  }

  /** Pairs a station's transaction id with ours; written before the station is answered. */
  mapStationId(chargerId: string, stationTxId: string, transactionId: number): void {
    const before = this.theirs.get(transactionId);
    if (before && before.stationTxId !== stationTxId) this.forgetStationId(before.chargerId, before.stationTxId);
    const previous = this.ours.get(stationKey(chargerId, stationTxId));
    if (previous !== undefined && previous !== transactionId) this.theirs.delete(previous);
    this.ours.set(stationKey(chargerId, stationTxId), transactionId);
    this.theirs.set(transactionId, { chargerId, stationTxId });
    this.stationIds.save({ chargerId, stationTxId, transactionId });
  }

  /** The station ended its transaction: its id may name a new one later. */
  forgetStationId(chargerId: string, stationTxId: string): void {
    const transactionId = this.ours.get(stationKey(chargerId, stationTxId));
    if (transactionId === undefined) return;
    this.ours.delete(stationKey(chargerId, stationTxId));
    if (this.theirs.get(transactionId)?.stationTxId === stationTxId) this.theirs.delete(transactionId);
    this.stationIds.remove(chargerId, stationTxId);
  }

  /** The transaction refused on this connector, until the connector is free again. */
  refused(chargerId: string, connectorId: number): Readonly<RefusedRecord> | undefined {
    return this.refusedByConnector.get(connectorKey(chargerId, connectorId));
  }

  /** Whether a car draws on this connector although its tag was refused (it counts at the charger max). */
  refusedDrawing(chargerId: string, connectorId: number): boolean {
    return this.refused(chargerId, connectorId)?.drawing === true;
  }

  /** The refused transaction of this charger with this id, if it is still on its connector. */
  refusedTransaction(chargerId: string, transactionId: number): Readonly<RefusedRecord> | undefined {
    for (const record of this.refusedByConnector.values()) if (record.chargerId === chargerId && record.transactionId === transactionId) return record;
    return undefined;
  }

  /** Records a refused transaction on its connector (replacing an older one); written before the charger is answered. */
  refuse(record: Omit<RefusedRecord, 'drawing'>): void {
    const full: RefusedRecord = { ...record, drawing: false };
    this.refusedByConnector.set(connectorKey(record.chargerId, record.connectorId), full);
    this.refusedStore.save(full);
  }

  /** Whether the car under the connector's refused tag draws; false when there is none. */
  setRefusedDrawing(chargerId: string, connectorId: number, drawing: boolean): void {
    const record = this.refusedByConnector.get(connectorKey(chargerId, connectorId));
    if (!record || record.drawing === drawing) return;
    record.drawing = drawing;
    this.refusedStore.save(record);
  }

  /** The connector is free (or a session started there): its refused transaction is over. Returns it. */
  clearRefused(chargerId: string, connectorId: number): RefusedRecord | undefined {
    const key = connectorKey(chargerId, connectorId);
    const record = this.refusedByConnector.get(key);
    if (!record) return undefined;
    this.refusedByConnector.delete(key);
    this.refusedStore.remove(chargerId, connectorId);
    return record;
  }

  /**
   * After a restart: every open transaction is active on its connector again (the newest where
   * two claim one), and station ids of transactions stopped long ago are forgotten. Returns the
   * transactions made active, oldest first.
   */
  restore(nowMs: number, accepts: (tx: TransactionRecord) => boolean): TransactionRecord[] {
    for (const [transactionId, pair] of [...this.theirs]) {
      const record = this.store.get(transactionId);
      if (!record || (record.stoppedAtMs !== undefined && record.stoppedAtMs < nowMs - STOPPED_PAIR_KEEP_MS)) this.forgetStationId(pair.chargerId, pair.stationTxId);
    }
    const restored = this.store.open().filter(accepts);
    for (const tx of restored) this.setActive(tx.chargerId, tx.connectorId, tx.transactionId);
    return restored;
  }
}

const stationKey = (chargerId: string, stationTxId: string) => `${chargerId}\u0000${stationTxId}`;
