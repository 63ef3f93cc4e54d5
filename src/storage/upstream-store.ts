import type { Database } from 'better-sqlite3';
import type { StationTx } from '../upstream/translate-201-16.ts';
import type { QueuedFrame, TransactionIds, UpstreamStore } from '../upstream/upstream-store.ts';
import type { WalSync } from './wal-sync.ts';

interface FrameRow {
  seq: number;
  charger_id: string;
  action: string;
  payload: string;
  charger_tx_id: string | null;
  queued_at_ms: number;
}

interface IdsRow {
  charger_id: string;
  charger_tx_id: string;
  local_tx_id: number | null;
  csms_tx_id: string | null;
}

const toFrame = (r: FrameRow): QueuedFrame => ({
  seq: r.seq,
  chargerId: r.charger_id,
  action: r.action,
  payload: JSON.parse(r.payload) as unknown,
  ...(r.charger_tx_id !== null ? { chargerTxId: r.charger_tx_id } : {}),
  queuedAtMs: r.queued_at_ms,
});

const toIds = (r: IdsRow | undefined): TransactionIds | undefined =>
  r && {
    chargerId: r.charger_id,
    chargerTxId: r.charger_tx_id,
    ...(r.local_tx_id !== null ? { localTxId: r.local_tx_id } : {}),
    ...(r.csms_tx_id !== null ? { csmsTxId: r.csms_tx_id } : {}),
  };

/** A stored station transaction's translation state, field by field: what has the wrong type is left out (a garbled row never reaches the CSMS). */
function seenFrom(value: unknown): Omit<StationTx, 'csmsTxId'> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const int = (x: unknown) => (typeof x === 'number' && Number.isSafeInteger(x) ? x : undefined);
  const text = (x: unknown) => (typeof x === 'string' && x.length > 0 ? x : undefined);
  const seen = { evseId: int(v.evseId), idTag: text(v.idTag), firstRegisterWh: int(v.firstRegisterWh), lastRegisterWh: int(v.lastRegisterWh), startedAt: text(v.startedAt) };
  return Object.fromEntries(Object.entries(seen).filter(([, x]) => x !== undefined)) as Omit<StationTx, 'csmsTxId'>;
}

/**
 * The local controller's offline queue, transaction-id map and tag cache, on the synchronous=NORMAL
 * connection: a frame queued is in the WAL file (safe against kill -9) when enqueue() returns, and
 * on disk (power loss) once `flushed()` resolves; the relay answers the charger after that.
 */
