// One demo charger on the wire: a real OCPP 1.6J client over a WebSocket on loopback whose physics
// is the site plant's charger (plant/charger.ts: profile stacking, apply delay, MeterValues at its
// own period, the car's response, ramp, taper and full). What the plant charger sends goes out as
// OCPP calls, in order; what the EMS sends (SetChargingProfile, ClearChargingProfile,
// RemoteStopTransaction, TriggerMessage) goes to the plant.
import ocppRpc from 'ocpp-rpc';
import type { ChargerConfig } from '../../config/schema.ts';
import type { PlantEvent, SitePlant } from '../../plant/index.ts';
import type { Logger } from '../log.ts';
import type { ChargingProfile } from '../ocpp/messages.ts';
import { plantProfile } from '../simulate/virtual-dispatcher.ts';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => OcppClient };

interface OcppClient {
  connect(): Promise<unknown>;
  close(options?: { code?: number; force?: boolean }): Promise<unknown>;
  call(method: string, params: Record<string, unknown>): Promise<any>;
  handle(method: string, handler: (call: { params: any }) => unknown): void;
  on(event: string, listener: (...args: any[]) => void): void;
}

export interface PlantChargerLinkOptions {
  endpoint: string;
  charger: ChargerConfig;
  plant: SitePlant;
  /** Plant time now, ms (the demo clock less the plant's start). */
  plantNowMs: () => number;
  log: Logger;
  /** A card the central system refused, or a car that left: its tag is free again. */
  onCarGone: (idTag: string) => void;
}

interface Transaction {
  plantId: number;
  csmsId: number;
  idTag: string;
}

export class PlantChargerLink {
  readonly id: string;
  private readonly client: OcppClient;
  private online = false;
  /** The demo is closing: plant events still queued are not sent (stopAll), calls cut short are no news (close). */
  private stopping = false;
  private closing = false;
  private queue: Promise<void> = Promise.resolve();
  /** By connector: the transaction as the central system knows it. */
  private readonly transactions = new Map<number, Transaction>();
  private readonly refused = new Set<number>();
  private meterIntervalS = 10;
  /** Per connector: the newest meter reading queued. */
  private readonly newestMeter = new Map<number, PlantEvent>();
  /** Per connector: the draw last sent in MeterValues, A. */
  private readonly reportedA = new Map<number, number>();

