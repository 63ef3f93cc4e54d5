// OCPP 2.0.1 station ↔ OCPP 1.6J CSMS: pure translation of the frames the local controller relays
// (docs/local-controller.md, "Protocol translation"), the reverse of translate-16-201.ts. The
// station names its transactions (strings); the 1.6 CSMS assigns an integer id when it gets the
// StartTransaction, and the relay maps the two (upstream_transactions). A 2.0.1 transaction may
// start before its driver is authorized; a 1.6 transaction starts with an idTag, so the
// StartTransaction goes up with the first event that names the idToken. Every function is pure;
// what is not translated returns undefined / [] and the caller answers it itself (station frames)
// or refuses it (CSMS calls).
import { changeConfigurationTo16, changeConfigurationTo201, getConfigurationTo16, getConfigurationTo201 } from './configuration-201-16.ts';
import { optional, type Translated } from './translate-16-201.ts';

/** A CSMS call the relay answers without the station (nothing of it to ask), e.g. GetConfiguration of keys 2.0.1 lacks. */
export interface AnsweredHere {
  answer: unknown;
}

/** Station (2.0.1) actions the CSMS (1.6) gets, translated. */
export const TRANSLATED_FROM_STATION = new Set([
  'BootNotification',
  'Heartbeat',
  'StatusNotification',
  'Authorize',
  'TransactionEvent',
  'MeterValues',
  'DataTransfer',
  'FirmwareStatusNotification',
  'LogStatusNotification',
]);

/** What the relay knows of one station transaction when it translates its next event. */
export interface StationTx {
  /** The CSMS's id, once its StartTransaction was answered. */
  csmsTxId?: number;
  evseId?: number;
  /** The idToken an earlier event named (a 2.0.1 transaction may carry it only once). */
  idTag?: string;
  /** The last energy register the station reported for it, Wh. */
  lastRegisterWh?: number;
  /** The first register and the time of the first event (a transaction no idToken ever named goes up at its end). */
  firstRegisterWh?: number;
  startedAt?: string;
}

/**
 * The 1.6 idTag of a transaction that delivered energy without any idToken 1.6 can carry (none, an
 * empty one as 2.0.1's NoAuthorization type has, or one longer than 20 characters).
 */
export const NO_AUTHORIZATION_ID_TAG = 'NoAuthorization';

/** A 1.6 call; `needsCsmsTxId`: its transactionId is the CSMS's, set once a StartTransaction before it was answered. */
export interface Step extends Translated {
  needsCsmsTxId?: boolean;
}

const MEASURANDS_16 = new Set([
  'Energy.Active.Export.Register',
  'Energy.Active.Import.Register',
  'Energy.Reactive.Export.Register',
  'Energy.Reactive.Import.Register',
  'Energy.Active.Export.Interval',
  'Energy.Active.Import.Interval',
  'Energy.Reactive.Export.Interval',
  'Energy.Reactive.Import.Interval',
  'Power.Active.Export',
  'Power.Active.Import',
  'Power.Offered',
  'Power.Reactive.Export',
  'Power.Reactive.Import',
  'Power.Factor',
  'Current.Import',
  'Current.Export',
  'Current.Offered',
  'Voltage',
  'Frequency',
  'SoC',
]);
const UNITS_16 = new Set(['Wh', 'kWh', 'varh', 'kvarh', 'W', 'kW', 'VA', 'kVA', 'var', 'kvar', 'A', 'V', 'K', 'Celsius', 'Fahrenheit', 'Percent']);

const STOP_REASON_16: Record<string, string> = {
  DeAuthorized: 'DeAuthorized',
  EmergencyStop: 'EmergencyStop',
  EVDisconnected: 'EVDisconnected',
  ImmediateReset: 'HardReset',
  Local: 'Local',
  PowerLoss: 'PowerLoss',
  Reboot: 'Reboot',
  Remote: 'Remote',
};

const FIRMWARE_STATUS_16: Record<string, string> = {
  Downloaded: 'Downloaded',
  DownloadFailed: 'DownloadFailed',
  Downloading: 'Downloading',
  DownloadScheduled: 'Downloading',
  DownloadPaused: 'Downloading',
  Idle: 'Idle',
  InstallationFailed: 'InstallationFailed',
  Installing: 'Installing',
  Installed: 'Installed',
  InstallRebooting: 'Installing',
  InstallScheduled: 'Installing',
  InstallVerificationFailed: 'InstallationFailed',
  InvalidSignature: 'InstallationFailed',
  SignatureVerified: 'Downloaded',
};

