import type { DeviceHealth, DeviceReading } from '../../adapters/types.ts';
import type { Config } from '../../config/schema.ts';
import {
  connectorKey,
  type ConnectorSnapshot,
  type ConnectorStatus,
  type Decision,
  type PhaseValues,
  type SiteSnapshot,
} from '../../optimizer/types.ts';
import type { Bus, GridSignal, ProfileStatus } from '../bus.ts';
import { gridSignalProblem } from '../grid-signal.ts';

export interface SessionState {
  transactionId: number;
  idTag: string;
  tier: string;
  startedAtMs: number;
  meterStartWh: number;
  /** Delivered so far, Wh. */
  energyWh: number;
  departureAtMs?: number;
  energyNeedWh?: number;
  socPct?: number;
  paused: boolean;
  targetPowerW?: number;
}

export interface ConnectorState {
  chargerId: string;
  connectorId: number;
  status: ConnectorStatus;
  statusAtMs?: number;
  errorCode?: string;
  session: SessionState | null;
  /** Per charger phase, A. */
  drawA: [number, number, number];
  drawAtMs?: number;
  powerW?: number;
  profile?: ProfileStatus;
  /**
   * The session's car may have been offered this much since it started (SessionStarted.offeredA):
   * reserved until a decision has seen it (its limit history then keeps it for a car response).
   */
  startOffer?: { offeredA: number; seenAtMs?: number };
}

export interface ChargerState {
  id: string;
  online: boolean;
  protocol?: string;
  sinceMs?: number;
}

export interface DeviceState {
  id: string;
  role: DeviceReading['role'];
  reading?: DeviceReading;
  health: DeviceHealth['health'];
  lastError?: string;
}

/**
 * The latest value of everything the control loop looks at, fed from the bus. It does not decide:
 * `snapshot()` hands the optimizer a frozen, pure view.
 */
export class SiteState {
  readonly connectors = new Map<string, ConnectorState>();
  readonly chargers = new Map<string, ChargerState>();
  readonly devices = new Map<string, DeviceState>();
  signals: GridSignal[] = [];
  lastDecision: Decision | null = null;
  private readonly signalsBySource = new Map<string, GridSignal[]>();
  private readonly chargerMaxA = new Map<string, number>();

  constructor(
    private readonly config: Config,
    bus: Bus,
  ) {
    for (const charger of config.chargers) {
      this.chargers.set(charger.id, { id: charger.id, online: false });
      this.chargerMaxA.set(charger.id, charger.maxCurrent);
      for (let connectorId = 1; connectorId <= charger.connectors; connectorId++) {
        this.connectors.set(connectorKey(charger.id, connectorId), {
          chargerId: charger.id,
          connectorId,
          status: 'Offline',
          session: null,
          drawA: [0, 0, 0],
        });
      }
    }
    for (const device of config.devices) this.devices.set(device.id, { id: device.id, role: device.role, health: 'offline' });
    this.subscribe(bus);
  }

  connector(chargerId: string, connectorId: number): ConnectorState | undefined {
    return this.connectors.get(connectorKey(chargerId, connectorId));
  }

