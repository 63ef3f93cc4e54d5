// OCPP 1.6 configuration keys ↔ OCPP 2.0.1 device-model variables, for a 2.0.1 station behind a
// 1.6 CSMS (translate-201-16.ts): the CSMS's GetConfiguration becomes GetVariables and its
// ChangeConfiguration SetVariables, for the keys that have a 2.0.1 variable of the same meaning
// (OCPP 2.0.1 Part 2, Appendix 3 names them). A key without one is an unknown key to the CSMS, as
// on a 1.6 charger that lacks it. Pure.

interface Variable {
  component: string;
  variable: string;
  /** The variable's instance (2.0.1 MessageAttempts is per message type). */
  instance?: string;
  /** 1.6 reports it read-only (2.0.1 says so only in a full report, which GetVariables does not give). */
  readonly?: true;
  /** 2.0.1 value → 1.6 value, per comma-separated item (and back for ChangeConfiguration). */
  values?: Record<string, string>;
}

/** 1.6 key → the 2.0.1 variable with its meaning. */
export const CONFIGURATION_VARIABLES: Readonly<Record<string, Variable>> = {
  HeartbeatInterval: { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval' },
  WebSocketPingInterval: { component: 'OCPPCommCtrlr', variable: 'WebSocketPingInterval' },
  ResetRetries: { component: 'OCPPCommCtrlr', variable: 'ResetRetries' },
  TransactionMessageAttempts: { component: 'OCPPCommCtrlr', variable: 'MessageAttempts', instance: 'TransactionEvent' },
  TransactionMessageRetryInterval: { component: 'OCPPCommCtrlr', variable: 'MessageAttemptInterval', instance: 'TransactionEvent' },
  UnlockConnectorOnEVSideDisconnect: { component: 'OCPPCommCtrlr', variable: 'UnlockOnEVSideDisconnect' },
  ConnectionTimeOut: { component: 'TxCtrlr', variable: 'EVConnectionTimeOut' },
  StopTransactionOnEVSideDisconnect: { component: 'TxCtrlr', variable: 'StopTxOnEVSideDisconnect' },
  StopTransactionOnInvalidId: { component: 'TxCtrlr', variable: 'StopTxOnInvalidId' },
  MaxEnergyOnInvalidId: { component: 'TxCtrlr', variable: 'MaxEnergyOnInvalidId' },
  MeterValueSampleInterval: { component: 'SampledDataCtrlr', variable: 'TxUpdatedInterval' },
  MeterValuesSampledData: { component: 'SampledDataCtrlr', variable: 'TxUpdatedMeasurands' },
  StopTxnSampledData: { component: 'SampledDataCtrlr', variable: 'TxEndedMeasurands' },
  ClockAlignedDataInterval: { component: 'AlignedDataCtrlr', variable: 'Interval' },
  MeterValuesAlignedData: { component: 'AlignedDataCtrlr', variable: 'Measurands' },
  StopTxnAlignedData: { component: 'AlignedDataCtrlr', variable: 'TxEndedMeasurands' },
  LocalAuthorizeOffline: { component: 'AuthCtrlr', variable: 'LocalAuthorizeOffline' },
  LocalPreAuthorize: { component: 'AuthCtrlr', variable: 'LocalPreAuthorize' },
  AuthorizeRemoteTxRequests: { component: 'AuthCtrlr', variable: 'AuthorizeRemoteStart' },
  AllowOfflineTxForUnknownId: { component: 'AuthCtrlr', variable: 'OfflineTxForUnknownIdEnabled' },
  AuthorizationCacheEnabled: { component: 'AuthCacheCtrlr', variable: 'Enabled' },
  LocalAuthListEnabled: { component: 'LocalAuthListCtrlr', variable: 'Enabled' },
  SendLocalListMaxLength: { component: 'LocalAuthListCtrlr', variable: 'ItemsPerMessage', readonly: true },
  GetConfigurationMaxKeys: { component: 'DeviceDataCtrlr', variable: 'ItemsPerMessage', instance: 'GetVariables', readonly: true },
  ChargeProfileMaxStackLevel: { component: 'SmartChargingCtrlr', variable: 'ProfileStackLevel', readonly: true },
  ChargingScheduleMaxPeriods: { component: 'SmartChargingCtrlr', variable: 'PeriodsPerSchedule', readonly: true },
  ChargingScheduleAllowedChargingRateUnit: { component: 'SmartChargingCtrlr', variable: 'RateUnit', readonly: true, values: { A: 'Current', W: 'Power' } },
};

/** 1.6 limits: a key's value is at most 500 characters. */
const MAX_VALUE_16 = 500;

const variableData = (v: Variable) => ({ component: { name: v.component }, variable: { name: v.variable, ...(v.instance ? { instance: v.instance } : {}) } });

const mapItems = (value: string, table: Record<string, string> | undefined) =>
  table
    ? value
        .split(',')
        .map((item) => table[item.trim()] ?? item.trim())
        .join(',')
    : value;

const invert = (table: Record<string, string> | undefined) => (table ? Object.fromEntries(Object.entries(table).map(([k, v]) => [v, k])) : undefined);

/** The keys a GetConfiguration asks for that have a variable (all of them when it names none), and those that have not. */
export function configurationKeys(params: { key?: string[] }): { mapped: string[]; unknown: string[] } {
  const asked = params.key && params.key.length > 0 ? params.key : Object.keys(CONFIGURATION_VARIABLES);
  return { mapped: asked.filter((key) => key in CONFIGURATION_VARIABLES), unknown: asked.filter((key) => !(key in CONFIGURATION_VARIABLES)) };
}

/** GetConfiguration → GetVariables for the keys that map; undefined when none does (the answer needs no station). */
export function getConfigurationTo201(params: { key?: string[] }): { getVariableData: unknown[] } | undefined {
  const { mapped } = configurationKeys(params);
  return mapped.length === 0 ? undefined : { getVariableData: mapped.map((key) => variableData(CONFIGURATION_VARIABLES[key]!)) };
}

/** The station's GetVariables answer as the 1.6 GetConfiguration answer to `params`. */
export function getConfigurationTo16(conf: any, params: { key?: string[] }): { configurationKey: unknown[]; unknownKey?: string[] } {
  const { mapped, unknown } = configurationKeys(params);
  const results: any[] = Array.isArray(conf?.getVariableResult) ? conf.getVariableResult : [];
  const configurationKey: unknown[] = [];
  const unknownKey = [...unknown];
  for (const key of mapped) {
    const v = CONFIGURATION_VARIABLES[key]!;
    const result = results.find((r) => r?.component?.name === v.component && r?.variable?.name === v.variable && (r?.variable?.instance ?? undefined) === v.instance);
    if (result?.attributeStatus !== 'Accepted') {
      unknownKey.push(key);
      continue;
    }
    const value = typeof result.attributeValue === 'string' ? mapItems(result.attributeValue, v.values) : undefined;
    configurationKey.push({ key, readonly: v.readonly === true, ...(value !== undefined && value.length <= MAX_VALUE_16 ? { value } : {}) });
  }
  // Asked for everything: a key the station lacks is left out, as a 1.6 charger leaves out keys it does not have.
  const named = params.key !== undefined && params.key.length > 0;
  return { configurationKey, ...(named && unknownKey.length > 0 ? { unknownKey } : {}) };
}

/** ChangeConfiguration → SetVariables; undefined for a key without a variable (NotSupported, as a 1.6 charger answers). */
export function changeConfigurationTo201(params: { key: string; value: string }): { setVariableData: unknown[] } | undefined {
  const v = CONFIGURATION_VARIABLES[params.key];
  if (!v) return undefined;
  return { setVariableData: [{ attributeValue: mapItems(params.value, invert(v.values)), ...variableData(v) }] };
}

/** The station's SetVariables answer as a 1.6 ChangeConfiguration status. */
export function changeConfigurationTo16(conf: any): { status: string } {
  const status: string | undefined = conf?.setVariableResult?.[0]?.attributeStatus;
  if (status === 'Accepted' || status === 'Rejected' || status === 'RebootRequired') return { status };
  // UnknownComponent, UnknownVariable, NotSupportedAttributeType.
  return { status: 'NotSupported' };
}