const LOG_STATUS_16: Record<string, string> = { Idle: 'Idle', Uploaded: 'Uploaded', Uploading: 'Uploading', AcceptedCanceled: 'Idle' };

/** A 2.0.1 idToken as a 1.6 idTag (at most 20 characters; a longer one has no 1.6 form). */
const idTagOf = (token: any): string | undefined => (typeof token?.idToken === 'string' && token.idToken.length > 0 && token.idToken.length <= 20 ? token.idToken : undefined);

/** A sampled value in base units: multiplier applied. */
const scaled = (sv: any) => Number(sv.value) * 10 ** (sv.unitOfMeasure?.multiplier ?? 0);

/** 2.0.1 meter values as 1.6's: values as strings (multiplier applied), measurands and units 1.6 knows; entries left empty are dropped. */
export function meterValuesTo16(meterValue: any[] | undefined): any[] {
  const result: any[] = [];
  for (const entry of meterValue ?? []) {
    const sampledValue: any[] = [];
    for (const sv of entry?.sampledValue ?? []) {
      const value = scaled(sv);
      if (!Number.isFinite(value)) continue;
      if (sv.measurand !== undefined && !MEASURANDS_16.has(sv.measurand)) continue;
      const unit: string | undefined = sv.unitOfMeasure?.unit;
      if (unit !== undefined && !UNITS_16.has(unit)) continue;
      sampledValue.push({
        value: String(value),
        ...optional('context', sv.context),
        ...optional('measurand', sv.measurand),
        ...optional('phase', sv.phase),
        ...optional('location', sv.location),
        ...optional('unit', unit),
      });
    }
    if (sampledValue.length > 0) result.push({ timestamp: entry.timestamp, sampledValue });
  }
  return result;
}

/** The last Energy.Active.Import.Register in the meter values, Wh (rounded: 1.6 meterStart/meterStop are integers). */
export function registerWh(meterValue: any[] | undefined): number | undefined {
  let wh: number | undefined;
  for (const entry of meterValue ?? []) {
    for (const sv of entry?.sampledValue ?? []) {
      if ((sv.measurand ?? 'Energy.Active.Import.Register') !== 'Energy.Active.Import.Register' || sv.phase !== undefined) continue;
      const value = scaled(sv) * (sv.unitOfMeasure?.unit === 'kWh' ? 1000 : 1);
      if (Number.isFinite(value)) wh = Math.round(value);
    }
  }
  return wh;
}

/** Meter values without the registers a 1.6 start or stop carries in meterStart/meterStop. */
const withoutBoundaries = (meterValue: any[] | undefined) =>
  (meterValue ?? []).map((e: any) => ({ ...e, sampledValue: (e.sampledValue ?? []).filter((sv: any) => sv.context !== 'Transaction.Begin' && sv.context !== 'Transaction.End') }));

/**
 * A station's TransactionEvent as the 1.6 calls the CSMS gets, in order: a StartTransaction once an
 * event names the idToken (and the CSMS has no id yet), MeterValues under the CSMS's id, a
 * StopTransaction at the end. [] when nothing of it can go up (not authorized yet, no meter values).
 */