  private subscribe(bus: Bus): void {
    bus.on('device.reading', (reading) => {
      const device = this.devices.get(reading.deviceId) ?? { id: reading.deviceId, role: reading.role, health: 'online' };
      this.devices.set(reading.deviceId, { ...device, reading, health: 'online' });
    });
    bus.on('device.health', (health) => {
      const device = this.devices.get(health.deviceId) ?? { id: health.deviceId, role: health.role, health: health.health };
      this.devices.set(health.deviceId, { ...device, health: health.health, lastError: health.lastError });
    });
    bus.on('charger.connected', ({ chargerId, atMs, protocol }) => {
      this.chargers.set(chargerId, { id: chargerId, online: true, protocol, sinceMs: atMs });
    });
    bus.on('charger.disconnected', ({ chargerId, atMs }) => {
      const charger = this.chargers.get(chargerId);
      if (charger) this.chargers.set(chargerId, { ...charger, online: false, sinceMs: atMs });
    });
    bus.on('connector.status', ({ chargerId, connectorId, status, atMs, errorCode }) => {
      const connector = this.connector(chargerId, connectorId);
      if (!connector) return;
      connector.status = status;
      connector.statusAtMs = atMs;
      connector.errorCode = errorCode;
    });
    bus.on('connector.meter', (meter) => {
      const connector = this.connector(meter.chargerId, meter.connectorId);
      if (!connector) return;
      if (meter.currentA) {
        connector.drawA = meter.currentA;
        connector.drawAtMs = meter.atMs;
      }
      if (meter.powerW !== undefined) connector.powerW = meter.powerW;
      if (connector.session) {
        if (meter.energyWh !== undefined) connector.session.energyWh = Math.max(0, meter.energyWh - connector.session.meterStartWh);
        if (meter.socPct !== undefined) connector.session.socPct = meter.socPct;
      }
    });
    bus.on('session.started', (started) => {
      const connector = this.connector(started.chargerId, started.connectorId);
      if (!connector) return;
      connector.session = {
        transactionId: started.transactionId,
        idTag: started.idTag,
        tier: started.tier,
        startedAtMs: started.startedAtMs,
        meterStartWh: started.meterStartWh,
        energyWh: 0,
        departureAtMs: started.departureAtMs,
        energyNeedWh: started.energyNeedWh,
        paused: false,
      };
      if (started.offeredA !== undefined) connector.startOffer = { offeredA: started.offeredA };
      else delete connector.startOffer;
    });
    bus.on('session.ended', ({ chargerId, connectorId, transactionId }) => {
      const connector = this.connector(chargerId, connectorId);
      if (connector?.session?.transactionId !== transactionId) return;
      connector.session = null;
      connector.drawA = [0, 0, 0];
      connector.powerW = 0;
      delete connector.startOffer;
    });
    bus.on('session.update', (update) => {
      const session = this.connector(update.chargerId, update.connectorId)?.session;
      if (!session) return;
      if (update.departureAtMs !== undefined) session.departureAtMs = update.departureAtMs ?? undefined;
      if (update.energyNeedWh !== undefined) session.energyNeedWh = update.energyNeedWh ?? undefined;
      if (update.targetPowerW !== undefined) session.targetPowerW = update.targetPowerW ?? undefined;
      if (update.tier !== undefined) session.tier = update.tier;
      if (update.paused !== undefined) session.paused = update.paused;
    });
    bus.on('profile.status', (status) => {
      const connector = this.connector(status.chargerId, status.connectorId);
      if (connector) connector.profile = status;
    });
    bus.on('signals.changed', ({ signals, source }) => {
      // Producers build signals with gridSignal(); one that would not pass it is never in force.
      this.signalsBySource.set(source, Array.isArray(signals) ? signals.filter((s) => gridSignalProblem(s) === undefined) : []);
      this.signals = [...this.signalsBySource.values()].flat();
    });
    bus.on('decision', (decision) => {
      this.lastDecision = decision;
      // A decision on a snapshot that reserved a car's start offer has recorded it as a limit the car was under.
      for (const connector of this.connectors.values()) {
        const seenAtMs = connector.startOffer?.seenAtMs;
        if (seenAtMs !== undefined && decision.atMs >= seenAtMs) delete connector.startOffer;
      }
    });
    // The wall clock stepped (announced in the same call as the app's clock moves, so every stamp
    // here is on the old clock): readings keep their age (a forward step makes no fresh reading
    // stale, a backward one no old reading fresh), a disconnected charger's hold its length.
    bus.on('clock.stepped', ({ stepMs }) => {
      for (const [id, device] of this.devices) if (device.reading) this.devices.set(id, { ...device, reading: { ...device.reading, atMs: device.reading.atMs + stepMs } });
      for (const [id, charger] of this.chargers) if (charger.sinceMs !== undefined) this.chargers.set(id, { ...charger, sinceMs: charger.sinceMs + stepMs });
      for (const connector of this.connectors.values()) {
        if (connector.drawAtMs !== undefined) connector.drawAtMs += stepMs;
        if (connector.statusAtMs !== undefined) connector.statusAtMs += stepMs;
      }
    });
  }

