import ocppRpc from 'ocpp-rpc';
import type { ChargerConfig } from '../../config/schema.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { carDrawA, type Car } from './car.ts';
import { chargerLimitA, clearProfiles, connectorLimitA, installProfile, type InstalledProfile } from './profile-stack.ts';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => OcppClient };

interface OcppClient {
  connect(): Promise<unknown>;
  close(options?: { code?: number; force?: boolean }): Promise<unknown>;
  call(method: string, params: Record<string, unknown>): Promise<any>;
  handle(method: string, handler: (call: { params: any }) => unknown): void;
  on(event: string, listener: (...args: any[]) => void): void;
}

interface SimConnector {
  connectorId: number;
  car?: Car;
  transactionId?: number;
  txStartMs?: number;
  energyWh: number;
  drawA: number;
  status: string;
  lastMeterAtMs: number;
  reportedDrawA: number;
}

export interface SimulatedChargerOptions {
  endpoint: string;
  charger: ChargerConfig;
  voltageV: number;
  clock: Clock;
  log: Logger;
  /** Sim seconds between MeterValues during a transaction. */
  meterIntervalS?: number;
  /** A charger that answers every SetChargingProfile with Rejected (to show the reserve path). */
  rejectsProfiles?: boolean;
}

/**
 * A charger on the demo site: a real OCPP 1.6J client over a WebSocket, holding profiles the way
 * a charger does and letting its car draw what they allow.
 */
export class SimulatedCharger {
  readonly id: string;
  private readonly client: OcppClient;
  private profiles: InstalledProfile[] = [];
  private readonly connectors: SimConnector[];
  private meterIntervalS: number;
  private online = false;

  constructor(private readonly options: SimulatedChargerOptions) {
    this.id = options.charger.id;
    this.meterIntervalS = options.meterIntervalS ?? 10;
    this.connectors = Array.from({ length: options.charger.connectors }, (_, i) => ({
      connectorId: i + 1,
      energyWh: (i + 1) * 1_000_000,
      drawA: 0,
      status: 'Available',
      lastMeterAtMs: 0,
      reportedDrawA: 0,
    }));
    this.client = new RPCClient({
      endpoint: options.endpoint,
      identity: this.id,
      protocols: ['ocpp1.6'],
      strictMode: true,
      password: options.charger.password ?? null,
      reconnect: true,
      callTimeoutMs: 10_000,
    });
    this.registerHandlers();
    this.client.on('close', () => (this.online = false));
    this.client.on('open', () => {
      if (this.online) return;
      this.online = true;
      void this.boot().catch((error) => options.log.warn({ err: error, chargerId: this.id }, 'simulated charger boot failed'));
    });
  }

  get busy(): boolean {
    return this.connectors.some((c) => c.car);
  }

  freeConnector(): number | undefined {
    return this.connectors.find((c) => !c.car && c.status === 'Available')?.connectorId;
  }

  /** Per site-side phase of this charger (its own L1..L3), A. */
  drawPerPhaseA(): [number, number, number] {
    const draw: [number, number, number] = [0, 0, 0];
    for (const c of this.connectors) {
      if (!c.car || c.drawA === 0) continue;
      const phases = Math.min(this.options.charger.phases, c.car.phases);
      for (let p = 0; p < phases; p++) draw[p] += c.drawA;
    }
    return draw;
  }

  connectorView(): { connectorId: number; car?: Car; drawA: number; limitA: number; status: string }[] {
    const now = this.options.clock.nowMs();
    return this.connectors.map((c) => ({ connectorId: c.connectorId, car: c.car, drawA: c.drawA, limitA: this.limitFor(c, now), status: c.status }));
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    await this.client.close({ force: true });
  }

  /** A car plugs in and presents its tag. */
  async plugIn(connectorId: number, car: Car): Promise<boolean> {
    const c = this.connectors[connectorId - 1];
    if (!c || c.car) return false;
    c.car = car;
    await this.setStatus(c, 'Preparing');
    const auth = await this.client.call('Authorize', { idTag: car.idTag });
    if (auth.idTagInfo.status !== 'Accepted') {
      c.car = undefined;
      await this.setStatus(c, 'Available');
      return false;
    }
    const start = await this.client.call('StartTransaction', {
      connectorId,
      idTag: car.idTag,
      meterStart: Math.round(c.energyWh),
      timestamp: new Date(this.options.clock.nowMs()).toISOString(),
    });
    c.transactionId = start.transactionId;
    c.txStartMs = this.options.clock.nowMs();
    c.lastMeterAtMs = c.txStartMs;
    await this.setStatus(c, 'Charging');
    return true;
  }

