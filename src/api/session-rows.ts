// One row per charging session for billing residents and fleets: the recorded transaction
// (meter start/stop, durable in SQLite) joined with its bill (cost, time drawing energy), the
// operator's tier override and the tag's configured name. JSON and CSV exports share it.
import type { Config } from '../../config/schema.ts';
import type { SqlTransactionStore, SessionSettingsStore } from '../storage/types.ts';
import type { BillFigures } from './economics-source.ts';
import { toCsv } from './csv.ts';
import { idTagNames, idTagTiers } from './id-tag-names.ts';

export interface SessionRow {
  transactionId: number;
  idTag: string;
  name: string | null;
  tier: string | null;
  chargerId: string;
  connectorId: number;
  startedAtMs: number;
  stoppedAtMs: number | null;
  meterStartWh: number | null;
  meterStopWh: number | null;
  energyWh: number | null;
  cost: number | null;
  currency: string | null;
  /** Plugged in but not drawing energy, ms; null when not known (no bill). */
  idleMs: number | null;
  stopReason: string | null;
}

export interface SessionRowSources {
  config: Pick<Config, 'idTags'>;
  transactions: SqlTransactionStore;
  sessionSettings: SessionSettingsStore;
  /** Bills for the same range (tariff service); empty when it does not run. */
  bills: readonly BillFigures[];
  nowMs: number;
}

/**
 * A recorded session's energy, one definition for the sessions table, the exports and their cost:
 * the meter difference, unless the bill (which follows the charger's register through its
 * MeterValues) counted more. That happens when the stop reading is not the session's own: a
 * session closed because a new one started on its connector takes the new start reading, and a
 * charger whose register restarted (a reset, a replaced meter) reports less than it started at.
 */
export function sessionEnergyWh(t: { meterStartWh: number; meterStopWh?: number }, bill: { energyWh: number } | undefined): number | null {
  const metered = t.meterStopWh === undefined ? null : Math.max(0, t.meterStopWh - t.meterStartWh);
  if (bill && (metered === null || bill.energyWh > metered)) return bill.energyWh;
  return metered;
}

/** An export of at most this many rows; a larger range is refused with a clear message. */
export const MAX_EXPORT_ROWS = 100_000;

/** Sessions started in [fromMs, toMs), oldest first. */
export function sessionRows(src: SessionRowSources, fromMs: number, toMs: number): SessionRow[] {
  const nameOf = idTagNames(src.config);
  const tierOf = idTagTiers(src.config);
  const bills = new Map(src.bills.map((b) => [`${b.chargerId}#${b.transactionId}`, b]));
  return src.transactions.between(fromMs, toMs, MAX_EXPORT_ROWS).map((t) => {
    const bill = bills.get(`${t.chargerId}#${t.transactionId}`);
    const stoppedAtMs = t.stoppedAtMs ?? null;
    const energyWh = sessionEnergyWh(t, bill);
    const pluggedMs = (stoppedAtMs ?? src.nowMs) - t.startedAtMs;
    return {
      transactionId: t.transactionId,
      idTag: t.idTag,
      name: nameOf(t.idTag),
      tier: src.sessionSettings.get(t.transactionId)?.tier ?? bill?.tier ?? tierOf(t.idTag),
      chargerId: t.chargerId,
      connectorId: t.connectorId,
      startedAtMs: t.startedAtMs,
      stoppedAtMs,
      meterStartWh: t.meterStartWh,
      meterStopWh: t.meterStopWh ?? null,
      energyWh: energyWh === null ? null : Math.round(energyWh * 10) / 10,
      cost: bill ? Math.round(bill.cost * 10_000) / 10_000 : null,
      currency: bill?.currency ?? null,
      idleMs: bill?.chargingMs !== undefined ? Math.max(0, pluggedMs - bill.chargingMs) : null,
      stopReason: t.stopReason ?? null,
    };
  });
}

const iso = (atMs: number | null) => (atMs === null ? null : new Date(atMs).toISOString());
const kWh = (wh: number | null) => (wh === null ? null : Math.round(wh) / 1000);

export const SESSION_CSV_HEADER = [
  'transactionId', 'idTag', 'name', 'tier', 'chargerId', 'connectorId', 'start', 'stop',
  'meterStartWh', 'meterStopWh', 'energyKWh', 'cost', 'currency', 'idleMinutes', 'stopReason',
] as const;

export function sessionCsv(rows: readonly SessionRow[]): string {
  return toCsv(
    SESSION_CSV_HEADER,
    rows.map((r) => [
      r.transactionId, r.idTag, r.name, r.tier, r.chargerId, r.connectorId, iso(r.startedAtMs), iso(r.stoppedAtMs),
      r.meterStartWh, r.meterStopWh, kWh(r.energyWh), r.cost, r.currency, r.idleMs === null ? null : Math.round(r.idleMs / 60_000), r.stopReason,
    ]),
  );
}

/** Bills of sessions ended in [fromMs, toMs) (and running ones), joined with their transaction. */
export function billRows(src: SessionRowSources): SessionRow[] {
  const nameOf = idTagNames(src.config);
  return src.bills.slice(0, MAX_EXPORT_ROWS).map((b) => {
    const t = src.transactions.get(b.transactionId);
    const same = t && t.chargerId === b.chargerId ? t : undefined;
    const stoppedAtMs = b.endedAtMs ?? null;
    return {
      transactionId: b.transactionId,
      idTag: b.idTag,
      name: nameOf(b.idTag),
      tier: src.sessionSettings.get(b.transactionId)?.tier ?? b.tier,
      chargerId: b.chargerId,
      connectorId: b.connectorId,
      startedAtMs: b.startedAtMs,
      stoppedAtMs,
      meterStartWh: same?.meterStartWh ?? null,
      meterStopWh: same?.meterStopWh ?? null,
      energyWh: Math.round(b.energyWh * 10) / 10,
      cost: Math.round(b.cost * 10_000) / 10_000,
      currency: b.currency,
      idleMs: b.chargingMs !== undefined ? Math.max(0, (stoppedAtMs ?? src.nowMs) - b.startedAtMs - b.chargingMs) : null,
      stopReason: same?.stopReason ?? null,
    };
  });
}