  /** A pure view for decide(): values as they are now, with reservations derived from profile state. */
  snapshot(atMs: number): SiteSnapshot {
    const gridMeterId = this.config.grid.meter;
    const gridReading = gridMeterId ? this.devices.get(gridMeterId)?.reading : undefined;
    const role = (r: string) => [...this.devices.values()].find((d) => d.role === r && d.reading && d.health === 'online')?.reading;
    const loads = this.config.circuits.length ? this.circuitLoads() : [];
    return {
      atMs,
      grid:
        gridReading?.currentA && gridReading.powerW !== undefined
          ? { atMs: gridReading.atMs, currentA: gridReading.currentA as unknown as PhaseValues, powerW: gridReading.powerW }
          : null,
      circuitLoads: loads,
      pvPowerW: role('pv')?.powerW,
      batteryPowerW: role('battery')?.powerW,
      batterySocPct: role('battery')?.socPct,
      connectors: [...this.connectors.values()].map((c) => this.connectorSnapshot(c, atMs)),
      signals: this.signalLimits(atMs),
    };
  }

  /** The strictest import and export limits among the grid signals active at `atMs`, W (the one place that picks them). */
  signalLimits(atMs: number): SiteSnapshot['signals'] {
    let importLimitW: number | undefined;
    let exportLimitW: number | undefined;
    for (const s of this.signals) {
      if (!(s.startMs <= atMs && atMs < s.endMs)) continue;
      if (s.kind === 'import-limit' && (importLimitW === undefined || s.value < importLimitW)) importLimitW = s.value;
      if (s.kind === 'export-limit' && (exportLimitW === undefined || s.value < exportLimitW)) exportLimitW = s.value;
    }
    return { importLimitW, exportLimitW };
  }

  private circuitLoads(): SiteSnapshot['circuitLoads'] {
    const result: { circuitId: string; atMs: number; currentA: PhaseValues }[] = [];
    const visit = (nodes: Config['circuits']) => {
      for (const node of nodes) {
        const reading = node.meter ? this.devices.get(node.meter)?.reading : undefined;
        if (reading?.currentA) result.push({ circuitId: node.id, atMs: reading.atMs, currentA: reading.currentA as unknown as PhaseValues });
        visit(node.children ?? []);
      }
    };
    visit(this.config.circuits);
    return result;
  }

  private connectorSnapshot(c: ConnectorState, atMs: number): ConnectorSnapshot {
    const charger = this.chargers.get(c.chargerId);
    const maxA = this.chargerMaxA.get(c.chargerId) ?? 0;
    const holdMs = this.config.control.disconnectedHoldMs;
    let reservedA: number | undefined;
    if (c.session && c.profile?.state === 'rejected') reservedA = maxA;
    else if (c.profile?.state === 'pending') reservedA = Math.max(c.profile.capA, c.profile.previousCapA ?? maxA);
    if (c.session && charger && !charger.online && atMs - (charger.sinceMs ?? atMs) < holdMs) {
      reservedA = Math.max(reservedA ?? 0, c.profile?.state === 'accepted' ? c.profile.capA : maxA);
    }
    // What the charger may hold whatever we decide (uncontrollable, unanswered setup, stale default).
    if (c.profile?.reserveA !== undefined) reservedA = Math.max(reservedA ?? 0, c.profile.reserveA);
    if (c.session && c.startOffer) {
      reservedA = Math.max(reservedA ?? 0, c.startOffer.offeredA);
      c.startOffer.seenAtMs ??= atMs;
    }
    const tiers = this.config.control.tiers;
    return {
      chargerId: c.chargerId,
      connectorId: c.connectorId,
      status: charger?.online ? c.status : c.session ? c.status : 'Offline',
      ...(c.statusAtMs !== undefined ? { statusAtMs: c.statusAtMs } : {}),
      session: c.session
        ? {
            id: String(c.session.transactionId),
            startedAtMs: c.session.startedAtMs,
            departureAtMs: c.session.departureAtMs,
            energyWh: c.session.energyWh,
            energyNeedWh: c.session.energyNeedWh,
            socPct: c.session.socPct,
            tierRank: tiers[c.session.tier] ?? 0,
            paused: c.session.paused,
            targetPowerW: c.session.targetPowerW,
          }
        : null,
      drawA: c.drawA,
      drawAtMs: c.drawAtMs,
      reservedA,
      installedCapA: c.profile?.state === 'accepted' ? c.profile.capA : undefined,
      online: charger?.online ?? false,
    };
  }
}
