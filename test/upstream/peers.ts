// Independent peers for the local-controller tests, plain ocpp-rpc in strict mode (they share no
// code with src/): a cloud CSMS that chargers could connect to directly, and strict chargers (1.6J
// and 2.0.1) that keep the profiles they are sent and compute their own composite limit.
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import ocppRpc from 'ocpp-rpc';

const { RPCServer, RPCClient, createRPCError, NOREPLY } = ocppRpc as unknown as {
  RPCServer: new (options: Record<string, unknown>) => any;
  RPCClient: new (options: Record<string, unknown>) => any;
  createRPCError: (code: string, message?: string) => Error;
  NOREPLY: symbol;
};

export interface Received {
  identity: string;
  action: string;
  params: any;
}

/** A cloud CSMS: assigns 1.6 transaction ids from 9001, accepts the tags it knows, records everything. */
export class TestCsms {
  readonly received: Received[] = [];
  /** Every frame the CSMS got, as text (what the EMS put on the wire). */
  readonly frames: { identity: string; text: string }[] = [];
  readonly clients = new Map<string, any>();
  readonly refusedHandshakes: { identity: string; status: number }[] = [];
  /** identity → password; an identity not listed connects without one. */
  passwords = new Map<string, string>();
  acceptedTags = new Set(['CLOUD01', 'FLEET01']);
  nextTransactionId = 9001;
  /** Answers of the CSMS, by action (defaults below). */
  answers: Record<string, (params: any, identity: string) => any> = {};
  /** Answers sent as they are, past the CSMS's own strict validation (a broken CSMS), by action. */
  rawAnswers: Record<string, (params: any) => unknown> = {};
  port = 0;
  /** PEM certificate and key: the CSMS serves wss:// (Security Profile 2 with a password); with `ca` and `requestCert` it wants a client certificate (Profile 3). */
  tls: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean } | undefined;
  private http: Server | undefined;
  private rpc: any;

  async start(port = 0): Promise<void> {
    this.rpc = new RPCServer({ protocols: ['ocpp1.6', 'ocpp2.0.1'], strictMode: true });
    this.rpc.auth((accept: (s: unknown) => void, reject: (code: number, message: string) => void, handshake: any) => {
      const want = this.passwords.get(handshake.identity);
      if (want !== undefined && handshake.password?.toString('utf8') !== want) {
        this.refusedHandshakes.push({ identity: handshake.identity, status: 401 });
        reject(401, 'Unauthorized');
        return;
      }
      accept({});
    });
    this.rpc.on('client', (client: any) => {
      this.clients.set(client.identity, client);
      client.on('message', ({ message, outbound }: { message: unknown; outbound: boolean }) => {
        if (!outbound) this.frames.push({ identity: client.identity, text: String(message) });
      });
      client.on('close', () => {
        if (this.clients.get(client.identity) === client) this.clients.delete(client.identity);
      });
      client.handle(({ method, params, messageId }: { method: string; params: any; messageId: string }) => {
        this.received.push({ identity: client.identity, action: method, params });
        const raw = this.rawAnswers[method];
        if (raw) {
          client.sendRaw(JSON.stringify([3, messageId, raw(params)]));
          return NOREPLY;
        }
        return this.answer(method, params, client.identity, client.protocol);
      });
    });
    this.http = this.tls ? createTlsServer(this.tls, (_req, res) => res.writeHead(404).end()) : createServer((_req, res) => res.writeHead(404).end());
    this.http.on('upgrade', this.rpc.handleUpgrade);
    await new Promise<void>((resolve) => this.http!.listen(port, '127.0.0.1', () => resolve()));
    this.port = (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.tls ? 'wss' : 'ws'}://127.0.0.1:${this.port}/cloud`;
  }

  private answer(method: string, params: any, identity: string, protocol: string): any {
    const custom = this.answers[method];
    if (custom) return custom(params, identity);
    const now = new Date().toISOString();
    const tag = (status: boolean) => ({ status: status ? 'Accepted' : 'Invalid' });
    if (protocol === 'ocpp2.0.1') {
      switch (method) {
        case 'BootNotification':
          return { currentTime: now, interval: 123, status: 'Accepted' };
        case 'Heartbeat':
          return { currentTime: now };
        case 'Authorize':
          return { idTokenInfo: tag(this.acceptedTags.has(params.idToken.idToken)) };
        case 'TransactionEvent':
          return params.idToken ? { idTokenInfo: tag(this.acceptedTags.has(params.idToken.idToken)) } : {};
        case 'DataTransfer':
          return { status: 'Accepted', data: 'from-csms' };
        default:
          return {};
      }
    }
    switch (method) {
      case 'BootNotification':
        return { currentTime: now, interval: 123, status: 'Accepted' };
      case 'Heartbeat':
        return { currentTime: now };
      case 'Authorize':
        return { idTagInfo: tag(this.acceptedTags.has(params.idTag)) };
      case 'StartTransaction':
        return { transactionId: this.nextTransactionId++, idTagInfo: tag(this.acceptedTags.has(params.idTag)) };
      case 'StopTransaction':
        return params.idTag ? { idTagInfo: tag(true) } : {};
      case 'DataTransfer':
        return { status: 'Accepted', data: 'from-csms' };
      default:
        return {};
    }
  }

  /** A CALL from the CSMS to a charger (through whatever it is connected to). */
  call(identity: string, action: string, params: unknown): Promise<any> {
    const client = this.clients.get(identity);
    if (!client) throw new Error(`${identity} is not connected to the CSMS`);
    return client.call(action, params);
  }

  from(identity: string, action?: string): Received[] {
    return this.received.filter((r) => r.identity === identity && (action === undefined || r.action === action));
  }

  async stop(): Promise<void> {
    await this.rpc?.close({ code: 1001, force: true });
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.clients.clear();
  }
}

