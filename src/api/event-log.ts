import { gridSignalProblem, signalTimes } from '../grid-signal.ts';
import type { ServiceContext } from '../service.ts';

/** "start–end" or "from start, open-ended"; never throws on a bad time. */
function signalSpan(s: { startMs: number; endMs: number; openEnded?: boolean }): string {
  const t = signalTimes(s);
  return t.openEnded ? `from ${t.start ?? '?'}, open-ended` : `${t.start ?? '?'}–${t.end ?? '?'}`;
}

export type EventSeverity = 'info' | 'warning' | 'error';

export interface SiteEvent {
  id: number;
  atMs: number;
  kind: string;
  severity: EventSeverity;
  text: string;
  chargerId?: string;
  connectorId?: number;
  deviceId?: string;
}

/**
 * What happened on the site, newest first, for the dashboard's events list: faults, failsafe,
 * devices and chargers coming and going, grid signals, sessions, config changes. Only changes
 * are recorded (a fault that persists is one entry), in a bounded ring kept in memory; writes by
 * people are in the audit log.
 */
export function createEventLog(ctx: ServiceContext, capacity = 1000) {
  const events: SiteEvent[] = [];
  let seq = 0;
  const deviceHealth = new Map<string, string>();
  const faulted = new Set<string>();
  const rejected = new Set<string>();
  const signalsBySource = new Map<string, string>();

  const add = (event: Omit<SiteEvent, 'id'>) => {
    events.push({ id: ++seq, ...event });
    if (events.length > capacity) events.splice(0, events.length - capacity);
  };

  const offs = [
    ctx.bus.on('control.failsafe', ({ active, atMs, why }) =>
      add({ atMs, kind: 'failsafe', severity: active ? 'error' : 'info', text: active ? `Failsafe on: ${why}` : `Failsafe off: ${why}` }),
    ),
    ctx.bus.on('device.health', ({ deviceId, health, lastError, lastReadingAtMs }) => {
      const before = deviceHealth.get(deviceId);
      deviceHealth.set(deviceId, health);
      if (before === health || (before === undefined && health === 'online')) return;
      const atMs = ctx.clock.nowMs();
      if (health === 'online') add({ atMs, kind: 'device', severity: 'info', deviceId, text: `${deviceId} answers again` });
      else add({ atMs, kind: 'device', severity: 'warning', deviceId, text: `${deviceId} is ${health}${lastError ? `: ${lastError}` : ''}${lastReadingAtMs ? ` (last reading ${new Date(lastReadingAtMs).toISOString()})` : ''}` });
    }),
    ctx.bus.on('connector.status', ({ chargerId, connectorId, status, atMs, errorCode }) => {
      const key = `${chargerId}/${connectorId}`;
      const fault = status === 'Faulted' || (errorCode !== undefined && errorCode !== 'NoError');
      if (fault && !faulted.has(key)) {
        faulted.add(key);
        add({ atMs, kind: 'fault', severity: 'error', chargerId, connectorId, text: `${key} ${status}${errorCode && errorCode !== 'NoError' ? ` (${errorCode})` : ''}` });
      } else if (!fault && faulted.delete(key)) {
        add({ atMs, kind: 'fault', severity: 'info', chargerId, connectorId, text: `${key} fault cleared (${status})` });
      }
    }),
    ctx.bus.on('charger.connected', ({ chargerId, atMs, protocol }) => add({ atMs, kind: 'charger', severity: 'info', chargerId, text: `${chargerId} connected (${protocol})` })),
    ctx.bus.on('charger.disconnected', ({ chargerId, atMs }) => add({ atMs, kind: 'charger', severity: 'warning', chargerId, text: `${chargerId} disconnected` })),
    ctx.bus.on('profile.status', ({ chargerId, connectorId, state, capA, atMs, detail }) => {
      const key = `${chargerId}/${connectorId}`;
      if (state === 'rejected' && !rejected.has(key)) {
        rejected.add(key);
        add({ atMs, kind: 'profile', severity: 'warning', chargerId, connectorId, text: `${key} did not accept a ${capA} A limit${detail ? `: ${detail}` : ''}; its max stays reserved` });
      } else if (state === 'accepted' && rejected.delete(key)) {
        add({ atMs, kind: 'profile', severity: 'info', chargerId, connectorId, text: `${key} accepts limits again` });
      }
    }),
    ctx.bus.on('signals.changed', ({ signals: all, source }) => {
      const signals = Array.isArray(all) ? all.filter((s) => gridSignalProblem(s) === undefined) : [];
      const fingerprint = JSON.stringify(signals.map((s) => [s.id, s.kind, s.value, s.startMs, s.endMs]));
      if (signalsBySource.get(source) === fingerprint) return;
      signalsBySource.set(source, fingerprint);
      const text = signals.length
        ? `${source}: ${signals.map((s) => `${s.kind} ${s.value}${s.kind.endsWith('limit') ? ' W' : ''} ${signalSpan(s)}`).join('; ')}`
        : `${source}: no grid signals`;
      add({ atMs: ctx.clock.nowMs(), kind: 'signal', severity: 'info', text });
    }),
    ctx.bus.on('signal.operator', ({ action, id, text, atMs }) =>
      add({ atMs, kind: 'signal', severity: action === 'added' ? 'warning' : 'info', text: `operator limit ${id} ${action}: ${text}` }),
    ),
    ctx.bus.on('session.started', ({ chargerId, connectorId, idTag, tier, startedAtMs }) =>
      add({ atMs: startedAtMs, kind: 'session', severity: 'info', chargerId, connectorId, text: `${chargerId}/${connectorId} session started (${idTag}, ${tier})` }),
    ),
    ctx.bus.on('session.ended', ({ chargerId, connectorId, endedAtMs, reason }) =>
      add({ atMs: endedAtMs, kind: 'session', severity: 'info', chargerId, connectorId, text: `${chargerId}/${connectorId} session ended${reason ? ` (${reason})` : ''}` }),
    ),
    ctx.bus.on('config.changed', ({ atMs, applied, restartRequired }) =>
      add({
        atMs,
        kind: 'config',
        severity: restartRequired.length ? 'warning' : 'info',
        text: `config changed: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing applied live'}${restartRequired.length ? `; restart required for ${restartRequired.join(', ')}` : ''}`,
      }),
    ),
  ];

  return {
    list({ limit = 100, sinceId = 0, severity }: { limit?: number; sinceId?: number; severity?: EventSeverity } = {}): SiteEvent[] {
      const out: SiteEvent[] = [];
      for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
        const e = events[i];
        if (e.id <= sinceId) break;
        if (severity && e.severity !== severity) continue;
        out.push(e);
      }
      return out;
    },
    stop: () => offs.forEach((off) => off()),
  };
}
