import { gridSignalProblem, signalTimes } from '../grid-signal.ts';
import type { ServiceContext } from '../service.ts';
import { idTagNames } from './id-tag-names.ts';

/** "7 Dec, 08:30" in the site's time zone; "?" for a time that is not one. */
function siteTimeFormat(timeZone: string): (atMs: number | null | undefined) => string {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return (atMs) => (typeof atMs === 'number' && Number.isFinite(atMs) ? format.format(atMs) : '?');
}

/** "30 kW", "800 W", "1.5 kW". */
function power(w: number): string {
  return Math.abs(w) >= 1000 ? `${Math.round(w / 100) / 10} kW` : `${Math.round(w)} W`;
}

/** Why a session ended (OCPP Reason) in words; Other and unknown reasons say nothing. */
const END_REASONS: Record<string, string> = {
  EVDisconnected: 'car unplugged',
  Local: 'stopped at the charger',
  Remote: 'stopped remotely',
  PowerLoss: 'power loss at the charger',
  Reboot: 'charger rebooted',
  HardReset: 'charger reset',
  SoftReset: 'charger reset',
  DeAuthorized: 'card no longer authorized',
  EmergencyStop: 'emergency stop',
  UnlockCommand: 'unlocked remotely',
};

export type EventSeverity = 'info' | 'warning' | 'error';

export type EventLog = ReturnType<typeof createEventLog>;

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
  /** Who charges on each connector and from which meter reading, for the session's end line. */
  const open = new Map<string, { who: string; meterStartWh: number }>();
  /** No decision yet: a failsafe now is the one every start begins with until data comes. */
  let decided = false;
  const siteTime = siteTimeFormat(ctx.config.site.timezone);
  /** "7 Dec, 08:30–7 Dec, 09:30" or "from 7 Dec, 08:30, open-ended"; never throws on a bad time. */
  const signalSpan = (sig: { startMs: number; endMs: number; openEnded?: boolean }): string => {
    const t = signalTimes(sig);
    const start = t.start === null ? '?' : siteTime(sig.startMs);
    return t.openEnded ? `from ${start}, open-ended` : `${start}–${t.end === null ? '?' : siteTime(sig.endMs)}`;
  };
  const who = (idTag: string) => idTagNames(ctx.config)(idTag) ?? `tag ${idTag}`;

  const add = (event: Omit<SiteEvent, 'id'>) => {
    events.push({ id: ++seq, ...event });
    if (events.length > capacity) events.splice(0, events.length - capacity);
  };

  const offs = [
    ctx.bus.on('decision', () => {
      decided = true;
    }),
    ctx.bus.on('control.failsafe', ({ active, atMs, why }) => {
      const held = `sessions held at the failsafe current (${ctx.config.control.failsafeCurrent} A)`;
      // Every start is in failsafe until the first readings come: expected, so a warning, said as such.
      if (active && !decided) add({ atMs, kind: 'failsafe', severity: 'warning', text: `Failsafe on at start until site data comes: ${why}; ${held}` });
      else add({ atMs, kind: 'failsafe', severity: active ? 'error' : 'info', text: active ? `Failsafe on: ${why}; ${held}` : `Failsafe off: ${why}` });
    }),
    ctx.bus.on('device.health', ({ deviceId, health, lastError, lastReadingAtMs }) => {
      const before = deviceHealth.get(deviceId);
      deviceHealth.set(deviceId, health);
      if (before === health || (before === undefined && health === 'online')) return;
      const atMs = ctx.clock.nowMs();
      if (health === 'online') add({ atMs, kind: 'device', severity: 'info', deviceId, text: `${deviceId} answers again` });
      else add({ atMs, kind: 'device', severity: 'warning', deviceId, text: `${deviceId} ${health === 'error' ? 'reports an error' : `is ${health}`}${lastError ? `: ${lastError}` : ''}${lastReadingAtMs ? ` (last reading ${siteTime(lastReadingAtMs)})` : ''}` });
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
        const ignores = detail?.startsWith('uncontrollable: ') ? detail.slice('uncontrollable: '.length) : undefined;
        const text = ignores
          ? `${key} cannot be capped (${ignores}); its max ${capA} A stays reserved`
          : `${key} did not accept a ${capA} A limit${detail ? ` (${detail})` : ''}; its max stays reserved`;
        add({ atMs, kind: 'profile', severity: 'warning', chargerId, connectorId, text });
      } else if (state === 'accepted' && rejected.delete(key)) {
        add({ atMs, kind: 'profile', severity: 'info', chargerId, connectorId, text: `${key} accepts limits again` });
      }
    }),
    ctx.bus.on('signals.changed', ({ signals: all, source }) => {
      const signals = Array.isArray(all) ? all.filter((s) => gridSignalProblem(s) === undefined) : [];
      const fingerprint = JSON.stringify(signals.map((s) => [s.id, s.kind, s.value, s.startMs, s.endMs]));
      const before = signalsBySource.get(source);
      if (before === fingerprint) return;
      signalsBySource.set(source, fingerprint);
      // A source saying at start that it has nothing is no event.
      if (before === undefined && signals.length === 0) return;
      const text = signals.length
        ? `${source}: ${signals.map((s) => `${s.kind} ${s.kind.endsWith('limit') ? power(s.value) : s.value} ${signalSpan(s)}`).join('; ')}`
        : `${source}: no grid signals`;
      add({ atMs: ctx.clock.nowMs(), kind: 'signal', severity: 'info', text });
    }),
    ctx.bus.on('signal.operator', ({ action, id, text, atMs }) =>
      add({ atMs, kind: 'signal', severity: action === 'added' ? 'warning' : 'info', text: `operator limit ${id} ${action}: ${text}` }),
    ),
    ctx.bus.on('session.started', ({ chargerId, connectorId, idTag, tier, startedAtMs, meterStartWh }) => {
      open.set(`${chargerId}/${connectorId}`, { who: who(idTag), meterStartWh });
      add({ atMs: startedAtMs, kind: 'session', severity: 'info', chargerId, connectorId, text: `${chargerId}/${connectorId} session started: ${who(idTag)}, tier ${tier}` });
    }),
    ctx.bus.on('session.ended', ({ chargerId, connectorId, endedAtMs, reason, meterStopWh }) => {
      const key = `${chargerId}/${connectorId}`;
      const started = open.get(key);
      open.delete(key);
      const energyWh = started && meterStopWh >= started.meterStartWh ? meterStopWh - started.meterStartWh : undefined;
      const parts = [started?.who, energyWh === undefined ? undefined : `${(energyWh / 1000).toFixed(1)} kWh`, reason ? (END_REASONS[reason] ?? (reason === 'Other' ? undefined : reason)) : undefined].filter(Boolean);
      add({ atMs: endedAtMs, kind: 'session', severity: 'info', chargerId, connectorId, text: `${key} session ended${parts.length ? `: ${parts.join(', ')}` : ''}` });
    }),
    ctx.bus.on('config.changed', ({ atMs, applied, restartRequired }) =>
      add({
        atMs,
        kind: 'config',
        severity: restartRequired.length ? 'warning' : 'info',
        text: `Config saved: ${applied.length ? `${applied.join(', ')} applied now` : 'nothing applied live'}${restartRequired.length ? `; ${restartRequired.join(', ')} after a restart` : ''}`,
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