  constructor(private readonly options: PlantChargerLinkOptions) {
    this.id = options.charger.id;
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
      this.enqueue(() => this.boot());
    });
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.closing = true;
    await this.client.close({ force: true });
  }

  /** Plant events of this charger, sent in order (the next waits for the previous answer). */
  deliver(events: readonly PlantEvent[]): void {
    for (const event of events) {
      if (event.kind !== 'meter-values') {
        this.enqueue(() => this.send(event));
        continue;
      }
      // A charger samples what its meter reads when it sends: of the readings of one connector
      // still waiting in the queue (the EMS answers slowly on a loaded machine, the plant runs at
      // up to x60), only the newest goes. A backlog sent late would show the EMS a car still
      // drawing what it drew before its last cut, seconds of demo time after it followed it.
      this.newestMeter.set(event.connectorId, event);
      this.enqueue(() => (this.newestMeter.get(event.connectorId) === event ? this.send(event) : Promise.resolve()));
    }
  }

  /** The demo closes: every running transaction is stopped (reason Local) so the next run starts clean. */
  async stopAll(): Promise<void> {
    // Readings and statuses still queued are for a site that is closing: only the call on the wire
    // is waited for (under load the queue can hold many, and the demo gives the stop 3 s).
    this.stopping = true;
    await this.queue;
    const connectors = this.options.plant.chargers.get(this.id)?.connectors ?? [];
    for (const [connectorId, tx] of [...this.transactions]) {
      this.transactions.delete(connectorId);
      // The register as it reads now: a billing export must not show a stop reading of 0 below the start.
      const registerWh = connectors.find((c) => c.connectorId === connectorId)?.registerWh;
      await this.client
        .call('StopTransaction', { transactionId: tx.csmsId, meterStop: Math.floor(registerWh ?? 0), timestamp: this.timestamp(), reason: 'Local' })
        .catch(() => undefined);
    }
  }

  /**
   * MeterValues on change, as many chargers send them besides the periodic ones: a connector whose
   * car draws 1 A more or less than last reported reports now (the EMS sees a car slow down at once
   * rather than at the next period, which at ×60 is 10 real seconds away).
   */
  reportChanges(): void {
    const charger = this.options.plant.chargers.get(this.id);
    if (!charger || !this.online) return;
    for (const c of charger.connectors) {
      const tx = this.transactions.get(c.connectorId);
      if (!tx || c.transactionId !== tx.plantId) continue;
      const drawA = c.car?.drawA ?? 0;
      if (Math.abs(drawA - (this.reportedA.get(c.connectorId) ?? 0)) < 1) continue;
      const phases = c.car ? (charger.spec.phases === 1 ? 1 : c.car.spec.phases) : 0;
      const currentA = [0, 1, 2].map((p) => (p < phases ? Math.round(drawA * 10) / 10 : 0)) as [number, number, number];
      const atMs = this.options.plant.nowMs;
      this.deliver([
        {
          kind: 'meter-values',
          atMs,
          chargerId: this.id,
          connectorId: c.connectorId,
          measuredAtMs: atMs,
          currentA,
          powerW: Math.round(drawA * phases * this.options.plant.scenario.voltageV),
          energyWh: Math.floor(c.registerWh),
          socPct: Math.floor(c.car?.socPct ?? 0),
        },
      ]);
    }
  }

  /** Calls still being sent. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue
      .then(() => (this.stopping ? undefined : task()))
      .catch((error) =>
        // A call the demo's own close cut short (its socket closed under it) is what closing does.
        this.closing ? this.options.log.debug({ err: error, chargerId: this.id }, 'demo charger call cut short by the demo closing') : this.options.log.warn({ err: error, chargerId: this.id }, 'demo charger call failed'),
      );
  }

  private timestamp(plantMs = this.options.plantNowMs()): string {
    return new Date(this.options.plant.wallMs(plantMs)).toISOString();
  }

  private async boot(): Promise<void> {
    await this.client.call('BootNotification', { chargePointVendor: 'EMS-Demo', chargePointModel: 'PlantCharger-22' });
    await this.sendStatuses();
  }

  private async sendStatuses(): Promise<void> {
    const charger = this.options.plant.chargers.get(this.id);
    for (const c of charger?.connectors ?? []) {
      await this.client.call('StatusNotification', { connectorId: c.connectorId, errorCode: 'NoError', status: c.status, timestamp: this.timestamp() });
    }
  }

  private async send(event: PlantEvent): Promise<void> {
    if (!this.online) return;
    switch (event.kind) {
      case 'status':
        if (this.refused.has(event.connectorId) && event.status !== 'Available' && event.status !== 'Finishing') return;
        if (event.status === 'Available') this.refused.delete(event.connectorId);
        await this.client.call('StatusNotification', { connectorId: event.connectorId, errorCode: 'NoError', status: event.status, timestamp: this.timestamp(event.atMs) });
        return;
      case 'transaction-started': {
        const auth = await this.client.call('Authorize', { idTag: event.idTag });
        if (auth.idTagInfo?.status !== 'Accepted') {
          // The card is refused: the driver unplugs.
          this.refused.add(event.connectorId);
          this.options.plant.unplug(this.id, event.connectorId, this.options.plantNowMs());
          this.options.onCarGone(event.idTag);
          return;
        }
        const start = await this.client.call('StartTransaction', { connectorId: event.connectorId, idTag: event.idTag, meterStart: event.meterStartWh, timestamp: this.timestamp(event.atMs) });
        this.transactions.set(event.connectorId, { plantId: event.transactionId, csmsId: start.transactionId, idTag: event.idTag });
        return;
      }
      case 'transaction-ended': {
        const tx = this.transactions.get(event.connectorId);
        if (!tx || tx.plantId !== event.transactionId) return;
        this.transactions.delete(event.connectorId);
        await this.client.call('StopTransaction', { transactionId: tx.csmsId, meterStop: event.meterStopWh, timestamp: this.timestamp(event.atMs), reason: 'EVDisconnected' });
        this.options.onCarGone(tx.idTag);
        return;
      }
      case 'meter-values': {
        const tx = this.transactions.get(event.connectorId);
        if (!tx) return;
        this.reportedA.set(event.connectorId, Math.max(...(event.currentA ?? [0])));
        const phases = this.options.charger.phases;
        const sampledValue = [
          ...(event.currentA ?? [0, 0, 0]).slice(0, phases).map((a, i) => ({ value: a.toFixed(1), measurand: 'Current.Import', phase: `L${i + 1}`, unit: 'A' })),
          { value: String(event.powerW), measurand: 'Power.Active.Import', unit: 'W' },
          { value: String(event.energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          { value: String(event.socPct), measurand: 'SoC', unit: 'Percent', location: 'EV' },
        ];
        await this.client.call('MeterValues', { connectorId: event.connectorId, transactionId: tx.csmsId, meterValue: [{ timestamp: this.timestamp(event.measuredAtMs), sampledValue }] });
        return;
      }
      default:
        // connected/disconnected, profile answers (answered on the call itself), meter readings (not a charger's).
        return;
    }
  }

  private registerHandlers(): void {
    const plant = this.options.plant;
    this.client.handle('GetConfiguration', ({ params }) => {
      const all: Record<string, string> = {
        ChargeProfileMaxStackLevel: '8',
        ChargingScheduleAllowedChargingRateUnit: 'Current,Power',
        ChargingScheduleMaxPeriods: '24',
        MaxChargingProfilesInstalled: '16',
        MeterValueSampleInterval: String(this.meterIntervalS),
        MeterValuesSampledData: 'Energy.Active.Import.Register',
        NumberOfConnectors: String(this.options.charger.connectors),
      };
      const keys: string[] = params.key?.length ? params.key : Object.keys(all);
      return {
        configurationKey: keys.filter((k) => k in all).map((key) => ({ key, readonly: false, value: all[key] })),
        unknownKey: keys.filter((k) => !(k in all)),
      };
    });
    // Accepted, as real chargers do; like many, it keeps sending at its own period (plant/charger.ts).
    this.client.handle('ChangeConfiguration', ({ params }) => {
      if (params.key === 'MeterValueSampleInterval') this.meterIntervalS = Math.max(1, Number(params.value) || this.meterIntervalS);
      return { status: 'Accepted' };
    });
    this.client.handle('SetChargingProfile', ({ params }) => {
      const wire = params.csChargingProfiles as ChargingProfile;
      if (wire.chargingProfilePurpose === 'ChargePointMaxProfile' && params.connectorId !== 0) return { status: 'Rejected' };
      const profile = plantProfile(params.connectorId, wire, plant.scenario.startAtMs);
      if (profile.purpose === 'TxProfile') {
        const tx = this.transactions.get(params.connectorId);
        if (!tx || (wire.transactionId !== undefined && wire.transactionId !== tx.csmsId)) return { status: 'Rejected' };
        profile.transactionId = tx.plantId;
      }
      const { status } = plant.setChargingProfile(this.id, profile, Math.max(plant.nowMs, this.options.plantNowMs()));
      return { status: status === 'Offline' ? 'Rejected' : status };
    });
    this.client.handle('ClearChargingProfile', ({ params }) => {
      const cleared = plant.clearChargingProfiles(this.id, { id: params.id, connectorId: params.connectorId, purpose: params.chargingProfilePurpose, stackLevel: params.stackLevel });
      return { status: cleared > 0 ? 'Accepted' : 'Unknown' };
    });
    this.client.handle('TriggerMessage', ({ params }) => {
      if (params.requestedMessage === 'StatusNotification') this.enqueue(() => this.sendStatuses());
      if (params.requestedMessage === 'BootNotification') this.enqueue(() => this.boot());
      if (params.requestedMessage === 'Heartbeat') this.enqueue(async () => void (await this.client.call('Heartbeat', {})));
      if (params.requestedMessage !== 'MeterValues') return { status: 'Accepted' };
      // The plant charger samples the connector shortly after; the sample comes out as its meter-values event.
      const { status } = plant.triggerMeterValues(this.id, params.connectorId ?? 1, Math.max(plant.nowMs, this.options.plantNowMs()));
      return { status: status === 'Sent' ? 'Accepted' : 'Rejected' };
    });
    this.client.handle('RemoteStopTransaction', ({ params }) => {
      const entry = [...this.transactions.entries()].find(([, tx]) => tx.csmsId === params.transactionId);
      if (!entry) return { status: 'Rejected' };
      plant.unplug(this.id, entry[0], Math.max(plant.nowMs, this.options.plantNowMs()));
      return { status: 'Accepted' };
    });
    this.client.handle('Reset', () => ({ status: 'Accepted' }));
    this.client.handle('ChangeAvailability', () => ({ status: 'Accepted' }));
    this.client.handle('GetCompositeSchedule', () => ({ status: 'Rejected' }));
  }
}
