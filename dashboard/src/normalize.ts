// Turns API answers into the shapes the pages draw. Pure (no DOM, no fetch) so it is unit-tested.
// The API is young; these accept the few reasonable encodings of each list instead of breaking.
import type { AuditEntry, FieldIssue, HistoryPoint, ReasonView, SessionRecord } from './api-types.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

/** Milliseconds since the epoch from an ISO string or a number (ms). */
export function toMs(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

/** The list inside an answer: the array itself, or the first array under a usual key. */
export function listOf(body: unknown, keys: string[]): unknown[] {
  if (Array.isArray(body)) return body;
  if (!isObject(body)) return [];
  for (const key of keys) if (Array.isArray(body[key])) return body[key] as unknown[];
  return [];
}

export function reasonText(reason: ReasonView | null | undefined): string {
  if (!reason) return '';
  return typeof reason === 'string' ? reason : reason.text;
}

/** Priority rank: an explicit field, the reason's rank, or "priority 4 of 9" in its text. */
export function priorityRank(rank: number | null | undefined, reason: ReasonView | null | undefined): { rank: number; of?: number } | null {
  if (typeof rank === 'number' && rank > 0) {
    const of = typeof reason === 'object' && reason && typeof reason.of === 'number' ? reason.of : undefined;
    return { rank, of };
  }
  if (reason && typeof reason === 'object' && typeof reason.rank === 'number') return { rank: reason.rank, of: reason.of };
  // Only "waiting for capacity; priority 4 of 9" is the site rank; "shared by 2 cars; priority 2 of 2"
  // is the position among the cars sharing one limit, a different figure.
  const match = /waiting for capacity; priority (\d+) of (\d+)/i.exec(reasonText(reason));
  return match ? { rank: Number(match[1]), of: Number(match[2]) } : null;
}

/**
 * The field problems in a 4xx body: `issues`, `errors`, `problems` or `details` lists with a dotted
 * or array path (zod style), or a bare `{ path, message }`.
 */
export function fieldIssues(body: unknown): FieldIssue[] {
  const raw = listOf(body, ['issues', 'problems', 'errors', 'details']);
  const items = raw.length ? raw : isObject(body) && 'path' in body ? [body] : [];
  const issues: FieldIssue[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    const path = Array.isArray(item.path) ? item.path.map(String).join('.') : (str(item.path) ?? str(item.field) ?? str(item.instancePath) ?? '');
    const message = str(item.message) ?? str(item.msg) ?? 'invalid';
    const line = num(item.line);
    issues.push({ path: path.replace(/^\//, '').replace(/\//g, '.').replace(/^body\./, ''), message, ...(line !== null ? { line } : {}) });
  }
  return issues;
}

const HISTORY_FIELDS: Record<keyof Omit<HistoryPoint, 'atMs'>, string[]> = {
  gridPowerW: ['gridPowerW', 'grid'],
  pvPowerW: ['pvPowerW', 'pv'],
  batteryPowerW: ['batteryPowerW', 'battery'],
  evPowerW: ['evPowerW', 'ev', 'evTotalW'],
  limitW: ['limitPowerW', 'limitW', 'limit'],
  buildingPowerW: ['buildingPowerW', 'building'],
  gridL1A: ['gridL1A'],
  gridL2A: ['gridL2A'],
  gridL3A: ['gridL3A'],
  samples: ['samples'],
  gridImportW: ['gridImportW'],
  gridExportW: ['gridExportW'],
  gridImportWh: ['gridImportWh'],
  gridExportWh: ['gridExportWh'],
  gridNettedSamples: ['gridNettedSamples'],
};

function pick(row: Json, keys: string[]): number | null {
  for (const key of keys) {
    const v = num(row[key]);
    if (v !== null) return v;
  }
  return null;
}

/**
 * History as rows sorted by time. Accepts a list of points (`points`, `rows`, `samples`, `history`)
 * with `atMs`/`at`/`t`, or columns (`{ atMs: [...], gridPowerW: [...] }`).
 */
export function historyPoints(body: unknown): HistoryPoint[] {
  const columns = isObject(body) && isObject(body.series) ? body.series : isObject(body) && Array.isArray(body.atMs) ? body : null;
  let rows: Json[];
  if (columns) {
    const times = (Array.isArray(columns.atMs) ? columns.atMs : Array.isArray(columns.at) ? columns.at : columns.t) as unknown[] | undefined;
    rows = (times ?? []).map((t, i) => {
      const row: Json = { atMs: t };
      for (const [key, values] of Object.entries(columns)) if (Array.isArray(values)) row[key] = values[i];
      return row;
    });
  } else {
    rows = listOf(body, ['points', 'rows', 'samples', 'history', 'items']).filter(isObject);
  }
  const points: HistoryPoint[] = [];
  for (const row of rows) {
    const atMs = toMs(row.atMs ?? row.at ?? row.t ?? row.time ?? row.ts);
    if (atMs === null) continue;
    points.push({
      atMs,
      gridPowerW: pick(row, HISTORY_FIELDS.gridPowerW),
      pvPowerW: pick(row, HISTORY_FIELDS.pvPowerW),
      batteryPowerW: pick(row, HISTORY_FIELDS.batteryPowerW),
      evPowerW: pick(row, HISTORY_FIELDS.evPowerW),
      limitW: pick(row, HISTORY_FIELDS.limitW),
      buildingPowerW: pick(row, HISTORY_FIELDS.buildingPowerW),
      gridL1A: pick(row, HISTORY_FIELDS.gridL1A),
      gridL2A: pick(row, HISTORY_FIELDS.gridL2A),
      gridL3A: pick(row, HISTORY_FIELDS.gridL3A),
      samples: pick(row, HISTORY_FIELDS.samples),
      gridImportW: pick(row, HISTORY_FIELDS.gridImportW),
      gridExportW: pick(row, HISTORY_FIELDS.gridExportW),
      gridImportWh: pick(row, HISTORY_FIELDS.gridImportWh),
      gridExportWh: pick(row, HISTORY_FIELDS.gridExportWh),
      gridNettedSamples: pick(row, HISTORY_FIELDS.gridNettedSamples),
    });
  }
  return points.sort((a, b) => a.atMs - b.atMs);
}

export function sessionRecords(body: unknown): SessionRecord[] {
  return listOf(body, ['recent', 'sessions', 'items', 'rows', 'transactions'])
    .filter(isObject)
    .map((row) => ({
      id: str(row.id) ?? str(row.transactionId) ?? '',
      chargerId: str(row.chargerId) ?? '',
      connectorId: num(row.connectorId) ?? 0,
      idTag: str(row.idTag) ?? '',
      name: str(row.name),
      tier: str(row.tier) ?? (isObject(row.settings) ? str(row.settings.tier) : null),
      startedAt: str(row.startedAt) ?? str(row.start) ?? (num(row.startedAtMs) !== null ? new Date(num(row.startedAtMs)!).toISOString() : ''),
      endedAt: str(row.endedAt) ?? str(row.stoppedAt) ?? (num(row.endedAtMs) !== null ? new Date(num(row.endedAtMs)!).toISOString() : null),
      energyWh: num(row.energyWh) ?? (num(row.meterStopWh) !== null && num(row.meterStartWh) !== null ? num(row.meterStopWh)! - num(row.meterStartWh)! : 0),
      cost: num(row.cost),
      currency: str(row.currency),
    }));
}

export function auditEntries(body: unknown): AuditEntry[] {
  return listOf(body, ['entries', 'items', 'audit', 'rows'])
    .filter(isObject)
    .map((row) => ({
      at: str(row.at) ?? str(row.createdAt) ?? (num(row.atMs) !== null ? new Date(num(row.atMs)!).toISOString() : ''),
      user: str(row.user) ?? str(row.username) ?? str(row.actor) ?? '',
      action: str(row.action) ?? str(row.what) ?? '',
      target: str(row.target) ?? str(row.path) ?? undefined,
      before: row.before,
      after: row.after,
    }));
}