  /** The car leaves: stop the transaction and free the connector. */
  async unplug(connectorId: number, reason = 'EVDisconnected'): Promise<void> {
    const c = this.connectors[connectorId - 1];
    if (!c?.car) return;
    const transactionId = c.transactionId;
    c.car = undefined;
    c.drawA = 0;
    c.transactionId = undefined;
    c.txStartMs = undefined;
    if (transactionId !== undefined) {
      await this.client.call('StopTransaction', {
        transactionId,
        meterStop: Math.round(c.energyWh),
        timestamp: new Date(this.options.clock.nowMs()).toISOString(),
        reason,
      });
    }
    await this.setStatus(c, 'Available');
  }

  /** Advance the physics by dtS sim seconds: draw under the installed profiles, meter values. */
  async tick(dtS: number): Promise<void> {
    if (!this.online) return;
    const now = this.options.clock.nowMs();
    const chargerCapA = chargerLimitA(this.profiles, now, this.options.voltageV, this.options.charger.phases);
    let usedA = 0;
    for (const c of this.connectors) {
      if (!c.car || c.transactionId === undefined) continue;
      const limitA = Math.min(this.limitFor(c, now), Math.max(0, chargerCapA - usedA), this.options.charger.maxCurrent);
      c.drawA = Math.round(carDrawA(c.car, limitA) * 10) / 10;
      usedA += c.drawA;
      const phases = Math.min(this.options.charger.phases, c.car.phases);
      const energyWh = (c.drawA * this.options.voltageV * phases * dtS) / 3600;
      c.energyWh += energyWh;
      c.car.socPct = Math.min(100, c.car.socPct + (energyWh / c.car.capacityWh) * 100);
      const status = c.drawA > 0 ? 'Charging' : c.car.socPct >= c.car.targetSocPct ? 'SuspendedEV' : 'SuspendedEVSE';
      if (status !== c.status) await this.setStatus(c, status);
      // Like chargers that report on change: a step of 1 A goes out at once, not at the next sample.
      if ((now - c.lastMeterAtMs) / 1000 >= this.meterIntervalS || Math.abs(c.drawA - c.reportedDrawA) >= 1) {
        c.lastMeterAtMs = now;
        await this.sendMeterValues(c, now);
      }
    }
  }

  private limitFor(c: SimConnector, atMs: number): number {
    return connectorLimitA(this.profiles, atMs, {
      connectorId: c.connectorId,
      transactionId: c.transactionId,
      txStartMs: c.txStartMs,
      voltageV: this.options.voltageV,
      phases: this.options.charger.phases,
    });
  }

  private async boot(): Promise<void> {
    await this.client.call('BootNotification', { chargePointVendor: 'EMS-Demo', chargePointModel: 'SimCharger-22' });
    for (const c of this.connectors) await this.setStatus(c, c.car ? c.status : 'Available');
  }

  private async setStatus(c: SimConnector, status: string): Promise<void> {
    c.status = status;
    if (!this.online) return;
    await this.client.call('StatusNotification', {
      connectorId: c.connectorId,
      errorCode: 'NoError',
      status,
      timestamp: new Date(this.options.clock.nowMs()).toISOString(),
    });
  }

