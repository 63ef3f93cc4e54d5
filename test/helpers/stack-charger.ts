// An independent OCPP 1.6J charger for tests that keeps the profiles it is sent the way a charger
// does (§3.13: per purpose the highest valid stack level, TxProfile over TxDefaultProfile for its
// transaction, the minimum with ChargePointMaxProfile) and evaluates them on its own clock, so a
// test can ask what it would let a car draw at any moment, with or without the EMS. A plain
// ocpp-rpc client in strict mode (the official schemas). It can refuse smart charging
// (NotSupported), answer CALLERROR NotImplemented, or never answer profile calls.
import ocppRpc from 'ocpp-rpc';
import { chargerLimitA, clearProfiles, connectorLimitA, installProfile, type InstalledProfile } from '../../src/demo/profile-stack.ts';

const { RPCClient, createRPCError } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => any; createRPCError: (code: string, message: string) => Error };

export type ProfileMode = 'accept' | 'not-supported' | 'not-implemented' | 'silent';

export class StackCharger {
  readonly client: any;
  profiles: InstalledProfile[] = [];
  readonly tx = new Map<number, { transactionId: number; startMs: number }>();
  readonly setCalls: any[] = [];
  /** Every SetChargingProfile with the wall-clock time it arrived (diagnostics). */
  readonly setCallLog: { atMs: number; params: any }[] = [];
  mode: ProfileMode = 'accept';
  /** The charger's clock offset from this process's clock, ms (a charger with a wrong clock). */
  clockOffsetMs = 0;
  /** Called after every change of the profiles it holds (a test samples what it holds there). */
  readonly onChange: (() => void)[] = [];
  /**
   * Awaited after a SetChargingProfile was taken (or refused) and before it is answered: a test
   * can act at that exact moment, e.g. kill the EMS before it hears the answer or sends the next call.
   */
  beforeAnswer: ((params: any) => void | Promise<void>) | undefined;

  constructor(
    readonly id: string,
    endpoint: string,
    readonly options: { connectors?: number; maxA?: number; smartCharging?: boolean } = {},
  ) {
    this.client = new RPCClient({ endpoint, identity: id, protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
    const c = this.client;
    c.handle('GetConfiguration', () => ({
      configurationKey: [
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
        { key: 'SupportedFeatureProfiles', readonly: true, value: options.smartCharging === false ? 'Core,RemoteTrigger' : 'Core,SmartCharging,RemoteTrigger' },
      ],
    }));
    c.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
    c.handle('TriggerMessage', () => ({ status: 'Accepted' }));
    c.handle('ClearChargingProfile', ({ params }: { params: any }) => {
      const { kept, cleared } = clearProfiles(this.profiles, { connectorId: params.connectorId, purpose: params.chargingProfilePurpose, id: params.id });
      this.profiles = kept;
      this.changed();
      return { status: cleared > 0 ? 'Accepted' : 'Unknown' };
    });
    c.handle('SetChargingProfile', ({ params }: { params: any }) => {
      this.setCalls.push(params);
      this.setCallLog.push({ atMs: Date.now(), params });
      if (this.mode === 'not-supported') return { status: 'NotSupported' };
      if (this.mode === 'not-implemented') throw createRPCError('NotImplemented', 'no smart charging');
      if (this.mode === 'silent') return new Promise(() => undefined);
      const installed = this.install(params);
      if (installed) this.changed();
      const status = installed ? 'Accepted' : 'Rejected';
      if (!this.beforeAnswer) return { status };
      return Promise.resolve(this.beforeAnswer(params)).then(() => ({ status }));
    });
  }

  private changed(): void {
    for (const listener of this.onChange) listener();
  }

  get connectors(): number {
    return this.options.connectors ?? 1;
  }

  get maxA(): number {
    return this.options.maxA ?? 32;
  }

  nowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private install(req: any): boolean {
    const p = req.csChargingProfiles;
    if (p.chargingProfilePurpose === 'TxProfile' && (req.connectorId === 0 || this.tx.get(req.connectorId)?.transactionId !== p.transactionId)) return false;
    if (p.chargingProfilePurpose === 'ChargePointMaxProfile' && req.connectorId !== 0) return false;
    this.profiles = installProfile(this.profiles, {
      id: p.chargingProfileId,
      connectorId: req.connectorId,
      purpose: p.chargingProfilePurpose,
      stackLevel: p.stackLevel,
      kind: p.chargingProfileKind,
      ...(p.transactionId === undefined ? {} : { transactionId: p.transactionId }),
      ...(p.chargingSchedule.startSchedule ? { startScheduleMs: Date.parse(p.chargingSchedule.startSchedule) } : {}),
      ...(p.chargingSchedule.duration === undefined ? {} : { durationS: p.chargingSchedule.duration }),
      unit: p.chargingSchedule.chargingRateUnit,
      periods: p.chargingSchedule.chargingSchedulePeriod,
      receivedAtMs: this.nowMs(),
    });
    return true;
  }

  async connect(): Promise<void> {
    await this.client.connect();
    await this.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'Stack-1' });
    for (let c = 1; c <= this.connectors; c++) await this.status(c, 'Available');
  }