export function transactionEventTo16(req: any, tx: StationTx): Step[] {
  const steps: Step[] = [];
  const evseId: number = req.evse?.id ?? tx.evseId ?? 1;
  const idTag = idTagOf(req.idToken) ?? tx.idTag;
  const register = registerWh(req.meterValue);
  let started = tx.csmsTxId !== undefined;
  if (!started && idTag !== undefined) {
    steps.push({
      action: 'StartTransaction',
      params: { connectorId: evseId, idTag, meterStart: register ?? tx.lastRegisterWh ?? 0, timestamp: req.timestamp, ...optional('reservationId', req.reservationId) },
    });
    started = true;
  }
  if (req.eventType === 'Ended') {
    if (!started) {
      // Never named a driver. Nothing charged: no 1.6 transaction (a 1.6 charger starts none without
      // an idTag). Energy delivered: the CSMS gets it as a transaction of its own, from the first event.
      const startWh = tx.firstRegisterWh;
      const endWh = register ?? tx.lastRegisterWh;
      if (startWh === undefined || endWh === undefined || endWh <= startWh) return steps;
      steps.push({ action: 'StartTransaction', params: { connectorId: evseId, idTag: NO_AUTHORIZATION_ID_TAG, meterStart: startWh, timestamp: tx.startedAt ?? req.timestamp } });
    }
    const transactionData = meterValuesTo16(withoutBoundaries(req.meterValue));
    steps.push({
      action: 'StopTransaction',
      params: {
        transactionId: tx.csmsTxId ?? 0,
        meterStop: register ?? tx.lastRegisterWh ?? 0,
        timestamp: req.timestamp,
        reason: STOP_REASON_16[req.transactionInfo?.stoppedReason ?? 'Local'] ?? 'Other',
        ...optional('idTag', idTagOf(req.idToken)),
        ...(transactionData.length > 0 ? { transactionData } : {}),
      },
      needsCsmsTxId: true,
    });
    return steps;
  }
  const meterValue = meterValuesTo16(req.eventType === 'Started' ? withoutBoundaries(req.meterValue) : req.meterValue);
  if (meterValue.length === 0) return steps;
  // Before the driver is known the values are the connector's, not a transaction's.
  if (!started) steps.push({ action: 'MeterValues', params: { connectorId: evseId, meterValue } });
  else steps.push({ action: 'MeterValues', params: { connectorId: evseId, transactionId: tx.csmsTxId ?? 0, meterValue }, needsCsmsTxId: true });
  return steps;
}

/** What a delivered event tells about its transaction for the next one (mutates `tx`). */
export function noteEvent(tx: StationTx, req: any): void {
  const idTag = idTagOf(req.idToken);
  if (idTag !== undefined) tx.idTag = idTag;
  if (req.evse?.id !== undefined) tx.evseId = req.evse.id;
  const wh = registerWh(req.meterValue);
  if (wh !== undefined) {
    tx.firstRegisterWh ??= wh;
    tx.lastRegisterWh = wh;
  }
  tx.startedAt ??= req.timestamp;
}

/**
 * A station's call (not a TransactionEvent) as the 1.6 CSMS gets it; undefined when it is not
 * translated. `occupiedAs`: the 1.6 status an Occupied connector shows (Charging in a transaction,
 * else Preparing).
 */
export function stationCallTo16(action: string, req: any, context: { occupiedAs: string }): Translated | undefined {
  switch (action) {
    case 'BootNotification': {
      const cs = req.chargingStation ?? {};
      return {
        action,
        params: {
          chargePointVendor: String(cs.vendorName).slice(0, 20),
          chargePointModel: cs.model,
          ...optional('chargePointSerialNumber', typeof cs.serialNumber === 'string' && cs.serialNumber.length <= 25 ? cs.serialNumber : undefined),
          ...optional('firmwareVersion', cs.firmwareVersion),
          ...optional('iccid', cs.modem?.iccid),
          ...optional('imsi', cs.modem?.imsi),
        },
      };
    }
    case 'Heartbeat':
      return { action, params: {} };
    case 'StatusNotification': {
      const status = req.connectorStatus === 'Occupied' ? context.occupiedAs : req.connectorStatus;
      // A station with several connectors on one EVSE: 1.6 knows the EVSE as the connector.
      return { action, params: { connectorId: req.evseId, errorCode: status === 'Faulted' ? 'OtherError' : 'NoError', status, timestamp: req.timestamp } };
    }
    case 'Authorize': {
      const idTag = idTagOf(req.idToken);
      return idTag === undefined ? undefined : { action, params: { idTag } };
    }
    case 'MeterValues': {
      const meterValue = meterValuesTo16(req.meterValue);
      return meterValue.length === 0 ? undefined : { action, params: { connectorId: req.evseId, meterValue } };
    }
    case 'DataTransfer':
      return { action, params: { vendorId: req.vendorId, ...optional('messageId', req.messageId), ...(req.data !== undefined ? { data: typeof req.data === 'string' ? req.data : JSON.stringify(req.data) } : {}) } };
    case 'FirmwareStatusNotification':
      return { action, params: { status: FIRMWARE_STATUS_16[req.status] ?? 'Idle' } };
    case 'LogStatusNotification':
      return { action: 'DiagnosticsStatusNotification', params: { status: LOG_STATUS_16[req.status] ?? 'UploadFailed' } };
    default:
      return undefined;
  }
}