export function createUpstreamStore(db: Database, wal?: WalSync): UpstreamStore {
  const insert = db.prepare('INSERT INTO upstream_queue (charger_id, action, payload, charger_tx_id, queued_at_ms) VALUES (?, ?, ?, ?, ?)');
  const pending = db.prepare<[string, number], FrameRow>('SELECT * FROM upstream_queue WHERE charger_id = ? ORDER BY seq LIMIT ?');
  const count = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM upstream_queue WHERE charger_id = ?');
  const remove = db.prepare('DELETE FROM upstream_queue WHERE seq = ?');
  const allOf = db.prepare<[string], FrameRow>('SELECT * FROM upstream_queue WHERE charger_id = ? ORDER BY seq');
  const ofAction = db.prepare<[string, string], FrameRow>('SELECT * FROM upstream_queue WHERE charger_id = ? AND action = ? ORDER BY seq');
  const upsert = db.prepare(`
    INSERT INTO upstream_transactions (charger_id, charger_tx_id, local_tx_id, csms_tx_id, updated_at_ms) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (charger_id, charger_tx_id) DO UPDATE SET
      local_tx_id = COALESCE(excluded.local_tx_id, local_tx_id),
      csms_tx_id = COALESCE(excluded.csms_tx_id, csms_tx_id),
      updated_at_ms = excluded.updated_at_ms`);
  const setCsms = db.prepare('UPDATE upstream_transactions SET csms_tx_id = ? WHERE charger_id = ? AND charger_tx_id = ?');
  const byCharger = db.prepare<[string, string], IdsRow>('SELECT * FROM upstream_transactions WHERE charger_id = ? AND charger_tx_id = ?');
  const byCsms = db.prepare<[string, string], IdsRow>('SELECT * FROM upstream_transactions WHERE charger_id = ? AND csms_tx_id = ? ORDER BY updated_at_ms DESC LIMIT 1');
  const byLocal = db.prepare<[string, number], IdsRow>('SELECT * FROM upstream_transactions WHERE charger_id = ? AND local_tx_id = ? ORDER BY updated_at_ms DESC LIMIT 1');
  const putTag = db.prepare(`
    INSERT INTO upstream_tags (id_tag, status, expires_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)
    ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, expires_at_ms = excluded.expires_at_ms, updated_at_ms = excluded.updated_at_ms`);
  const getTag = db.prepare<[string], { status: string; expires_at_ms: number | null }>('SELECT status, expires_at_ms FROM upstream_tags WHERE id_tag = ?');
  const putProfiles = db.prepare(`
    INSERT INTO upstream_profiles (charger_id, profiles, updated_at_ms) VALUES (?, ?, ?)
    ON CONFLICT (charger_id) DO UPDATE SET profiles = excluded.profiles, updated_at_ms = excluded.updated_at_ms`);
  const getProfiles = db.prepare<[string], { profiles: string }>('SELECT profiles FROM upstream_profiles WHERE charger_id = ?');
  const putRequest = db.prepare(`
    INSERT INTO upstream_requests (charger_id, kind, request_id, updated_at_ms) VALUES (?, ?, ?, ?)
    ON CONFLICT (charger_id, kind) DO UPDATE SET request_id = excluded.request_id, updated_at_ms = excluded.updated_at_ms`);
  const getRequest = db.prepare<[string, string], { request_id: number }>('SELECT request_id FROM upstream_requests WHERE charger_id = ? AND kind = ?');
  const putStationTx = db.prepare(`
    INSERT INTO upstream_station_transactions (charger_id, station_tx_id, seen, updated_at_ms) VALUES (?, ?, ?, ?)
    ON CONFLICT (charger_id, station_tx_id) DO UPDATE SET seen = excluded.seen, updated_at_ms = excluded.updated_at_ms`);
  const getStationTx = db.prepare<[string, string], { seen: string }>('SELECT seen FROM upstream_station_transactions WHERE charger_id = ? AND station_tx_id = ?');
  const dropStationTx = db.prepare('DELETE FROM upstream_station_transactions WHERE charger_id = ? AND station_tx_id = ?');
  const stationTxsOf = db.prepare<[string], { station_tx_id: string; seen: string; updated_at_ms: number }>('SELECT station_tx_id, seen, updated_at_ms FROM upstream_station_transactions WHERE charger_id = ?');
  const dropStaleStationTxs = db.prepare('DELETE FROM upstream_station_transactions WHERE updated_at_ms < ?');
  const parseSeen = (text: string) => {
    try {
      return seenFrom(JSON.parse(text) as unknown);
    } catch {
      return undefined;
    }
  };
  const delivered = db.transaction((seq: number, reconcile?: { chargerId: string; chargerTxId: string; csmsTxId: string }) => {
    if (reconcile) setCsms.run(reconcile.csmsTxId, reconcile.chargerId, reconcile.chargerTxId);
    remove.run(seq);
  });
  // The id map as read by charger transaction id, the lookup on the forwarding path of every 1.6
  // frame that names a transaction: kept in memory, written through (this store is its only writer).
  const idsCache = new Map<string, TransactionIds | null>();
  const idsKey = (chargerId: string, chargerTxId: string) => `${chargerId}\u0000${chargerTxId}`;
  const forgetIds = (chargerId: string, chargerTxId: string) => idsCache.delete(idsKey(chargerId, chargerTxId));
  const cachedIds = (chargerId: string, chargerTxId: string): TransactionIds | undefined => {
    const key = idsKey(chargerId, chargerTxId);
    let ids = idsCache.get(key);
    if (ids === undefined) {
      ids = toIds(byCharger.get(chargerId, chargerTxId)) ?? null;
      if (idsCache.size >= 4096) idsCache.delete(idsCache.keys().next().value!);
      idsCache.set(key, ids);
    }
    return ids ?? undefined;
  };
  return {
    flushed: () => wal?.flushed() ?? Promise.resolve(),
    enqueue: (f) => Number(insert.run(f.chargerId, f.action, JSON.stringify(f.payload), f.chargerTxId ?? null, f.queuedAtMs).lastInsertRowid),
    pending: (chargerId, limit) => pending.all(chargerId, limit).map(toFrame),
    count: (chargerId) => count.get(chargerId)?.n ?? 0,
    queued: (chargerId, action) => ofAction.all(chargerId, action).map(toFrame),
    dropOldest(chargerId, droppable) {
      let victim: number | undefined;
      // Stops at the first droppable frame (usually near the front: meter values outnumber the rest).
      for (const row of allOf.iterate(chargerId)) {
        if (!droppable(row.action, JSON.parse(row.payload) as unknown)) continue;
        victim = row.seq;
        break;
      }
      if (victim === undefined) return false;
      remove.run(victim);
      return true;
    },
    dropQueued(chargerId, action, sameKey) {
      let dropped = 0;
      for (const row of ofAction.all(chargerId, action)) {
        if (!sameKey(JSON.parse(row.payload) as unknown)) continue;
        remove.run(row.seq);
        dropped++;
      }
      return dropped;
    },
    delivered(seq, reconcile) {
      if (reconcile) forgetIds(reconcile.chargerId, reconcile.chargerTxId);
      delivered(seq, reconcile);
    },
    mapTransaction(ids, atMs) {
      forgetIds(ids.chargerId, ids.chargerTxId);
      upsert.run(ids.chargerId, ids.chargerTxId, ids.localTxId ?? null, ids.csmsTxId ?? null, atMs);
    },
    byChargerTxId: cachedIds,
    byCsmsTxId: (chargerId, csmsTxId) => toIds(byCsms.get(chargerId, csmsTxId)),
    byLocalTxId: (chargerId, localTxId) => toIds(byLocal.get(chargerId, localTxId)),
    saveProfiles: (chargerId, profiles, atMs) => void putProfiles.run(chargerId, JSON.stringify(profiles), atMs),
    loadProfiles(chargerId) {
      const row = getProfiles.get(chargerId);
      if (!row) return [];
      try {
        const parsed = JSON.parse(row.profiles) as unknown;
        return Array.isArray(parsed) ? parsed : [];
      } catch {
        return [];
      }
    },
    saveRequestId: (chargerId, kind, requestId, atMs) => void putRequest.run(chargerId, kind, requestId, atMs),
    requestId: (chargerId, kind) => getRequest.get(chargerId, kind)?.request_id,
    cacheTag: (idTag, tag, atMs) => void putTag.run(idTag.toLowerCase(), tag.status, tag.expiresAtMs ?? null, atMs),
    cachedTag(idTag) {
      const row = getTag.get(idTag.toLowerCase());
      return row && { status: row.status, ...(row.expires_at_ms !== null ? { expiresAtMs: row.expires_at_ms } : {}) };
    },
    saveStationTx: (chargerId, stationTxId, seen, atMs) => void putStationTx.run(chargerId, stationTxId, JSON.stringify(seen), atMs),
    stationTx(chargerId, stationTxId) {
      const row = getStationTx.get(chargerId, stationTxId);
      return row && parseSeen(row.seen);
    },
    forgetStationTx: (chargerId, stationTxId) => void dropStationTx.run(chargerId, stationTxId),
    forgetEndlessStationTxs(chargerId, evseId, keepStationTxId, staleBeforeMs) {
      const forgotten: { stationTxId: string; seen: Omit<StationTx, 'csmsTxId'> | undefined }[] = [];
      for (const row of stationTxsOf.all(chargerId)) {
        if (row.station_tx_id === keepStationTxId) continue;
        const seen = parseSeen(row.seen);
        const superseded = evseId !== undefined && seen?.evseId === evseId;
        if (!superseded && row.updated_at_ms >= staleBeforeMs) continue;
        dropStationTx.run(chargerId, row.station_tx_id);
        forgotten.push({ stationTxId: row.station_tx_id, seen });
      }
      return forgotten;
    },
    forgetStaleStationTxs: (staleBeforeMs) => dropStaleStationTxs.run(staleBeforeMs).changes,
  };
}