interface HeldProfile {
  connectorId: number;
  id: number;
  stackLevel: number;
  purpose: string;
  startMs?: number;
  durationS?: number;
  periods: { startPeriod: number; limit: number }[];
}

/** The charger's own composite limit (A) on a connector at a moment: min of max and Tx/TxDefault purposes. */
function composite(profiles: HeldProfile[], connectorId: number, atMs: number): number {
  const inForce = (p: HeldProfile) => {
    const startMs = p.startMs ?? -Infinity;
    if (atMs < startMs) return undefined;
    if (p.durationS !== undefined && atMs >= startMs + p.durationS * 1000) return undefined;
    const offsetS = (atMs - startMs) / 1000;
    return [...p.periods].filter((x) => x.startPeriod <= offsetS || !Number.isFinite(offsetS)).at(-1)?.limit;
  };
  const top = (list: HeldProfile[]) => {
    const live = list.map((p) => ({ p, limit: inForce(p) })).filter((x) => x.limit !== undefined);
    live.sort((a, b) => b.p.stackLevel - a.p.stackLevel);
    return live[0]?.limit;
  };
  const max = top(profiles.filter((p) => p.purpose.endsWith('MaxProfile') && p.connectorId === 0)) ?? Infinity;
  const tx =
    top(profiles.filter((p) => p.purpose === 'TxProfile' && p.connectorId === connectorId)) ??
    top(profiles.filter((p) => p.purpose === 'TxDefaultProfile' && p.connectorId === connectorId)) ??
    top(profiles.filter((p) => p.purpose === 'TxDefaultProfile' && p.connectorId === 0)) ??
    Infinity;
  return Math.min(max, tx);
}

/** Answers a strict charger gives to calls the CSMS may forward (valid per the official schemas). */
export const CHARGER_ANSWERS_16: Record<string, any> = {
  RemoteStartTransaction: { status: 'Accepted' },
  RemoteStopTransaction: { status: 'Accepted' },
  Reset: { status: 'Accepted' },
  UnlockConnector: { status: 'Unlocked' },
  ChangeConfiguration: { status: 'Accepted' },
  ChangeAvailability: { status: 'Accepted' },
  ClearCache: { status: 'Accepted' },
  TriggerMessage: { status: 'Accepted' },
  DataTransfer: { status: 'Accepted', data: 'from-charger' },
  GetDiagnostics: { fileName: 'diag.log' },
  UpdateFirmware: {},
  SendLocalList: { status: 'Accepted' },
  GetLocalListVersion: { listVersion: 7 },
  ReserveNow: { status: 'Accepted' },
  CancelReservation: { status: 'Accepted' },
  ClearChargingProfile: { status: 'Accepted' },
};

export const CHARGER_ANSWERS_201: Record<string, any> = {
  RequestStartTransaction: { status: 'Accepted' },
  RequestStopTransaction: { status: 'Accepted' },
  Reset: { status: 'Accepted' },
  UnlockConnector: { status: 'Unlocked' },
  ChangeAvailability: { status: 'Accepted' },
  ClearCache: { status: 'Accepted' },
  TriggerMessage: { status: 'Accepted' },
  DataTransfer: { status: 'Accepted', data: 'from-charger' },
  GetLocalListVersion: { versionNumber: 7 },
  SendLocalList: { status: 'Accepted' },
  ReserveNow: { status: 'Accepted' },
  CancelReservation: { status: 'Accepted' },
  UpdateFirmware: { status: 'Accepted' },
  GetLog: { status: 'Accepted' },
  GetBaseReport: { status: 'Accepted' },
  ClearChargingProfile: { status: 'Accepted' },
};

