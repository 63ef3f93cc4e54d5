import type { DeviceHealth, DeviceReading } from '../adapters/types.ts';
import type { ConnectorStatus, Decision } from '../optimizer/types.ts';
import type { Logger } from './log.ts';

export interface SessionStarted {
  chargerId: string;
  connectorId: number;
  transactionId: number;
  idTag: string;
  /** Tier name from the idTag list or the charger's default. */
  tier: string;
  startedAtMs: number;
  meterStartWh: number;
  departureAtMs?: number;
  energyNeedWh?: number;
  /**
   * The most the charger may have let this car draw since its session started, A per phase, when
   * that is more than the connector holds now: the car started before the charger confirmed a lower
   * limit (after a boot) and may still follow it for a car response.
   */
  offeredA?: number;
}

export interface SessionEnded {
  chargerId: string;
  connectorId: number;
  transactionId: number;
  endedAtMs: number;
  meterStopWh: number;
  reason?: string;
}

/** Operator steering of a running session (dashboard, API, MQTT). Only the given fields change. */
export interface SessionUpdate {
  chargerId: string;
  connectorId: number;
  departureAtMs?: number | null;
  energyNeedWh?: number | null;
  tier?: string;
  paused?: boolean;
  /** Horizon planner's desired power for the current slot. */
  targetPowerW?: number | null;
  /** Solar charging mode: fast (no PV rule), pv (surplus only), minpv (minimum + surplus). */
  chargeMode?: 'fast' | 'pv' | 'minpv';
}

export interface ConnectorMeter {
  chargerId: string;
  connectorId: number;
  atMs: number;
  /** Per charger phase, A. */
  currentA?: [number, number, number];
  powerW?: number;
  energyWh?: number;
  socPct?: number;
}

export type ProfileState = 'accepted' | 'pending' | 'rejected';

export interface ProfileStatus {
  chargerId: string;
  connectorId: number;
  state: ProfileState;
  /** The cap the profile carries, A per phase. */
  capA: number;
  /** The cap in force before it (still drawable while a decrease is pending), A. */
  previousCapA?: number;
  atMs: number;
  detail?: string;
  /**
   * The most this connector may draw from now on whatever the EMS decides, even if it died now
   * (what the charger may still hold after every duration expires), A per phase, when that is more
   * than `capA`: an uncontrollable charger's max, a setup not answered yet, a default that could
   * not be lowered. The snapshot reserves it (ConnectorSnapshot.reservedA).
   */
  reserveA?: number;
  /** The charger cannot be capped (it refuses or ignores profiles): reserved at its max. */
  uncontrollable?: boolean;
}

export type SignalKind = 'import-limit' | 'export-limit' | 'price' | 'ghg' | 'load-shed' | 'alert';

/** One grid signal on the timeline; producers: OpenADR VENs, MQTT, HTTP, operators. */
export interface GridSignal {
  id: string;
  source: string;
  kind: SignalKind;
  startMs: number;
  endMs: number;
  /** W for limits, currency/kWh for price, g/kWh for GHG, level 0..3 for load-shed. */
  value: number;
  text?: string;
  /** In force until withdrawn; `endMs` is then OPEN_END_MS (src/grid-signal.ts), shown as no end. */
  openEnded?: boolean;
}

export interface UpstreamStatusEvent {
  chargerId: string;
  upstreamId: string;
  uplink: 'connecting' | 'online' | 'offline' | 'refused' | 'unsupported' | 'closed';
  queueLength: number;
  lastFromChargerAtMs?: number;
  lastToChargerAtMs?: number;
  lastFromCsmsAtMs?: number;
  lastToCsmsAtMs?: number;
  lastError?: string;
  atMs: number;
}

export interface BusEvents {
  'device.reading': DeviceReading;
  'device.health': DeviceHealth;
  'charger.connected': { chargerId: string; atMs: number; protocol: string };
  'charger.disconnected': { chargerId: string; atMs: number };
  /** Local-controller mode: a charger's uplink to the CSMS changed (state, queue, last message). */
  'upstream.status': UpstreamStatusEvent;
  'connector.status': { chargerId: string; connectorId: number; status: ConnectorStatus; atMs: number; errorCode?: string };
  'connector.meter': ConnectorMeter;
  'session.started': SessionStarted;
  'session.ended': SessionEnded;
  'session.update': SessionUpdate;
  'profile.status': ProfileStatus;
  'signals.changed': { signals: GridSignal[]; source: string };
  decision: Decision;
  'control.failsafe': { active: boolean; atMs: number; why: string };
  /** A validated config edit was saved; `applied` sections are live in ctx.config now, the others need a restart. */
  'config.changed': { atMs: number; applied: string[]; restartRequired: string[] };
  /**
   * A charger is back for the first time since this EMS process started: the OCPP side should
   * ask it for its connector states (TriggerMessage StatusNotification) so the restored sessions
   * and what the charger really does agree again. `openTransactionIds` are stored as still open.
   */
  'charger.reconcile': { chargerId: string; atMs: number; openTransactionIds: number[] };
  /**
   * Something hostile or broken that the EMS survived (a refused OCPP frame or handshake, failed
   * auth, a throttled login, an unhandled rejection): counted on /metrics as ems_security_events_total{kind}.
   */
  'security.event': { kind: string; atMs: number; chargerId?: string; remoteAddress?: string };
  /**
   * The wall clock stepped by `stepMs` (NTP; negative = backwards) between two control cycles
   * (src/clock-step-watch.ts, before the cycle reads the time). Every holder of wall-clock stamps
   * moves them by the step (site state readings, the control memory's pause and estimation timers);
   * the OCPP side re-sends every profile.
   */
  'clock.stepped': { stepMs: number; atMs: number };
  /** An operator added or ended a grid limit by hand (API); for the site's events list. */
  'signal.operator': { action: 'added' | 'ended'; id: string; text: string; by: string; atMs: number };
}

export type BusEvent = keyof BusEvents;
type Listener<E extends BusEvent> = (payload: BusEvents[E]) => void;

/**
 * A typed, synchronous event bus. A listener that throws is logged and isolated: the others still
 * run and the emitter never sees the error.
 */
export class Bus {
  private readonly listeners = new Map<BusEvent, Set<Listener<any>>>();

  constructor(private readonly log: Logger) {}

  on<E extends BusEvent>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        this.log.error({ err: error, event }, 'bus listener failed; other listeners unaffected');
      }
    }
  }
}
