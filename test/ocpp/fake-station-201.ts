// An independent OCPP 2.0.1 charging station for tests: a plain ocpp-rpc RPCClient in strict mode
// that records every CALL it receives and answers like a station with smart charging.
import { EventEmitter } from 'node:events';
import ocppRpc from 'ocpp-rpc';
import { chargerLimitA, clearProfiles, connectorLimitA, installProfile, type InstalledProfile } from '../../src/demo/profile-stack.ts';

const RPCClient = ocppRpc.RPCClient as unknown as new (options: Record<string, unknown>) => any;

export interface StationCall {
  action: string;
  params: any;
}

export class FakeStation201 {
  readonly calls: StationCall[] = [];
  readonly activeTx = new Map<number, string>();
  readonly profiles = new Map<number, { evseId: number; profile: any }>();
  readonly events = new EventEmitter();
  readonly client: any;
  private seqNo = 0;

  /** 'not-implemented': SetChargingProfile answers CALLERROR NotImplemented; 'disabled': SmartChargingCtrlr.Enabled is false. */
  smartCharging: 'yes' | 'not-implemented' | 'disabled' = 'yes';
  /** false: accepts every profile but lets cars draw its max anyway (and says so in its composite schedule). */
  appliesProfiles = true;
  /** The profiles it keeps, with the K01 replacement rules (same id, or same purpose, stack level and EVSE). */
  installed: InstalledProfile[] = [];
  /** Its max current per EVSE, A per phase. */
  maxA = 32;
  private readonly numericTx = new Map<string, number>();

  constructor(port: number, readonly identity: string, protocols: string[] = ['ocpp2.0.1']) {
    this.client = new RPCClient({ endpoint: `ws://127.0.0.1:${port}/ocpp`, identity, protocols, strictMode: true, reconnect: false, callTimeoutMs: 5_000 });
    this.client.handle(({ method, params }: { method: string; params: any }) => {
      const call = { action: method, params };
      this.calls.push(call);
      this.events.emit('call', call);
      return this.reply(method, params);
    });
  }

  private reply(method: string, params: any): any {
    switch (method) {
      case 'GetVariables':
        return {
          getVariableResult: params.getVariableData.map((d: any) => {
            const values: Record<string, string> = { ProfileStackLevel: '2', RateUnit: 'A,W', PeriodsPerSchedule: '24', Enabled: this.smartCharging === 'disabled' ? 'false' : 'true' };
            const value = values[d.variable.name];
            return value === undefined
              ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
              : { attributeStatus: 'Accepted', attributeValue: value, component: d.component, variable: d.variable };
          }),
        };
      case 'SetVariables':
        return { setVariableResult: params.setVariableData.map((d: any) => ({ attributeStatus: 'Accepted', component: d.component, variable: d.variable })) };
      case 'SetChargingProfile': {
        if (this.smartCharging === 'not-implemented') throw Object.assign(new Error('no smart charging'), { rpcErrorCode: 'NotImplemented' });
        const p = params.chargingProfile;
        if (p.chargingProfilePurpose === 'ChargingStationMaxProfile' && params.evseId !== 0) return { status: 'Rejected' };
        if (p.chargingProfilePurpose === 'TxProfile' && this.activeTx.get(params.evseId) !== p.transactionId) return { status: 'Rejected' };
        this.profiles.set(p.id, { evseId: params.evseId, profile: p });
        const schedule = p.chargingSchedule[0];
        this.installed = installProfile(this.installed, {
          id: p.id,
          connectorId: params.evseId,
          purpose: p.chargingProfilePurpose === 'ChargingStationMaxProfile' ? 'ChargePointMaxProfile' : p.chargingProfilePurpose,
          stackLevel: p.stackLevel,
          kind: p.chargingProfileKind,
          ...(p.transactionId === undefined ? {} : { transactionId: this.txNumber(p.transactionId) }),
          ...(schedule.startSchedule ? { startScheduleMs: Date.parse(schedule.startSchedule) } : {}),
          ...(schedule.duration === undefined ? {} : { durationS: schedule.duration }),
          unit: schedule.chargingRateUnit,
          periods: schedule.chargingSchedulePeriod,
          receivedAtMs: Date.now(),
        });
        return { status: 'Accepted' };
      }
      case 'ClearChargingProfile': {
        const criteria = params.chargingProfileCriteria ?? {};
        const purpose = criteria.chargingProfilePurpose === 'ChargingStationMaxProfile' ? 'ChargePointMaxProfile' : criteria.chargingProfilePurpose;
        const { kept, cleared } = clearProfiles(this.installed, { connectorId: criteria.evseId, purpose, id: params.chargingProfileId });
        this.installed = kept;
        return { status: cleared > 0 ? 'Accepted' : 'Unknown' };
      }
      case 'GetCompositeSchedule': {
        // K08: what the EVSE will let a car draw from now over `duration`, in A, one period per change.
        const nowMs = Date.now();
        const times = [nowMs, ...this.installed.flatMap((p) => (p.durationS === undefined ? [] : [(p.startScheduleMs ?? p.receivedAtMs) + p.durationS * 1000]))]
          .filter((t) => t >= nowMs && t < nowMs + params.duration * 1000)
          .sort((a, b) => a - b);
        const periods: { startPeriod: number; limit: number; numberPhases: number }[] = [];
        for (const t of times) {
          const limit = Math.round(this.evseA(params.evseId, t) * 10) / 10;
          if (periods.at(-1)?.limit !== limit) periods.push({ startPeriod: Math.round((t - nowMs) / 1000), limit, numberPhases: 3 });
        }
        return {
          status: 'Accepted',
          schedule: { evseId: params.evseId, duration: params.duration, scheduleStart: new Date(nowMs).toISOString(), chargingRateUnit: 'A', chargingSchedulePeriod: periods },
        };
      }
      case 'TriggerMessage':
        return { status: 'Accepted' };
      default:
        throw Object.assign(new Error(`not implemented: ${method}`), { rpcErrorCode: 'NotImplemented' });
    }
  }

