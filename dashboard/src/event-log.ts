// One timeline from the audit log, grid signals and faults. Pure, so the merge is unit-tested.
import type { AuditEntry, ConnectorView, DeviceView, SignalView } from './api-types.ts';
import { formatPower, type SiteTime } from './format.ts';
import { toMs } from './normalize.ts';

export type EventKind = 'fault' | 'signal' | 'session' | 'config' | 'audit';

export interface SiteEvent {
  atMs: number | null;
  kind: EventKind;
  title: string;
  detail: string;
  /** From the EMS's event log: error and warning entries stand out. */
  severity?: 'info' | 'warning' | 'error';
  /** Routine (logins): listed under Actions, left out of All. */
  quiet?: boolean;
}

/** One entry of GET /api/v1/events. */
export interface SiteLogEntry {
  atMs?: number;
  at?: string;
  kind: string;
  severity?: string;
  text: string;
}

const LOG_KINDS: Record<string, EventKind> = {
  fault: 'fault',
  failsafe: 'fault',
  device: 'fault',
  profile: 'fault',
  charger: 'fault',
  signal: 'signal',
  session: 'session',
  config: 'config',
};

const brief = (v: unknown, time: SiteTime): string => {
  if (v === undefined || v === null) return '—';
  // Times (departures) read as the site's date and time, not ISO.
  const asTime = typeof v === 'string' ? time.isoText(v) : null;
  if (asTime !== null) return asTime;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value in words: primitives as they are, lists of primitives joined, larger things counted (never raw JSON). */
const inWords = (v: unknown, time: SiteTime): string => {
  if (Array.isArray(v)) return v.every((x) => x === null || typeof x !== 'object') ? (v.length ? v.map((x) => brief(x, time)).join(', ') : 'none') : `${v.length} item${v.length === 1 ? '' : 's'}`;
  if (isRecord(v)) return `${Object.keys(v).length} setting${Object.keys(v).length === 1 ? '' : 's'}`;
  return brief(v, time);
};

/** Leaf differences with dotted paths: "control.priority: tier → departure". */
function changedPaths(before: unknown, after: unknown, path: string, out: string[], time: SiteTime): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  if (isRecord(before) && isRecord(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) changedPaths(before[k], after[k], path ? `${path}.${k}` : k, out, time);
    return;
  }
  // Lists of objects with ids (chargers, circuits, idTags): compare item by item under the id.
  if (Array.isArray(before) && Array.isArray(after)) {
    const idOf = (x: unknown) => (isRecord(x) ? (x.id ?? x.idTag) : undefined);
    if ([...before, ...after].every((x) => typeof idOf(x) === 'string')) {
      const b = new Map(before.map((x) => [idOf(x) as string, x]));
      const a = new Map(after.map((x) => [idOf(x) as string, x]));
      for (const id of new Set([...b.keys(), ...a.keys()])) {
        if (!b.has(id)) out.push(`${path}: added ${id}`);
        else if (!a.has(id)) out.push(`${path}: removed ${id}`);
        else changedPaths(b.get(id), a.get(id), `${path}[${id}]`, out, time);
      }
      return;
    }
  }
  out.push(`${path || 'value'}: ${before === undefined ? '—' : inWords(before, time)} → ${after === undefined ? '—' : inWords(after, time)}`);
}

/** What changed, path by path when both sides are objects: "departure: — → 07:30; control.priority: tier → departure". */
export function describeChange(before: unknown, after: unknown, time: SiteTime): string {
  if (before === undefined && after === undefined) return '';
  if (isRecord(before) && isRecord(after)) {
    const out: string[] = [];
    changedPaths(before, after, '', out, time);
    return out.length ? out.join('; ') : 'no change';
  }
  if ((before === undefined || before === null) && isRecord(after)) {
    const out: string[] = [];
    changedPaths({}, after, '', out, time);
    return out.map((line) => line.replace(/: — → /, ': ')).join('; ');
  }
  if (before === undefined || before === null) return inWords(after, time);
  return `${inWords(before, time)} → ${inWords(after, time)}`;
}

