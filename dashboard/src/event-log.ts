// One timeline from the audit log, grid signals and faults. Pure, so the merge is unit-tested.
import type { AuditEntry, ConnectorView, DeviceView, SignalView } from './api-types.ts';
import { toMs } from './normalize.ts';

export type EventKind = 'fault' | 'signal' | 'config' | 'audit';

export interface SiteEvent {
  atMs: number | null;
  kind: EventKind;
  title: string;
  detail: string;
}

const brief = (v: unknown): string => {
  if (v === undefined || v === null) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

export function buildEvents(input: { audit: AuditEntry[]; signals: SignalView[]; devices: DeviceView[]; connectors: ConnectorView[] }): SiteEvent[] {
  const events: SiteEvent[] = [];
  for (const a of input.audit) {
    const isConfig = /config/i.test(a.action) || /config/i.test(a.target ?? '');
    events.push({
      atMs: toMs(a.at),
      kind: isConfig ? 'config' : 'audit',
      title: `${a.user || 'someone'}: ${a.action}${a.target ? ` ${a.target}` : ''}`,
      detail: a.before !== undefined || a.after !== undefined ? `before ${brief(a.before)} → after ${brief(a.after)}` : '',
    });
  }
  for (const s of input.signals) {
    const start = toMs(s.start ?? s.startMs);
    const end = toMs(s.end ?? s.endMs);
    events.push({
      atMs: start,
      kind: 'signal',
      title: `${s.kind} from ${s.source}`,
      detail: `${s.text ? `${s.text}; ` : ''}value ${s.value}${end !== null ? ` until ${new Date(end).toLocaleString()}` : ''}`,
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
  // Current faults (no time) first, then newest first.
  return events.sort((a, b) => (b.atMs ?? Infinity) - (a.atMs ?? Infinity));
}
