// OCPP 1.6J payloads the central system sends or answers, typed by hand from the 1.6 JSON schemas
// (ocpp-rpc validates every message against those schemas in strict mode; these types keep our
// own code honest about field names).

export type ChargingProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';
export type ChargingRateUnit = 'A' | 'W';
export type IdTagStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

export interface IdTagInfo {
  status: IdTagStatus;
  expiryDate?: string;
  parentIdTag?: string;
}

export interface ChargingSchedulePeriod {
  startPeriod: number;
  limit: number;
  numberPhases?: number;
}

export interface ChargingSchedule {
  duration?: number;
  startSchedule?: string;
  chargingRateUnit: ChargingRateUnit;
  chargingSchedulePeriod: ChargingSchedulePeriod[];
  minChargingRate?: number;
}

export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: ChargingProfilePurpose;
  chargingProfileKind: 'Absolute' | 'Recurring' | 'Relative';
  recurrencyKind?: 'Daily' | 'Weekly';
  validFrom?: string;
  validTo?: string;
  chargingSchedule: ChargingSchedule;
}

export interface SetChargingProfileReq {
  connectorId: number;
  csChargingProfiles: ChargingProfile;
}

export interface SampledValue {
  value: string;
  context?: string;
  format?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unit?: string;
}

export interface MeterValue {
  timestamp: string;
  sampledValue: SampledValue[];
}

/** Calls a charge point makes to us, with request and confirmation payloads. */
export interface ChargePointCalls {
  BootNotification: {
    req: { chargePointVendor: string; chargePointModel: string; chargePointSerialNumber?: string; chargeBoxSerialNumber?: string; firmwareVersion?: string; iccid?: string; imsi?: string; meterType?: string; meterSerialNumber?: string };
    conf: { status: 'Accepted' | 'Pending' | 'Rejected'; currentTime: string; interval: number };
  };
  Heartbeat: { req: Record<string, never>; conf: { currentTime: string } };
  StatusNotification: {
    req: { connectorId: number; errorCode: string; status: string; timestamp?: string; info?: string; vendorId?: string; vendorErrorCode?: string };
    conf: Record<string, never>;
  };
  Authorize: { req: { idTag: string }; conf: { idTagInfo: IdTagInfo } };
  StartTransaction: {
    req: { connectorId: number; idTag: string; meterStart: number; timestamp: string; reservationId?: number };
    conf: { transactionId: number; idTagInfo: IdTagInfo };
  };
  StopTransaction: {
    req: { transactionId: number; meterStop: number; timestamp: string; idTag?: string; reason?: string; transactionData?: MeterValue[] };
    conf: { idTagInfo?: IdTagInfo };
  };
  MeterValues: { req: { connectorId: number; transactionId?: number; meterValue: MeterValue[] }; conf: Record<string, never> };
  DataTransfer: {
    req: { vendorId: string; messageId?: string; data?: string };
    conf: { status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId'; data?: string };
  };
  DiagnosticsStatusNotification: { req: { status: string }; conf: Record<string, never> };
  FirmwareStatusNotification: { req: { status: string }; conf: Record<string, never> };
}

/** Calls we make to a charge point. */
export interface CentralSystemCalls {
  GetConfiguration: {
    req: { key?: string[] };
    conf: { configurationKey?: { key: string; readonly: boolean; value?: string }[]; unknownKey?: string[] };
  };
  ChangeConfiguration: {
    req: { key: string; value: string };
    conf: { status: 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported' };
  };
  SetChargingProfile: { req: SetChargingProfileReq; conf: { status: 'Accepted' | 'Rejected' | 'NotSupported' } };
  TriggerMessage: {
    req: { requestedMessage: 'BootNotification' | 'DiagnosticsStatusNotification' | 'FirmwareStatusNotification' | 'Heartbeat' | 'MeterValues' | 'StatusNotification'; connectorId?: number };
    conf: { status: 'Accepted' | 'Rejected' | 'NotImplemented' };
  };
  ClearChargingProfile: {
    req: { id?: number; connectorId?: number; chargingProfilePurpose?: ChargingProfilePurpose; stackLevel?: number };
    conf: { status: 'Accepted' | 'Unknown' };
  };
  GetCompositeSchedule: {
    req: { connectorId: number; duration: number; chargingRateUnit?: 'A' | 'W' };
    conf: {
      status: 'Accepted' | 'Rejected';
      connectorId?: number;
      scheduleStart?: string;
      chargingSchedule?: { duration?: number; startSchedule?: string; chargingRateUnit: 'A' | 'W'; chargingSchedulePeriod: { startPeriod: number; limit: number; numberPhases?: number }[]; minChargingRate?: number };
    };
  };
}

export type ChargePointAction = keyof ChargePointCalls;
export type CentralSystemAction = keyof CentralSystemCalls;