  private async sendMeterValues(c: SimConnector, atMs: number): Promise<void> {
    c.reportedDrawA = c.drawA;
    const phases = c.car ? Math.min(this.options.charger.phases, c.car.phases) : 0;
    const perPhase = [0, 1, 2].map((p) => (p < phases ? c.drawA : 0));
    const sampledValue = [
      ...perPhase.map((a, i) => ({ value: a.toFixed(1), measurand: 'Current.Import', phase: `L${i + 1}`, unit: 'A' })),
      { value: (c.drawA * this.options.voltageV * phases).toFixed(0), measurand: 'Power.Active.Import', unit: 'W' },
      { value: c.energyWh.toFixed(0), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
      ...(c.car ? [{ value: c.car.socPct.toFixed(0), measurand: 'SoC', unit: 'Percent', location: 'EV' }] : []),
    ];
    await this.client.call('MeterValues', {
      connectorId: c.connectorId,
      transactionId: c.transactionId,
      meterValue: [{ timestamp: new Date(atMs).toISOString(), sampledValue }],
    });
  }

  private registerHandlers(): void {
    const now = () => this.options.clock.nowMs();
    this.client.handle('GetConfiguration', ({ params }) => {
      const all: Record<string, string> = {
        ChargeProfileMaxStackLevel: '8',
        ChargingScheduleAllowedChargingRateUnit: 'Current,Power',
        ChargingScheduleMaxPeriods: '24',
        MaxChargingProfilesInstalled: '16',
        MeterValueSampleInterval: String(this.meterIntervalS),
        MeterValuesSampledData: 'Energy.Active.Import.Register',
        NumberOfConnectors: String(this.connectors.length),
      };
      const keys: string[] = params.key?.length ? params.key : Object.keys(all);
      return {
        configurationKey: keys.filter((k) => k in all).map((key) => ({ key, readonly: false, value: all[key] })),
        unknownKey: keys.filter((k) => !(k in all)),
      };
    });
    this.client.handle('ChangeConfiguration', ({ params }) => {
      if (params.key === 'MeterValueSampleInterval') this.meterIntervalS = Math.max(1, Number(params.value) || this.meterIntervalS);
      return { status: 'Accepted' };
    });
    this.client.handle('SetChargingProfile', ({ params }) => {
      if (this.options.rejectsProfiles) return { status: 'Rejected' };
      const p = params.csChargingProfiles;
      const connector = this.connectors[params.connectorId - 1];
      if (p.chargingProfilePurpose === 'ChargePointMaxProfile' && params.connectorId !== 0) return { status: 'Rejected' };
      if (p.chargingProfilePurpose === 'TxProfile') {
        if (!connector || connector.transactionId === undefined) return { status: 'Rejected' };
        if (p.transactionId !== undefined && p.transactionId !== connector.transactionId) return { status: 'Rejected' };
      }
      if (params.connectorId > this.connectors.length) return { status: 'Rejected' };
      this.profiles = installProfile(this.profiles, {
        id: p.chargingProfileId,
        connectorId: params.connectorId,
        purpose: p.chargingProfilePurpose,
        stackLevel: p.stackLevel,
        kind: p.chargingProfileKind,
        transactionId: p.transactionId,
        startScheduleMs: p.chargingSchedule.startSchedule ? Date.parse(p.chargingSchedule.startSchedule) : undefined,
        durationS: p.chargingSchedule.duration,
        unit: p.chargingSchedule.chargingRateUnit,
        periods: p.chargingSchedule.chargingSchedulePeriod,
        receivedAtMs: now(),
      });
      return { status: 'Accepted' };
    });
    this.client.handle('ClearChargingProfile', ({ params }) => {
      const { kept, cleared } = clearProfiles(this.profiles, {
        id: params.id,
        connectorId: params.connectorId,
        purpose: params.chargingProfilePurpose,
        stackLevel: params.stackLevel,
      });
      this.profiles = kept;
      return { status: cleared > 0 ? 'Accepted' : 'Unknown' };
    });
    this.client.handle('TriggerMessage', ({ params }) => {
      queueMicrotask(() => {
        if (params.requestedMessage === 'StatusNotification') for (const c of this.connectors) void this.setStatus(c, c.status);
        if (params.requestedMessage === 'BootNotification') void this.boot();
        if (params.requestedMessage === 'Heartbeat') void this.client.call('Heartbeat', {});
        if (params.requestedMessage === 'MeterValues') for (const c of this.connectors) if (c.car) void this.sendMeterValues(c, now());
      });
      return { status: 'Accepted' };
    });
    this.client.handle('RemoteStopTransaction', ({ params }) => {
      const c = this.connectors.find((x) => x.transactionId === params.transactionId);
      if (!c) return { status: 'Rejected' };
      queueMicrotask(() => void this.unplug(c.connectorId, 'Remote'));
      return { status: 'Accepted' };
    });
    this.client.handle('Reset', () => ({ status: 'Accepted' }));
    this.client.handle('ChangeAvailability', () => ({ status: 'Accepted' }));
    this.client.handle('GetCompositeSchedule', () => ({ status: 'Rejected' }));
  }
}
