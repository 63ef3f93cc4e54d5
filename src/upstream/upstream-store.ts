// What the local controller keeps durably (SQLite, src/storage/upstream-store.ts): the frames held
// back while the uplink is down, the transaction-id map, the tags the CSMS accepted, and what the
// 2.0.1-to-1.6 translation has seen of each station transaction. Which transaction runs on which
// connector is not here: the EMS's transaction book (src/ocpp/transaction-book.ts) owns that.
import type { StationTx } from './translate-201-16.ts';

/** A charger frame held back while the uplink was down, delivered in `seq` order. */
export interface QueuedFrame {
  seq: number;
  chargerId: string;
  action: string;
  /** The charger's payload as it arrived (original timestamps). */
  payload: unknown;
  /** The transaction id the charger used or was given (1.6), if the frame belongs to one. */
  chargerTxId?: string;
  queuedAtMs: number;
}

/**
 * One transaction as three parties name it (OCPP 1.6, where the central system assigns the id):
 * the charger (the CSMS's id when the uplink was up at the start, else the EMS's local id), the
 * EMS's own bookkeeping, and the CSMS (unknown until the queued start is delivered).
 */
export interface TransactionIds {
  chargerId: string;
  chargerTxId: string;
  localTxId?: number;
  csmsTxId?: string;
}

export type RequestKind = 'firmware' | 'log';

export interface CachedTag {
  status: string;
  expiresAtMs?: number;
}

/** A station transaction with no event for this long is taken as never ending (its Ended lost): its translation state is forgotten. */
export const STATION_TX_STALE_MS = 31 * 24 * 3_600_000;

export interface UpstreamStore {
  /** Returns once the frame is safe against kill -9; see flushed() for power loss. */
  enqueue(frame: Omit<QueuedFrame, 'seq'>): number;
  /** Resolves once every write that returned is on disk (group commit, off the event loop): the charger is answered after it. */
  flushed(): Promise<void>;
  /** The oldest undelivered frames of a charger, in order. */
  pending(chargerId: string, limit: number): QueuedFrame[];
  count(chargerId: string): number;
  /** The charger's queued frames of one action, oldest first. */
  queued(chargerId: string, action: string): QueuedFrame[];
  /**
   * Makes room in a full queue: removes the charger's oldest frame `droppable` accepts (meter values
   * a transaction can lose without losing its record); false when there is none.
   */
  dropOldest(chargerId: string, droppable: (action: string, payload: unknown) => boolean): boolean;
  /** Removes the charger's queued frames of `action` that `sameKey` matches (a newer status replaces the older); how many. */
  dropQueued(chargerId: string, action: string, sameKey: (payload: unknown) => boolean): number;
  /** Removes a delivered frame; with `csmsTxId` also records the id the CSMS gave its transaction, atomically. */
  delivered(seq: number, reconcile?: { chargerId: string; chargerTxId: string; csmsTxId: string }): void;
  mapTransaction(ids: TransactionIds, atMs: number): void;
  byChargerTxId(chargerId: string, chargerTxId: string): TransactionIds | undefined;
  byCsmsTxId(chargerId: string, csmsTxId: string): TransactionIds | undefined;
  byLocalTxId(chargerId: string, localTxId: number): TransactionIds | undefined;
  /** The CSMS's charging profiles kept for a charger (opaque JSON), [] when none. */
  saveProfiles(chargerId: string, profiles: readonly unknown[], atMs: number): void;
  loadProfiles(chargerId: string): unknown[];
  /** The requestId of the CSMS's last UpdateFirmware ('firmware') or GetLog ('log') to a charger: its status notifications carry it, also after a restart. */
  saveRequestId(chargerId: string, kind: RequestKind, requestId: number, atMs: number): void;
  requestId(chargerId: string, kind: RequestKind): number | undefined;
  cacheTag(idTag: string, tag: CachedTag, atMs: number): void;
  cachedTag(idTag: string): CachedTag | undefined;
  /**
   * 2.0.1 station, 1.6 CSMS: what the translation has seen of a station transaction whose Ended it
   * has not delivered (its first and last register, first time, idToken, EVSE; not the CSMS's id,
   * which is in the id map), so an EMS restart in the middle of it changes nothing upstream.
   */
  saveStationTx(chargerId: string, stationTxId: string, seen: Omit<StationTx, 'csmsTxId'>, atMs: number): void;
  stationTx(chargerId: string, stationTxId: string): Omit<StationTx, 'csmsTxId'> | undefined;
  /** Its Ended was delivered: forgotten. */
  forgetStationTx(chargerId: string, stationTxId: string): void;
  /**
   * A station transaction that will never see its Ended: forgets, for one charger, every station
   * transaction on `evseId` but `keepStationTxId` (a new one started there, and a station delivers
   * its transaction events in order, so an Ended still to come would have come first), and every
   * one not updated since `staleBeforeMs`. Returns the ids forgotten, with what was seen of them.
   */
  forgetEndlessStationTxs(chargerId: string, evseId: number | undefined, keepStationTxId: string, staleBeforeMs: number): { stationTxId: string; seen: Omit<StationTx, 'csmsTxId'> | undefined }[];
  /** Forgets every charger's station transactions not updated since `staleBeforeMs` (at start-up); how many. */
  forgetStaleStationTxs(staleBeforeMs: number): number;
}