  /**
   * The link came back (the central system restarted): connects again without booting, as a
   * charger does after a dropped WebSocket; it keeps its profiles and transactions and reports its
   * connectors again.
   */
  async reconnect(endpoint?: string): Promise<void> {
    if (endpoint) this.client.reconfigure({ endpoint });
    await this.client.connect();
    for (let c = 1; c <= this.connectors; c++) await this.status(c, this.tx.has(c) ? 'Charging' : 'Available');
  }

  async status(connectorId: number, status: string): Promise<void> {
    await this.client.call('StatusNotification', { connectorId, errorCode: 'NoError', status, timestamp: new Date(this.nowMs()).toISOString() });
  }

  /** Plugs a car in with a tag; returns the EMS's answer. The charger starts only when accepted. */
  async start(connectorId: number, idTag: string): Promise<{ transactionId: number; status: string }> {
    await this.status(connectorId, 'Preparing');
    const answer = await this.client.call('StartTransaction', { connectorId, idTag, meterStart: 0, timestamp: new Date(this.nowMs()).toISOString() });
    const status = answer.idTagInfo.status;
    if (status === 'Accepted') {
      this.tx.set(connectorId, { transactionId: answer.transactionId, startMs: this.nowMs() });
      await this.status(connectorId, 'Charging');
    } else {
      // A charger that honours the answer stops at once (DeAuthorized) and frees the connector.
      await this.client.call('StopTransaction', { transactionId: answer.transactionId, meterStop: 0, timestamp: new Date(this.nowMs()).toISOString(), reason: 'DeAuthorized' });
      await this.status(connectorId, 'Available');
    }
    return { transactionId: answer.transactionId, status };
  }

  async meter(connectorId: number, currentA: number): Promise<void> {
    await this.client.call('MeterValues', {
      connectorId,
      transactionId: this.tx.get(connectorId)?.transactionId,
      meterValue: [
        {
          timestamp: new Date(this.nowMs()).toISOString(),
          sampledValue: [1, 2, 3].map((phase) => ({ value: currentA.toFixed(1), measurand: 'Current.Import', phase: `L${phase}`, unit: 'A' })),
        },
      ],
    });
  }

  /** What one connector lets a car draw at `atMs` (the charger's clock), A per phase. */
  connectorA(connectorId: number, atMs = this.nowMs()): number {
    const tx = this.tx.get(connectorId);
    const own = connectorLimitA(this.profiles, atMs, { connectorId, transactionId: tx?.transactionId, txStartMs: tx?.startMs, voltageV: 230, phases: 3 });
    return Math.min(this.maxA, own, chargerLimitA(this.profiles, atMs, 230, 3));
  }

  /** What the whole charger lets its cars draw at `atMs`, A per phase (sum over connectors). */
  totalA(atMs = this.nowMs()): number {
    let sum = 0;
    for (let c = 1; c <= this.connectors; c++) sum += this.connectorA(c, atMs);
    return Math.min(sum, chargerLimitA(this.profiles, atMs, 230, 3));
  }

  /** Every moment from `fromMs` on where what it holds can change. */
  boundaries(fromMs = this.nowMs()): number[] {
    const times = [fromMs];
    for (const p of this.profiles) {
      if (p.durationS === undefined) continue;
      const endMs = (p.startScheduleMs ?? p.receivedAtMs) + p.durationS * 1000;
      if (endMs >= fromMs) times.push(endMs, endMs + 1);
    }
    times.push(fromMs + 24 * 3_600_000);
    return times;
  }

  async close(): Promise<void> {
    await this.client.close({ force: true });
  }
}