  private txNumber(transactionId: string): number {
    if (!this.numericTx.has(transactionId)) this.numericTx.set(transactionId, this.numericTx.size + 1);
    return this.numericTx.get(transactionId)!;
  }

  /** What one EVSE lets a car draw at `atMs`, A per phase (its max for a station that ignores profiles). */
  evseA(evseId: number, atMs = Date.now()): number {
    if (!this.appliesProfiles) return this.maxA;
    const tx = this.activeTx.get(evseId);
    const own = connectorLimitA(this.installed, atMs, { connectorId: evseId, transactionId: tx === undefined ? undefined : this.txNumber(tx), voltageV: 230, phases: 3 });
    return Math.min(this.maxA, own, chargerLimitA(this.installed, atMs, 230, 3));
  }

  get protocol(): string {
    return this.client.protocol;
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  boot(): Promise<any> {
    return this.client.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'Fake-201', vendorName: 'Test' } });
  }

  call(action: string, params: any): Promise<any> {
    return this.client.call(action, params);
  }

  transactionEvent(eventType: 'Started' | 'Updated' | 'Ended', transactionId: string, extra: Record<string, unknown> = {}): Promise<any> {
    if (eventType === 'Started' && (extra.evse as any)?.id) this.activeTx.set((extra.evse as any).id, transactionId);
    if (eventType === 'Ended') for (const [evse, tx] of this.activeTx) if (tx === transactionId) this.activeTx.delete(evse);
    return this.client.call('TransactionEvent', {
      eventType,
      timestamp: new Date().toISOString(),
      triggerReason: eventType === 'Started' ? 'CablePluggedIn' : eventType === 'Ended' ? 'EVCommunicationLost' : 'MeterValuePeriodic',
      seqNo: this.seqNo++,
      transactionInfo: { transactionId },
      ...extra,
    });
  }

  received(action: string, filter: (params: any) => boolean = () => true): StationCall[] {
    return this.calls.filter((c) => c.action === action && filter(c.params));
  }

  waitForCall(action: string, filter: (params: any) => boolean = () => true, timeoutMs = 15_000): Promise<StationCall> {
    const seen = this.received(action, filter)[0];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.identity}: no ${action} within ${timeoutMs} ms`)), timeoutMs);
      const onCall = (call: StationCall) => {
        if (call.action !== action || !filter(call.params)) return;
        clearTimeout(timer);
        this.events.off('call', onCall);
        resolve(call);
      };
      this.events.on('call', onCall);
    });
  }

  close(): Promise<void> {
    return this.client.close({ force: true });
  }
}
