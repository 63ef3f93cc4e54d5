import type { CentralSystemCalls, ChargingRateUnit } from './messages.ts';

/** What a charger's smart charging can take, read from its configuration keys. */
export interface ChargerCapabilities {
  rateUnit: ChargingRateUnit;
  /** Highest stack level it accepts. */
  maxStackLevel: number;
  maxPeriods: number;
  maxProfiles?: number;
}

export const SMART_CHARGING_KEYS = [
  'ChargeProfileMaxStackLevel',
  'ChargingScheduleAllowedChargingRateUnit',
  'ChargingScheduleMaxPeriods',
  'MaxChargingProfilesInstalled',
] as const;

/** Used until the charger tells us better, and for every key it does not know. */
export const CONSERVATIVE_CAPABILITIES: ChargerCapabilities = { rateUnit: 'A', maxStackLevel: 0, maxPeriods: 1 };

function intValue(raw: string | undefined, min: number): number | undefined {
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= min ? n : undefined;
}

/**
 * Reads a GetConfiguration answer. `Current` maps to A and `Power` to W (the spec's values are not
 * the unit names); A wins when both are listed. Missing or garbled keys keep conservative values.
 */
export function parseCapabilities(conf: CentralSystemCalls['GetConfiguration']['conf']): { capabilities: ChargerCapabilities; missing: string[] } {
  const values = new Map((conf.configurationKey ?? []).map((entry) => [entry.key, entry.value]));
  const missing: string[] = [];
  const read = <T>(key: (typeof SMART_CHARGING_KEYS)[number], parse: (raw: string | undefined) => T | undefined): T | undefined => {
    const parsed = parse(values.get(key));
    if (parsed === undefined) missing.push(key);
    return parsed;
  };
  const units = (raw: string | undefined): ChargingRateUnit | undefined => {
    const listed = (raw ?? '').split(',').map((s) => s.trim().toLowerCase());
    if (listed.includes('current') || listed.includes('a')) return 'A';
    if (listed.includes('power') || listed.includes('w')) return 'W';
    return undefined;
  };
  const capabilities: ChargerCapabilities = {
    maxStackLevel: read('ChargeProfileMaxStackLevel', (raw) => intValue(raw, 0)) ?? CONSERVATIVE_CAPABILITIES.maxStackLevel,
    rateUnit: read('ChargingScheduleAllowedChargingRateUnit', units) ?? CONSERVATIVE_CAPABILITIES.rateUnit,
    maxPeriods: read('ChargingScheduleMaxPeriods', (raw) => intValue(raw, 1)) ?? CONSERVATIVE_CAPABILITIES.maxPeriods,
  };
  const maxProfiles = read('MaxChargingProfilesInstalled', (raw) => intValue(raw, 1));
  if (maxProfiles !== undefined) capabilities.maxProfiles = maxProfiles;
  return { capabilities, missing };
}

/** MeterValuesSampledData lists to try in order; a charger that rejects one gets the next. */
export const SAMPLED_DATA_FALLBACKS: readonly string[] = [
  'Current.Import,Power.Active.Import,Energy.Active.Import.Register,SoC',
  'Current.Import,Power.Active.Import,Energy.Active.Import.Register',
  'Current.Import,Energy.Active.Import.Register',
  'Current.Import',
];

/**
 * Whether a 1.6 charger lists SmartCharging in SupportedFeatureProfiles: false when the key is
 * there without it (the charger cannot be capped), undefined when the key is missing.
 */
export function smartChargingListed(conf: CentralSystemCalls['GetConfiguration']['conf']): boolean | undefined {
  const raw = (conf.configurationKey ?? []).find((entry) => entry.key === 'SupportedFeatureProfiles')?.value;
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .includes('smartcharging');
}