/** The 1.6 CSMS's answer to a translated call, as the 2.0.1 station expects it (`action`: the station's). */
export function csmsAnswerTo201(action: string, conf: any): any {
  switch (action) {
    case 'BootNotification':
      return { status: conf.status, currentTime: conf.currentTime, interval: conf.interval };
    case 'Heartbeat':
      return { currentTime: conf.currentTime };
    case 'Authorize':
      return { idTokenInfo: idTokenInfo(conf.idTagInfo) };
    case 'DataTransfer':
      return { status: conf.status, ...optional('data', conf.data) };
    default:
      return {};
  }
}

export const idTokenInfo = (info: any) => ({ status: info?.status ?? 'Invalid', ...optional('cacheExpiryDateTime', info?.expiryDate) });

/** A 1.6 idTag as a 2.0.1 idToken (1.6 does not say how a tag was read: an RFID card is the usual). */
const idTokenOf = (idTag: string) => ({ idToken: idTag, type: 'ISO14443' });
/** A 1.6 parentIdTag as a 2.0.1 groupIdToken. */
const groupIdTokenOf = (parentIdTag: string | undefined) => (parentIdTag === undefined ? {} : { groupIdToken: { idToken: parentIdTag, type: 'Central' } });

/** A 1.6 local-list entry as 2.0.1 AuthorizationData (no idTagInfo: a differential update removes the tag, in both versions). */
const authorizationData = (entry: any) => ({
  idToken: idTokenOf(entry.idTag),
  ...(entry.idTagInfo
    ? { idTokenInfo: { status: entry.idTagInfo.status, ...optional('cacheExpiryDateTime', entry.idTagInfo.expiryDate), ...groupIdTokenOf(entry.idTagInfo.parentIdTag) } }
    : {}),
});

/** A 1.6 CSMS call as the 2.0.1 station gets it (or answered here); undefined when it is not translated. */
export function csmsCallTo201(action: string, params: any, context: { stationTxId?: string | undefined; requestId: number }): Translated | AnsweredHere | undefined {
  switch (action) {
    case 'GetConfiguration': {
      const request = getConfigurationTo201(params);
      return request ? { action: 'GetVariables', params: request } : { answer: getConfigurationTo16(undefined, params) };
    }
    case 'ChangeConfiguration': {
      const request = changeConfigurationTo201(params);
      return request ? { action: 'SetVariables', params: request } : { answer: { status: 'NotSupported' } };
    }
    case 'SendLocalList': {
      const list: any[] = params.localAuthorizationList ?? [];
      // 2.0.1 wants at least one entry when the list is given: an empty full update sends none.
      return { action, params: { versionNumber: params.listVersion, updateType: params.updateType, ...(list.length > 0 ? { localAuthorizationList: list.map(authorizationData) } : {}) } };
    }
    case 'GetLocalListVersion':
      return { action, params: {} };
    case 'ReserveNow':
      return {
        action,
        params: {
          id: params.reservationId,
          expiryDateTime: params.expiryDate,
          idToken: idTokenOf(params.idTag),
          ...(params.connectorId > 0 ? { evseId: params.connectorId } : {}),
          ...groupIdTokenOf(params.parentIdTag),
        },
      };
    case 'CancelReservation':
      return { action, params: { reservationId: params.reservationId } };
    case 'RemoteStartTransaction':
      return {
        action: 'RequestStartTransaction',
        params: { idToken: idTokenOf(params.idTag), remoteStartId: context.requestId, ...(params.connectorId > 0 ? { evseId: params.connectorId } : {}) },
      };
    case 'RemoteStopTransaction':
      return context.stationTxId === undefined ? undefined : { action: 'RequestStopTransaction', params: { transactionId: context.stationTxId } };
    case 'Reset':
      return { action, params: { type: params.type === 'Soft' ? 'OnIdle' : 'Immediate' } };
    case 'UnlockConnector':
      return { action, params: { evseId: params.connectorId, connectorId: 1 } };
    case 'ChangeAvailability':
      return { action, params: { operationalStatus: params.type, ...(params.connectorId > 0 ? { evse: { id: params.connectorId } } : {}) } };
    case 'ClearCache':
      return { action, params: {} };
    case 'DataTransfer':
      return { action, params: { vendorId: params.vendorId, ...optional('messageId', params.messageId), ...optional('data', params.data) } };
    case 'GetCompositeSchedule':
      return { action, params: { evseId: params.connectorId, duration: params.duration, ...optional('chargingRateUnit', params.chargingRateUnit) } };
    case 'TriggerMessage': {
      const requested: Record<string, string> = {
        BootNotification: 'BootNotification',
        Heartbeat: 'Heartbeat',
        MeterValues: 'MeterValues',
        StatusNotification: 'StatusNotification',
        FirmwareStatusNotification: 'FirmwareStatusNotification',
        DiagnosticsStatusNotification: 'LogStatusNotification',
      };
      const message = requested[params.requestedMessage];
      if (!message) return undefined;
      return { action, params: { requestedMessage: message, ...(params.connectorId > 0 ? { evse: { id: params.connectorId, ...(message === 'StatusNotification' ? { connectorId: 1 } : {}) } } : {}) } };
    }
    case 'UpdateFirmware':
      return {
        action,
        params: {
          requestId: context.requestId,
          ...optional('retries', params.retries),
          ...optional('retryInterval', params.retryInterval),
          firmware: { location: params.location, retrieveDateTime: params.retrieveDate },
        },
      };
    case 'GetDiagnostics':
      return {
        action: 'GetLog',
        params: {
          logType: 'DiagnosticsLog',
          requestId: context.requestId,
          ...optional('retries', params.retries),
          ...optional('retryInterval', params.retryInterval),
          log: { remoteLocation: params.location, ...optional('oldestTimestamp', params.startTime), ...optional('latestTimestamp', params.stopTime) },
        },
      };
    default:
      return undefined;
  }
}