const variableKey = (d: any) => [d.component.name, d.variable.name, ...(d.variable.instance ? [d.variable.instance] : [])].join('/');
const READ_ONLY_VARIABLES = new Set(['SmartChargingCtrlr/ProfileStackLevel', 'SmartChargingCtrlr/RateUnit', 'SmartChargingCtrlr/PeriodsPerSchedule']);

/** A strict charger (1.6J or 2.0.1) that holds the profiles it is sent and computes its composite limit. */
export class StrictCharger {
  readonly received: { action: string; params: any }[] = [];
  readonly profiles: HeldProfile[] = [];
  readonly client: any;
  readonly activeTx = new Map<number, string | number>();
  private seqNo = 0;
  /** The charger's clock (the tests run the EMS on a manual clock). */
  nowMs: () => number = () => Date.now();
  /** 2.0.1 device model: "Component/Variable[/instance]" → value. */
  readonly variables = new Map<string, string>([
    ['SmartChargingCtrlr/ProfileStackLevel', '3'],
    ['SmartChargingCtrlr/RateUnit', 'A'],
    ['SmartChargingCtrlr/PeriodsPerSchedule', '24'],
    ['OCPPCommCtrlr/HeartbeatInterval', '300'],
    ['OCPPCommCtrlr/MessageAttempts/TransactionEvent', '3'],
    ['SampledDataCtrlr/TxUpdatedMeasurands', 'Energy.Active.Import.Register'],
    ['SampledDataCtrlr/TxUpdatedInterval', '60'],
    ['AuthCtrlr/LocalPreAuthorize', 'false'],
  ]);

  constructor(
    port: number,
    readonly identity: string,
    readonly protocol: 'ocpp1.6' | 'ocpp2.0.1',
    options: { password?: string } = {},
  ) {
    this.client = new RPCClient({
      endpoint: `ws://127.0.0.1:${port}/ocpp`,
      identity,
      protocols: [protocol],
      strictMode: true,
      reconnect: false,
      callTimeoutMs: 10_000,
      ...(options.password ? { password: options.password } : {}),
    });
    this.client.handle(({ method, params }: { method: string; params: any }) => {
      this.received.push({ action: method, params });
      return this.answer(method, params);
    });
  }

