// OCPP 1.6J charger ↔ OCPP 2.0.1 CSMS: pure translation of the frames the local controller relays
// (docs/local-controller.md, "Protocol translation"). The EMS is the transaction authority for such
// a charger: the charger gets the EMS's integer transaction id, the CSMS sees it as the station's
// transactionId (its decimal string). Every function is pure; what is not translated returns
// undefined and the caller answers it itself (charger frames) or refuses it (CSMS calls).

/** A call in the other protocol. */
export interface Translated {
  action: string;
  params: any;
}

/** Charger (1.6) actions the CSMS (2.0.1) gets, translated. */
export const TRANSLATED_FROM_CHARGER = new Set([
  'BootNotification',
  'Heartbeat',
  'StatusNotification',
  'Authorize',
  'StartTransaction',
  'StopTransaction',
  'MeterValues',
  'DataTransfer',
  'FirmwareStatusNotification',
  'DiagnosticsStatusNotification',
]);

/** CSMS (2.0.1) calls the charger (1.6) gets, translated (charging profiles are kept and folded, not translated here). */
export const TRANSLATED_FROM_CSMS = new Set([
  'RequestStartTransaction',
  'RequestStopTransaction',
  'Reset',
  'GetCompositeSchedule',
  'UnlockConnector',
  'TriggerMessage',
  'DataTransfer',
  'ClearCache',
  'ChangeAvailability',
  'UpdateFirmware',
  'GetLog',
]);

const MEASURANDS_201 = new Set([
  'Current.Export',
  'Current.Import',
  'Current.Offered',
  'Energy.Active.Export.Register',
  'Energy.Active.Import.Register',
  'Energy.Reactive.Export.Register',
  'Energy.Reactive.Import.Register',
  'Energy.Active.Export.Interval',
  'Energy.Active.Import.Interval',
  'Energy.Reactive.Export.Interval',
  'Energy.Reactive.Import.Interval',
  'Frequency',
  'Power.Active.Export',
  'Power.Active.Import',
  'Power.Factor',
  'Power.Offered',
  'Power.Reactive.Export',
  'Power.Reactive.Import',
  'SoC',
  'Voltage',
]);

const AUTHORIZATION_16 = new Set(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']);

const CONNECTOR_STATUS: Record<string, string> = {
  Available: 'Available',
  Preparing: 'Occupied',
  Charging: 'Occupied',
  SuspendedEV: 'Occupied',
  SuspendedEVSE: 'Occupied',
  Finishing: 'Occupied',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
};

const STOP_REASON: Record<string, string> = {
  EmergencyStop: 'EmergencyStop',
  EVDisconnected: 'EVDisconnected',
  HardReset: 'ImmediateReset',
  SoftReset: 'ImmediateReset',
  Local: 'Local',
  Other: 'Other',
  PowerLoss: 'PowerLoss',
  Reboot: 'Reboot',
  Remote: 'Remote',
  UnlockCommand: 'Other',
  DeAuthorized: 'DeAuthorized',
};

const STOP_TRIGGER: Record<string, string> = {
  Remote: 'RemoteStop',
  EVDisconnected: 'EVCommunicationLost',
  DeAuthorized: 'Deauthorized',
  HardReset: 'ResetCommand',
  SoftReset: 'ResetCommand',
  UnlockCommand: 'UnlockCommand',
  EmergencyStop: 'AbnormalCondition',
  PowerLoss: 'AbnormalCondition',
};

const idToken = (idTag: string) => ({ idToken: idTag, type: 'ISO14443' });
/** `{ key: value }` when the value is given, `{}` when not (optional fields of a translated frame). */
export const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });

/** 1.6 meter values as 2.0.1's: numeric values only, measurands 2.0.1 knows; entries left empty are dropped. */
export function meterValuesTo201(meterValue: any[] | undefined): any[] {
  const result: any[] = [];
  for (const entry of meterValue ?? []) {
    const sampledValue: any[] = [];
    for (const sv of entry?.sampledValue ?? []) {
      const value = Number(sv.value);
      if (sv.format === 'SignedData' || !Number.isFinite(value)) continue;
      if (sv.measurand !== undefined && !MEASURANDS_201.has(sv.measurand)) continue;
      sampledValue.push({
        value,
        ...optional('context', sv.context),
        ...optional('measurand', sv.measurand),
        ...optional('phase', sv.phase),
        ...optional('location', sv.location),
        ...(sv.unit !== undefined ? { unitOfMeasure: { unit: sv.unit } } : {}),
      });
    }
    if (sampledValue.length > 0) result.push({ timestamp: entry.timestamp, sampledValue });
  }
  return result;
}

const register = (timestamp: string, wh: number, context: string) => ({
  timestamp,
  sampledValue: [{ value: wh, context, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }],
});

/**
 * A 1.6 charger's call as the 2.0.1 CSMS gets it; undefined when it is not translated (or carries
 * nothing 2.0.1 can say). `seqNo`: the TransactionEvent's sequence number (increasing, may skip);
 * `chargerTxId`: the id the charger was given for a StartTransaction.
 */