/** The 2.0.1 station's answer, as the 1.6 CSMS expects it (`action`: the CSMS's). */
export function stationAnswerTo16(action: string, conf: any, params: any): any {
  switch (action) {
    case 'GetConfiguration':
      return getConfigurationTo16(conf, params);
    case 'ChangeConfiguration':
      return changeConfigurationTo16(conf);
    case 'GetLocalListVersion':
      return { listVersion: conf.versionNumber };
    case 'GetCompositeSchedule': {
      const schedule = conf.schedule;
      if (conf.status !== 'Accepted' || !schedule) return { status: 'Rejected' };
      return {
        status: 'Accepted',
        connectorId: schedule.evseId ?? params.connectorId,
        scheduleStart: schedule.scheduleStart,
        chargingSchedule: {
          duration: schedule.duration,
          startSchedule: schedule.scheduleStart,
          chargingRateUnit: schedule.chargingRateUnit,
          chargingSchedulePeriod: schedule.chargingSchedulePeriod.map((p: any) => ({ startPeriod: p.startPeriod, limit: p.limit, ...optional('numberPhases', p.numberPhases) })),
        },
      };
    }
    case 'UnlockConnector': {
      const status: Record<string, string> = { Unlocked: 'Unlocked', UnlockFailed: 'UnlockFailed', OngoingAuthorizedTransaction: 'UnlockFailed', UnknownConnector: 'NotSupported' };
      return { status: status[conf.status] ?? 'UnlockFailed' };
    }
    case 'Reset':
      return { status: conf.status === 'Rejected' ? 'Rejected' : 'Accepted' };
    case 'DataTransfer':
      return { status: conf.status, ...(conf.data !== undefined ? { data: typeof conf.data === 'string' ? conf.data : JSON.stringify(conf.data) } : {}) };
    case 'UpdateFirmware':
      return {};
    case 'GetDiagnostics':
      return conf.status === 'Accepted' && typeof conf.filename === 'string' ? { fileName: conf.filename } : {};
    case 'TriggerMessage':
      return { status: conf.status };
    default:
      // RemoteStart/Stop, ChangeAvailability, ClearCache, SendLocalList, ReserveNow, CancelReservation: a status both versions name alike.
      return { status: conf.status };
  }
}