  private answer(method: string, params: any): any {
    const is16 = this.protocol === 'ocpp1.6';
    switch (method) {
      case 'GetConfiguration':
        if (params.key?.includes('ChargeProfileMaxStackLevel')) {
          return {
            configurationKey: [
              { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '3' },
              { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
              { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
            ],
          };
        }
        return { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }], unknownKey: [] };
      case 'GetVariables':
        return {
          getVariableResult: params.getVariableData.map((d: any) => {
            const value = this.variables.get(variableKey(d));
            return value === undefined
              ? { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable }
              : { attributeStatus: 'Accepted', attributeValue: value, component: d.component, variable: d.variable };
          }),
        };
      case 'SetVariables':
        return {
          setVariableResult: params.setVariableData.map((d: any) => {
            const key = variableKey(d);
            const status = !this.variables.has(key) ? 'UnknownVariable' : READ_ONLY_VARIABLES.has(key) ? 'Rejected' : 'Accepted';
            if (status === 'Accepted') this.variables.set(key, d.attributeValue);
            return { attributeStatus: status, component: d.component, variable: d.variable };
          }),
        };
      case 'SetChargingProfile': {
        const p = is16 ? params.csChargingProfiles : params.chargingProfile;
        const connectorId = is16 ? params.connectorId : params.evseId;
        const schedule = is16 ? p.chargingSchedule : p.chargingSchedule[0];
        if (p.chargingProfilePurpose === 'TxProfile' && String(this.activeTx.get(connectorId)) !== String(p.transactionId)) return { status: 'Rejected' };
        if (p.chargingProfilePurpose.endsWith('MaxProfile') && connectorId !== 0) return { status: 'Rejected' };
        const id = is16 ? p.chargingProfileId : p.id;
        const held: HeldProfile = {
          connectorId,
          id,
          stackLevel: p.stackLevel,
          purpose: p.chargingProfilePurpose,
          periods: schedule.chargingSchedulePeriod,
          ...(schedule.startSchedule ? { startMs: Date.parse(schedule.startSchedule) } : {}),
          ...(schedule.duration !== undefined ? { durationS: schedule.duration } : {}),
        };
        const rest = this.profiles.filter((h) => h.id !== id && !(h.connectorId === connectorId && h.purpose === held.purpose && h.stackLevel === held.stackLevel));
        this.profiles.splice(0, this.profiles.length, ...rest, held);
        return { status: 'Accepted' };
      }
      case 'ClearChargingProfile': {
        const before = this.profiles.length;
        const criteria = is16 ? params : (params.chargingProfileCriteria ?? {});
        const connectorId = is16 ? criteria.connectorId : criteria.evseId;
        const rest = this.profiles.filter(
          (h) => !((connectorId === undefined || h.connectorId === connectorId) && (criteria.chargingProfilePurpose === undefined || h.purpose === criteria.chargingProfilePurpose)),
        );
        this.profiles.splice(0, this.profiles.length, ...rest);
        return { status: before !== rest.length ? 'Accepted' : 'Unknown' };
      }
      case 'ChangeConfiguration':
        return { status: 'Accepted' };
      case 'TriggerMessage':
        return { status: 'Accepted' };
      case 'GetCompositeSchedule': {
        const connectorId = is16 ? params.connectorId : params.evseId;
        const limit = this.limitA(connectorId, this.nowMs());
        if (!Number.isFinite(limit)) return { status: 'Rejected' };
        const schedule = { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] };
        return is16
          ? { status: 'Accepted', connectorId, scheduleStart: new Date(this.nowMs()).toISOString(), chargingSchedule: { duration: params.duration, ...schedule } }
          : { status: 'Accepted', schedule: { evseId: connectorId, duration: params.duration, scheduleStart: new Date(this.nowMs()).toISOString(), ...schedule } };
      }
      default: {
        const table = is16 ? CHARGER_ANSWERS_16 : CHARGER_ANSWERS_201;
        if (table[method]) return table[method];
        throw createRPCError('NotImplemented', `not implemented: ${method}`);
      }
    }
  }

  /** The charger's own composite limit on a connector, A (Infinity when nothing binds it). */
  limitA(connectorId: number, atMs: number): number {
    return composite(this.profiles, connectorId, atMs);
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  call(action: string, params: unknown): Promise<any> {
    return this.client.call(action, params);
  }

  boot(): Promise<any> {
    return this.protocol === 'ocpp1.6'
      ? this.call('BootNotification', { chargePointVendor: 'Strict', chargePointModel: 'Relay-16' })
      : this.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'Relay-201', vendorName: 'Strict' } });
  }

  /** 1.6 StartTransaction; the id the charger keeps is the one it is answered. */
  async start16(connectorId: number, idTag: string, timestamp: string, meterStart = 1000): Promise<any> {
    const conf = await this.call('StartTransaction', { connectorId, idTag, meterStart, timestamp });
    this.activeTx.set(connectorId, conf.transactionId);
    return conf;
  }

  async stop16(connectorId: number, timestamp: string, meterStop: number): Promise<any> {
    const conf = await this.call('StopTransaction', { transactionId: this.activeTx.get(connectorId), meterStop, timestamp, reason: 'Local' });
    this.activeTx.delete(connectorId);
    return conf;
  }

  meter16(connectorId: number, timestamp: string, energyWh: number): Promise<any> {
    return this.call('MeterValues', {
      connectorId,
      transactionId: this.activeTx.get(connectorId),
      meterValue: [{ timestamp, sampledValue: [{ value: String(energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
    });
  }

  transactionEvent(eventType: 'Started' | 'Updated' | 'Ended', transactionId: string, timestamp: string, extra: Record<string, unknown> = {}): Promise<any> {
    if (eventType === 'Started' && (extra.evse as any)?.id) this.activeTx.set((extra.evse as any).id, transactionId);
    if (eventType === 'Ended') for (const [evse, tx] of this.activeTx) if (tx === transactionId) this.activeTx.delete(evse);
    return this.call('TransactionEvent', {
      eventType,
      timestamp,
      triggerReason: eventType === 'Started' ? 'CablePluggedIn' : eventType === 'Ended' ? 'StopAuthorized' : 'MeterValuePeriodic',
      seqNo: this.seqNo++,
      transactionInfo: { transactionId },
      ...extra,
    });
  }

  close(): Promise<void> {
    return this.client.close({ force: true });
  }
}
