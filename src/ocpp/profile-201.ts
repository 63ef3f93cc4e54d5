import type { ChargerCapabilities } from './capabilities.ts';
import type { SetChargingProfileReq201 } from './messages-201.ts';
import { FLOOR_STACK_LEVEL, PROFILE_ID, START_IN_PAST_MS, txStackLevel, wireLimit, type LimitSpec } from './profile.ts';

// Pure: the OCPP 2.0.1 shape of the same profiles profile.ts builds for 1.6. An EVSE stands for a
// connector (one connector per EVSE); evseId 0 is the whole station.

/** With a duration: Absolute from `nowMs` (the charger's clock) a few seconds back; without: Relative, no start (see profile.ts). */
function schedule(spec: LimitSpec, nowMs: number | undefined, durationS?: number): SetChargingProfileReq201['chargingProfile']['chargingSchedule'] {
  return [
    {
      id: 1,
      ...(nowMs === undefined ? {} : { startSchedule: new Date(nowMs - START_IN_PAST_MS).toISOString() }),
      ...(durationS === undefined ? {} : { duration: durationS }),
      chargingRateUnit: spec.unit,
      chargingSchedulePeriod: [{ startPeriod: 0, limit: wireLimit(spec), numberPhases: spec.phases }],
    },
  ];
}

/** The station-wide floor (evseId 0), or with `lifted` the refreshed lift above it (see profile.ts). */
export function stationMaxProfile201(spec: LimitSpec, nowMs: number, lifted?: { stackLevel: number; durationS: number }): SetChargingProfileReq201 {
  return {
    evseId: 0,
    chargingProfile: {
      id: lifted ? PROFILE_ID.chargePointMaxLifted : PROFILE_ID.chargePointMax,
      stackLevel: lifted ? lifted.stackLevel : FLOOR_STACK_LEVEL,
      chargingProfilePurpose: 'ChargingStationMaxProfile',
      chargingProfileKind: lifted ? 'Absolute' : 'Relative',
      chargingSchedule: schedule(spec, lifted ? nowMs : undefined, lifted?.durationS),
    },
  };
}

export function txDefaultProfile201(evseId: number, spec: LimitSpec): SetChargingProfileReq201 {
  return {
    evseId,
    chargingProfile: {
      id: PROFILE_ID.txDefault(evseId),
      stackLevel: FLOOR_STACK_LEVEL,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingProfileKind: 'Relative',
      chargingSchedule: schedule(spec, undefined),
    },
  };
}

/** `transactionId` is the station's own id (a string in 2.0.1). */
export function txProfile201(
  evseId: number,
  transactionId: string,
  spec: LimitSpec,
  nowMs: number,
  durationS: number,
  capabilities: ChargerCapabilities,
): SetChargingProfileReq201 {
  return {
    evseId,
    chargingProfile: {
      id: PROFILE_ID.tx(evseId),
      stackLevel: txStackLevel(capabilities),
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Absolute',
      transactionId,
      chargingSchedule: schedule(spec, nowMs, durationS),
    },
  };
}