export function chargerCallTo201(
  action: string,
  req: any,
  context: { seqNo: number; chargerTxId?: string | undefined; firmwareRequestId?: number | undefined; logRequestId?: number | undefined },
): Translated | undefined {
  switch (action) {
    // The requestId of the CSMS's last UpdateFirmware / GetLog, which 1.6 does not carry.
    case 'FirmwareStatusNotification':
      return { action, params: { status: req.status, ...optional('requestId', context.firmwareRequestId) } };
    case 'DiagnosticsStatusNotification':
      return { action: 'LogStatusNotification', params: { status: req.status === 'UploadFailed' ? 'UploadFailure' : req.status, ...optional('requestId', context.logRequestId) } };
    case 'BootNotification': {
      const modem = { ...optional('iccid', req.iccid), ...optional('imsi', req.imsi) };
      return {
        action,
        params: {
          reason: 'PowerUp',
          chargingStation: {
            model: req.chargePointModel,
            vendorName: req.chargePointVendor,
            ...optional('serialNumber', req.chargePointSerialNumber),
            ...optional('firmwareVersion', req.firmwareVersion),
            ...(Object.keys(modem).length ? { modem } : {}),
          },
        },
      };
    }
    case 'Heartbeat':
      return { action, params: {} };
    case 'StatusNotification': {
      const connectorStatus = CONNECTOR_STATUS[req.status];
      // Connector 0 is the charger as a whole: 2.0.1 has no status for it.
      if (!connectorStatus || !(req.connectorId > 0)) return undefined;
      return { action, params: { timestamp: req.timestamp ?? new Date(0).toISOString(), connectorStatus, evseId: req.connectorId, connectorId: 1 } };
    }
    case 'Authorize':
      return { action, params: { idToken: idToken(req.idTag) } };
    case 'DataTransfer':
      return { action, params: { vendorId: req.vendorId, ...optional('messageId', req.messageId), ...optional('data', req.data) } };
    case 'MeterValues': {
      const meterValue = meterValuesTo201(req.meterValue);
      if (meterValue.length === 0) return undefined;
      if (req.transactionId === undefined) return { action, params: { evseId: req.connectorId, meterValue } };
      return {
        action: 'TransactionEvent',
        params: {
          eventType: 'Updated',
          timestamp: meterValue[0].timestamp,
          triggerReason: 'MeterValuePeriodic',
          seqNo: context.seqNo,
          transactionInfo: { transactionId: String(req.transactionId) },
          ...(req.connectorId > 0 ? { evse: { id: req.connectorId, connectorId: 1 } } : {}),
          meterValue,
        },
      };
    }
    case 'StartTransaction':
      if (context.chargerTxId === undefined) return undefined;
      return {
        action: 'TransactionEvent',
        params: {
          eventType: 'Started',
          timestamp: req.timestamp,
          triggerReason: 'Authorized',
          seqNo: context.seqNo,
          transactionInfo: { transactionId: context.chargerTxId, chargingState: 'Charging' },
          idToken: idToken(req.idTag),
          evse: { id: req.connectorId, connectorId: 1 },
          meterValue: [register(req.timestamp, req.meterStart, 'Transaction.Begin')],
          ...optional('reservationId', req.reservationId),
        },
      };
    case 'StopTransaction': {
      const reason = req.reason ?? 'Local';
      return {
        action: 'TransactionEvent',
        params: {
          eventType: 'Ended',
          timestamp: req.timestamp,
          triggerReason: STOP_TRIGGER[reason] ?? 'StopAuthorized',
          seqNo: context.seqNo,
          transactionInfo: { transactionId: String(req.transactionId), stoppedReason: STOP_REASON[reason] ?? 'Other' },
          ...(req.idTag !== undefined ? { idToken: idToken(req.idTag) } : {}),
          meterValue: [...meterValuesTo201(req.transactionData), register(req.timestamp, req.meterStop, 'Transaction.End')],
        },
      };
    }
    default:
      return undefined;
  }
}

const idTagInfo = (info: any) =>
  info && {
    status: AUTHORIZATION_16.has(info.status) ? info.status : 'Invalid',
    ...optional('expiryDate', info.cacheExpiryDateTime),
  };

/** The 2.0.1 CSMS's answer to a translated call, as the 1.6 charger expects it (`action`: the charger's). */
export function csmsAnswerTo16(action: string, conf: any): any {
  switch (action) {
    case 'BootNotification':
      return { status: conf.status, currentTime: conf.currentTime, interval: conf.interval };
    case 'Heartbeat':
      return { currentTime: conf.currentTime };
    case 'Authorize':
      return { idTagInfo: idTagInfo(conf.idTokenInfo) ?? { status: 'Invalid' } };
    case 'DataTransfer':
      return { status: conf.status, ...(conf.data !== undefined ? { data: typeof conf.data === 'string' ? conf.data : JSON.stringify(conf.data) } : {}) };
    case 'StartTransaction':
    case 'StopTransaction':
      return conf?.idTokenInfo ? { idTagInfo: idTagInfo(conf.idTokenInfo) } : {};
    default:
      return {};
  }
}

