// An independent OCPP 1.6J charger for tests: a plain ocpp-rpc RPCClient in strict mode (it shares
// no code with src/ocpp) that records every CALL it receives, in order of receipt, and answers the
// way a charger with smart charging does (no TxProfile without its transaction, ChargePointMaxProfile
// only on connector 0, profiles replace each other by id).
import { EventEmitter } from 'node:events';
import ocppRpc from 'ocpp-rpc';

const RPCClient = ocppRpc.RPCClient as unknown as new (options: Record<string, unknown>) => any;

export interface ReceivedCall {
  action: string;
  params: any;
  /** Global receipt order across every fake charger in the process. */
  seq: number;
  atMs: number;
  /** Receipt order value at the moment the answer went out. */
  answeredSeq?: number;
}

let globalSeq = 0;

export interface FakeChargerOptions {
  port: number;
  identity: string;
  password?: string;
  scheme?: 'ws' | 'wss';
  wsOpts?: Record<string, unknown>;
  connectors?: number;
  /** GetConfiguration answer; default: the four smart-charging keys, unit Current. */
  configuration?: { key: string; readonly: boolean; value?: string }[];
  /** Answer for MeterValuesSampledData values; default Accepted. */
  sampledDataAnswer?: (value: string) => 'Accepted' | 'Rejected' | 'NotSupported';
  /** Hold the SetChargingProfile answer until the returned promise settles. */
  profileGate?: (params: any) => Promise<void> | undefined;
  /** Override the SetChargingProfile answer; 'silent' never answers. */
  profileAnswer?: (params: any) => 'Accepted' | 'Rejected' | 'NotSupported' | 'silent' | undefined;
  /** Override the TriggerMessage answer; 'callerror' answers CALLERROR NotImplemented, 'silent' never answers. Default Accepted. */
  triggerAnswer?: (params: any) => 'Accepted' | 'Rejected' | 'NotImplemented' | 'callerror' | 'silent' | undefined;
}

