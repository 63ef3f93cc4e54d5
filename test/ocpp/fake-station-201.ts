// An independent OCPP 2.0.1 charging station for tests: a plain ocpp-rpc RPCClient in strict mode
// that records every CALL it receives and answers like a station with smart charging.
import { EventEmitter } from 'node:events';
import ocppRpc from 'ocpp-rpc';

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
        return { status: 'Accepted' };
      }
      case 'ClearChargingProfile':
        return { status: 'Accepted' };
      case 'TriggerMessage':
        return { status: 'Accepted' };
      default:
        throw Object.assign(new Error(`not implemented: ${method}`), { rpcErrorCode: 'NotImplemented' });
    }
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

  waitForCall(action: string, filter: (params: any) => boolean = () => true, timeoutMs = 5_000): Promise<StationCall> {
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
