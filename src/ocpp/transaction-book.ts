// The one book of the site's OCPP transactions, shared by the 1.6 and 2.0.1 links of a central
// system and read by the local-controller relay (src/upstream). It owns the transaction store,
// which transaction is active on each connector, and the 2.0.1 station transaction ids. A link is
// one socket's life; the book outlives it (a reconnect keeps every id) and, with a persistent
// store, outlives the process (a restart keeps them too).
import { connectorKey } from '../../optimizer/types.ts';
import type { TransactionRecord, TransactionStart, TransactionStop, TransactionStore } from '../state/transaction-store.ts';
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

  constructor(
    private readonly store: TransactionStore,
    private readonly stationIds: StationIdStore = new MemoryStationIdStore(),
  ) {
    for (const pair of stationIds.load()) {
      this.ours.set(stationKey(pair.chargerId, pair.stationTxId), pair.transactionId);
      this.theirs.set(pair.transactionId, { chargerId: pair.chargerId, stationTxId: pair.stationTxId });
    }
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
