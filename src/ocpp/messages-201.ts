// OCPP 2.0.1 payloads the central system answers or sends, typed by hand from the 2.0.1 JSON
// schemas (ocpp-rpc validates every message against them in strict mode). Only what we use.

export type IdTokenStatus201 = 'Accepted' | 'Blocked' | 'ConcurrentTx' | 'Expired' | 'Invalid' | 'NoCredit' | 'NotAllowedTypeEVSE' | 'NotAtThisLocation' | 'NotAtThisTime' | 'Unknown';

export interface IdToken201 {
  idToken: string;
  type: 'Central' | 'eMAID' | 'ISO14443' | 'ISO15693' | 'KeyCode' | 'Local' | 'MacAddress' | 'NoAuthorization';
}

export interface SampledValue201 {
  value: number;
  context?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unitOfMeasure?: { unit?: string; multiplier?: number };
}

export interface MeterValue201 {
  timestamp: string;
  sampledValue: SampledValue201[];
}

export interface ChargingProfile201 {
  id: number;
  stackLevel: number;
  chargingProfilePurpose: 'ChargingStationExternalConstraints' | 'ChargingStationMaxProfile' | 'TxDefaultProfile' | 'TxProfile';
  chargingProfileKind: 'Absolute' | 'Recurring' | 'Relative';
  transactionId?: string;
  chargingSchedule: {
    id: number;
    startSchedule?: string;
    duration?: number;
    chargingRateUnit: 'A' | 'W';
    chargingSchedulePeriod: { startPeriod: number; limit: number; numberPhases?: number }[];
  }[];
}

export interface SetChargingProfileReq201 {
  evseId: number;
  chargingProfile: ChargingProfile201;
}

interface ComponentVariable {
  component: { name: string; instance?: string; evse?: { id: number; connectorId?: number } };
  variable: { name: string; instance?: string };
}

/** Calls a 2.0.1 charging station makes to us. */
export interface StationCalls201 {
  BootNotification: {
    req: { reason: string; chargingStation: { model: string; vendorName: string; serialNumber?: string; firmwareVersion?: string } };
    conf: { currentTime: string; interval: number; status: 'Accepted' | 'Pending' | 'Rejected' };
  };
  Heartbeat: { req: Record<string, never>; conf: { currentTime: string } };
  StatusNotification: {
    req: { timestamp: string; connectorStatus: 'Available' | 'Occupied' | 'Reserved' | 'Unavailable' | 'Faulted'; evseId: number; connectorId: number };
    conf: Record<string, never>;
  };
  Authorize: { req: { idToken: IdToken201 }; conf: { idTokenInfo: { status: IdTokenStatus201 } } };
  TransactionEvent: {
    req: {
      eventType: 'Started' | 'Updated' | 'Ended';
      timestamp: string;
      triggerReason: string;
      seqNo: number;
      offline?: boolean;
      numberOfPhasesUsed?: number;
      cableMaxCurrent?: number;
      transactionInfo: { transactionId: string; chargingState?: 'Charging' | 'EVConnected' | 'SuspendedEV' | 'SuspendedEVSE' | 'Idle'; stoppedReason?: string };
      evse?: { id: number; connectorId?: number };
      idToken?: IdToken201;
      meterValue?: MeterValue201[];
    };
    conf: { idTokenInfo?: { status: IdTokenStatus201 } };
  };
  MeterValues: { req: { evseId: number; meterValue: MeterValue201[] }; conf: Record<string, never> };
  NotifyEVChargingNeeds: {
    req: {
      evseId: number;
      maxScheduleTuples?: number;
      chargingNeeds: {
        requestedEnergyTransfer: string;
        departureTime?: string;
        acChargingParameters?: { energyAmount: number; evMinCurrent: number; evMaxCurrent: number; evMaxVoltage: number };
        dcChargingParameters?: { evMaxCurrent: number; evMaxVoltage: number; energyAmount?: number; evMaxPower?: number; stateOfCharge?: number };
      };
    };
    conf: { status: 'Accepted' | 'Rejected' | 'Processing' };
  };
  NotifyEvent: { req: { generatedAt: string; seqNo: number; eventData: unknown[]; tbc?: boolean }; conf: Record<string, never> };
  NotifyReport: { req: { requestId: number; generatedAt: string; seqNo: number; tbc?: boolean; reportData?: unknown[] }; conf: Record<string, never> };
  SecurityEventNotification: { req: { type: string; timestamp: string; techInfo?: string }; conf: Record<string, never> };
  FirmwareStatusNotification: { req: { status: string; requestId?: number }; conf: Record<string, never> };
  LogStatusNotification: { req: { status: string; requestId?: number }; conf: Record<string, never> };
  DataTransfer: {
    req: { vendorId: string; messageId?: string; data?: unknown };
    conf: { status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId' };
  };
}

/** Calls we make to a 2.0.1 charging station. */
export interface CsmsCalls201 {
  GetVariables: {
    req: { getVariableData: ComponentVariable[] };
    conf: { getVariableResult: (ComponentVariable & { attributeStatus: string; attributeValue?: string })[] };
  };
  SetVariables: {
    req: { setVariableData: (ComponentVariable & { attributeValue: string })[] };
    conf: { setVariableResult: (ComponentVariable & { attributeStatus: string })[] };
  };
  SetChargingProfile: { req: SetChargingProfileReq201; conf: { status: 'Accepted' | 'Rejected' } };
  ClearChargingProfile: {
    req: { chargingProfileId?: number; chargingProfileCriteria?: { evseId?: number; chargingProfilePurpose?: ChargingProfile201['chargingProfilePurpose']; stackLevel?: number } };
    conf: { status: 'Accepted' | 'Unknown' };
  };
  TriggerMessage: { req: { requestedMessage: 'StatusNotification' | 'Heartbeat' | 'MeterValues' | 'BootNotification'; evse?: { id: number } }; conf: { status: 'Accepted' | 'Rejected' | 'NotImplemented' } };
  GetCompositeSchedule: {
    req: { duration: number; chargingRateUnit?: 'A' | 'W'; evseId: number };
    conf: { status: 'Accepted' | 'Rejected'; schedule?: CompositeSchedule };
  };
}

/** What a station says it will let an EVSE draw (K08), one period list from scheduleStart. */
export interface CompositeSchedule {
  evseId: number;
  duration: number;
  scheduleStart: string;
  chargingRateUnit: 'A' | 'W';
  chargingSchedulePeriod: { startPeriod: number; limit: number; numberPhases?: number; phaseToUse?: number }[];
}