const ACTION_WORDS: Record<string, string> = {
  'session.update': 'steered session',
  'config.update': 'changed the site config',
  'auth.login': 'logged in',
  'auth.logout': 'logged out',
  'auth.setup': 'created the first admin',
  'user.create': 'created user',
  'user.update': 'changed user',
  'user.delete': 'removed user',
  'token.create': 'created API token',
  'token.revoke': 'revoked API token',
  'signal.opt-out': 'opted out of grid event',
  'signal.opt-in': 'opted in to grid event',
};

export function actionWords(action: string): string {
  return ACTION_WORDS[action] ?? action;
}

/**
 * `siteLog`: the EMS's own event log when it has one; it already holds faults and signal changes
 * as they happened, so the present state is not added a second time.
 */
export function buildEvents(input: { audit: AuditEntry[]; signals: SignalView[]; devices: DeviceView[]; connectors: ConnectorView[]; siteLog?: SiteLogEntry[] | null; time: SiteTime }): SiteEvent[] {
  const events: SiteEvent[] = [];
  if (input.siteLog) {
    for (const e of input.siteLog) {
      const severity = e.severity === 'error' || e.severity === 'warning' ? e.severity : 'info';
      events.push({ atMs: toMs(e.atMs ?? e.at), kind: LOG_KINDS[e.kind] ?? 'fault', title: e.text, detail: '', severity });
    }
  }
  for (const a of input.audit) {
    const isConfig = /config/i.test(a.action) || /config/i.test(a.target ?? '');
    events.push({
      atMs: toMs(a.at),
      kind: isConfig ? 'config' : 'audit',
      title: `${a.user || 'someone'} ${actionWords(a.action)}${a.target ? ` ${a.target}` : ''}`,
      detail: describeChange(a.before, a.after, input.time),
      quiet: a.action.startsWith('auth.'),
    });
  }
  if (!input.siteLog) addPresentState(events, input);
  // Current faults (no time) first, then newest first; one line per config change.
  return foldConfigSaves(events).sort((a, b) => (b.atMs ?? Infinity) - (a.atMs ?? Infinity));
}

/** The EMS's "Config saved: …" line joins the edit it came from (the audit's diff), not a line of its own. */
const CONFIG_FOLD_MS = 10_000;
function foldConfigSaves(events: SiteEvent[]): SiteEvent[] {
  const edits = events.filter((e) => e.kind === 'config' && e.severity === undefined);
  return events.filter((e) => {
    if (e.kind !== 'config' || e.severity === undefined || e.atMs === null) return true;
    const edit = edits.find((x) => x.atMs !== null && Math.abs(x.atMs - e.atMs!) <= CONFIG_FOLD_MS);
    if (!edit) return true;
    edit.detail = edit.detail ? `${edit.detail} · ${e.title}` : e.title;
    if (e.severity === 'warning') edit.severity = 'warning';
    return false;
  });
}

function addPresentState(events: SiteEvent[], input: { signals: SignalView[]; devices: DeviceView[]; connectors: ConnectorView[]; time: SiteTime }): void {
  for (const s of input.signals) {
    const start = toMs(s.start ?? s.startMs);
    const end = toMs(s.end ?? s.endMs);
    events.push({
      atMs: start,
      kind: 'signal',
      title: `${s.kind} from ${s.source}`,
      detail: `${s.text ? `${s.text}: ` : ''}${s.kind.endsWith('limit') ? formatPower(s.value) : s.value}${end !== null ? ` until ${input.time.time(end, start ?? end)}` : ''}`,
    });
  }
  for (const d of input.devices) {
    if (d.health === 'online') continue;
    events.push({ atMs: toMs(d.lastReadingAt), kind: 'fault', title: `Device ${d.id} (${d.role}) is ${d.health}`, detail: d.lastError ?? 'no reading' });
  }
  for (const c of input.connectors) {
    if (c.status !== 'Faulted' && c.status !== 'Offline' && c.status !== 'Unavailable') continue;
    events.push({ atMs: null, kind: 'fault', title: `${c.chargerId} connector ${c.connectorId} is ${c.status}`, detail: '' });
  }
}