export const SMART_CHARGING_CONFIGURATION = [
  { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' },
  { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
  { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
  { key: 'MaxChargingProfilesInstalled', readonly: true, value: '16' },
];

export class FakeCharger {
  readonly calls: ReceivedCall[] = [];
  /** Installed profiles by chargingProfileId. */
  readonly profiles = new Map<number, { connectorId: number; profile: any }>();
  readonly activeTx = new Map<number, number>();
  readonly events = new EventEmitter();
  readonly client: any;
  options: FakeChargerOptions;

  constructor(options: FakeChargerOptions) {
    this.options = options;
    this.client = new RPCClient({
      endpoint: `${options.scheme ?? 'ws'}://127.0.0.1:${options.port}/ocpp`,
      identity: options.identity,
      ...(options.password ? { password: options.password } : {}),
      protocols: ['ocpp1.6'],
      strictMode: true,
      reconnect: false,
      callTimeoutMs: 5_000,
      ...(options.wsOpts ? { wsOpts: options.wsOpts } : {}),
    });
    this.client.handle(({ method, params }: { method: string; params: any }) => this.answer(method, params));
  }

  private record(action: string, params: any): ReceivedCall {
    const call: ReceivedCall = { action, params, seq: ++globalSeq, atMs: performance.now() };
    this.calls.push(call);
    this.events.emit('call', call);
    return call;
  }

  private answer(method: string, params: any): any {
    const call = this.record(method, params);
    const gate = method === 'SetChargingProfile' ? this.options.profileGate?.(params) : undefined;
    if (gate) {
      return gate.then(() => {
        const result = this.reply(method, params);
        call.answeredSeq = ++globalSeq;
        return result;
      });
    }
    const result = this.reply(method, params);
    call.answeredSeq = ++globalSeq;
    return result;
  }

  private reply(method: string, params: any): any {
    switch (method) {
      case 'GetConfiguration':
        return { configurationKey: this.options.configuration ?? SMART_CHARGING_CONFIGURATION };
      case 'ChangeConfiguration':
        return { status: params.key === 'MeterValuesSampledData' ? (this.options.sampledDataAnswer?.(params.value) ?? 'Accepted') : 'Accepted' };
      case 'SetChargingProfile': {
        const override = this.options.profileAnswer?.(params);
        if (override === 'silent') return new Promise(() => undefined);
        if (override) return { status: override };
        const p = params.csChargingProfiles;
        if (p.chargingProfilePurpose === 'ChargePointMaxProfile' && params.connectorId !== 0) return { status: 'Rejected' };
        if (p.chargingProfilePurpose === 'TxProfile' && (params.connectorId === 0 || this.activeTx.get(params.connectorId) !== p.transactionId)) {
          return { status: 'Rejected' };
        }
        this.profiles.set(p.chargingProfileId, { connectorId: params.connectorId, profile: p });
        return { status: 'Accepted' };
      }
      case 'TriggerMessage': {
        const answer = this.options.triggerAnswer?.(params) ?? 'Accepted';
        if (answer === 'silent') return new Promise(() => undefined);
        if (answer === 'callerror') throw Object.assign(new Error('TriggerMessage not implemented'), { rpcErrorCode: 'NotImplemented' });
        return { status: answer };
      }
      case 'ClearChargingProfile': {
        let cleared = 0;
        for (const [id, entry] of this.profiles) {
          if (params.id !== undefined && id !== params.id) continue;
          if (params.connectorId !== undefined && entry.connectorId !== params.connectorId) continue;
          if (params.chargingProfilePurpose !== undefined && entry.profile.chargingProfilePurpose !== params.chargingProfilePurpose) continue;
          this.profiles.delete(id);
          cleared++;
        }
        return { status: cleared ? 'Accepted' : 'Unknown' };
      }
      default:
        throw Object.assign(new Error(`not implemented: ${method}`), { rpcErrorCode: 'NotImplemented' });
    }
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async boot(): Promise<any> {
    return this.client.call('BootNotification', { chargePointVendor: 'Test', chargePointModel: 'Fake-1' });
  }

  call(action: string, params: any): Promise<any> {
    return this.client.call(action, params);
  }

  async startTransaction(connectorId: number, idTag: string, meterStart = 1000, timestamp = new Date().toISOString()): Promise<number> {
    const conf = await this.client.call('StartTransaction', { connectorId, idTag, meterStart, timestamp });
    this.activeTx.set(connectorId, conf.transactionId);
    return conf.transactionId;
  }

  async stopTransaction(transactionId: number, meterStop = 5000): Promise<any> {
    for (const [connectorId, tx] of this.activeTx) if (tx === transactionId) this.activeTx.delete(connectorId);
    return this.client.call('StopTransaction', { transactionId, meterStop, timestamp: new Date().toISOString(), reason: 'EVDisconnected' });
  }

  received(action: string, filter: (params: any) => boolean = () => true): ReceivedCall[] {
    return this.calls.filter((c) => c.action === action && filter(c.params));
  }

  /** Resolves once a CALL matching the predicate has been received (already, or within the deadline). */
  waitForCall(action: string, filter: (params: any) => boolean = () => true, timeoutMs = 15_000): Promise<ReceivedCall> {
    const seen = this.received(action, filter)[0];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('call', onCall);
        reject(new Error(`${this.options.identity}: no ${action} matching the filter within ${timeoutMs} ms; got ${this.calls.map((c) => c.action).join(', ')}`));
      }, timeoutMs);
      const onCall = (call: ReceivedCall) => {
        if (call.action !== action || !filter(call.params)) return;
        clearTimeout(timer);
        this.events.off('call', onCall);
        resolve(call);
      };
      this.events.on('call', onCall);
    });
  }

  async close(): Promise<void> {
    await this.client.close({ force: true });
  }
}