/** A 2.0.1 CSMS call as the 1.6 charger gets it; undefined when it is not translated. */
export function csmsCallTo16(action: string, params: any): Translated | undefined {
  switch (action) {
    case 'RequestStartTransaction':
      return { action: 'RemoteStartTransaction', params: { idTag: params.idToken.idToken, ...optional('connectorId', params.evseId) } };
    case 'RequestStopTransaction': {
      const id = Number(params.transactionId);
      return Number.isSafeInteger(id) ? { action: 'RemoteStopTransaction', params: { transactionId: id } } : undefined;
    }
    case 'Reset':
      // A reset of one EVSE has no 1.6 counterpart.
      return params.evseId === undefined ? { action, params: { type: params.type === 'OnIdle' ? 'Soft' : 'Hard' } } : undefined;
    case 'GetCompositeSchedule':
      return { action, params: { connectorId: params.evseId, duration: params.duration, ...optional('chargingRateUnit', params.chargingRateUnit) } };
    case 'UnlockConnector':
      return { action, params: { connectorId: params.evseId } };
    case 'ChangeAvailability': {
      const connectorId = params.evse?.id ?? 0;
      return { action, params: { connectorId, type: params.operationalStatus === 'Inoperative' ? 'Inoperative' : 'Operative' } };
    }
    case 'ClearCache':
      return { action, params: {} };
    case 'DataTransfer':
      return { action, params: { vendorId: params.vendorId, ...optional('messageId', params.messageId), ...(params.data !== undefined ? { data: typeof params.data === 'string' ? params.data : JSON.stringify(params.data) } : {}) } };
    case 'UpdateFirmware':
      return {
        action,
        params: {
          location: params.firmware.location,
          retrieveDate: params.firmware.retrieveDateTime,
          ...optional('retries', params.retries),
          ...optional('retryInterval', params.retryInterval),
        },
      };
    case 'GetLog':
      // 1.6 has one kind of log: diagnostics.
      if (params.logType !== 'DiagnosticsLog') return undefined;
      return {
        action: 'GetDiagnostics',
        params: {
          location: params.log.remoteLocation,
          ...optional('retries', params.retries),
          ...optional('retryInterval', params.retryInterval),
          ...optional('startTime', params.log.oldestTimestamp),
          ...optional('stopTime', params.log.latestTimestamp),
        },
      };
    case 'TriggerMessage': {
      const requested: Record<string, string> = {
        BootNotification: 'BootNotification',
        Heartbeat: 'Heartbeat',
        MeterValues: 'MeterValues',
        StatusNotification: 'StatusNotification',
        FirmwareStatusNotification: 'FirmwareStatusNotification',
        LogStatusNotification: 'DiagnosticsStatusNotification',
      };
      const message = requested[params.requestedMessage];
      return message ? { action, params: { requestedMessage: message, ...optional('connectorId', params.evse?.id) } } : undefined;
    }
    default:
      return undefined;
  }
}

/** The 1.6 charger's answer, as the 2.0.1 CSMS expects it (`action`: the CSMS's). */
export function chargerAnswerTo201(action: string, conf: any, params: any): any {
  switch (action) {
    case 'GetCompositeSchedule': {
      const schedule = conf.chargingSchedule;
      if (conf.status !== 'Accepted' || !schedule) return { status: 'Rejected' };
      return {
        status: 'Accepted',
        schedule: {
          evseId: conf.connectorId ?? params.evseId,
          duration: schedule.duration ?? params.duration,
          scheduleStart: conf.scheduleStart ?? schedule.startSchedule ?? new Date(0).toISOString(),
          chargingRateUnit: schedule.chargingRateUnit,
          chargingSchedulePeriod: schedule.chargingSchedulePeriod,
        },
      };
    }
    case 'UnlockConnector': {
      const status: Record<string, string> = { Unlocked: 'Unlocked', UnlockFailed: 'UnlockFailed', NotSupported: 'UnknownConnector' };
      return { status: status[conf.status] ?? 'UnlockFailed' };
    }
    case 'DataTransfer':
      return { status: conf.status, ...optional('data', conf.data) };
    case 'TriggerMessage':
      return { status: conf.status === 'NotImplemented' ? 'NotImplemented' : conf.status };
    case 'UpdateFirmware':
      // 1.6 answers nothing: the charger took the request.
      return { status: 'Accepted' };
    case 'GetLog':
      return { status: 'Accepted', ...optional('filename', conf.fileName) };
    default:
      // RequestStart/Stop, Reset, ChangeAvailability, ClearCache: a status both versions name alike.
      return { status: conf.status };
  }
}
