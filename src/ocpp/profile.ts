import type { ChargerCapabilities } from './capabilities.ts';
import type { ChargingProfile, ChargingSchedule, SetChargingProfileReq } from './messages.ts';
import { floorToTenth } from './rounding.ts';

// Pure: a cap becomes a SetChargingProfile.req. Profile ids are fixed per charger and connector so
// every new profile replaces the one before it instead of piling up on the charger.
export const PROFILE_ID = {
  chargePointMax: 1,
  chargePointMaxLifted: 2,
  txDefault: (connectorId: number) => 100 + connectorId,
  tx: (connectorId: number) => 200 + connectorId,
} as const;

/** Floors sit at stack level 0; TxProfiles one above when the charger allows it. */
export const FLOOR_STACK_LEVEL = 0;
export function txStackLevel(capabilities: ChargerCapabilities): number {
  return Math.min(1, capabilities.maxStackLevel);
}

export interface LimitSpec {
  /** A per phase. */
  capA: number;
  phases: 1 | 3;
  voltageV: number;
  unit: ChargerCapabilities['rateUnit'];
  /**
   * Only for W: whether the car behind it is known to draw on `phases` ('known'), or could be a
   * single-phase car ('any'). A W limit does not say how it spreads over the phases, so for an
   * unknown car it is the per-phase cap on one phase: safe whatever car arrives.
   */
  car?: 'known' | 'any';
}

/**
 * The wire limit: A floored to 0.1, or for Power-only chargers W = A x voltage x phases (x 1 phase
 * when the car is unknown), floored to 0.1.
 */
export function wireLimit(spec: LimitSpec): number {
  const capA = floorToTenth(spec.capA);
  if (spec.unit === 'A') return capA;
  const phases = spec.car === 'any' ? 1 : spec.phases;
  return floorToTenth(capA * spec.voltageV * phases);
}

/** A schedule with a start (Absolute, bounded) or without one (Relative, for ever). */
function schedule(spec: LimitSpec, startMs: number | undefined, durationS?: number): ChargingSchedule {
  const result: ChargingSchedule = {
    ...(startMs === undefined ? {} : { startSchedule: new Date(startMs).toISOString() }),
    chargingRateUnit: spec.unit,
    chargingSchedulePeriod: [{ startPeriod: 0, limit: wireLimit(spec), numberPhases: spec.phases }],
  };
  if (durationS !== undefined) result.duration = durationS;
  return result;
}

/** How far in the past a schedule starts, so a refresh leaves no gap and clock skew does no harm. */
export const START_IN_PAST_MS = 5_000;

/**
 * Profiles without a duration are Relative with one period and no start: valid from receipt for
 * ever, whatever either clock says (an Absolute start in the charger's future would leave it
 * unbounded until then). Profiles with a duration are Absolute from `nowMs` (the charger's clock
 * as the link knows it) a few seconds back.
 */
function profile(fields: Omit<ChargingProfile, 'chargingProfileKind'>): ChargingProfile {
  return { ...fields, chargingProfileKind: fields.chargingSchedule.startSchedule === undefined ? 'Relative' : 'Absolute' };
}

/**
 * A limit for the charger as a whole (connector 0). Without `lifted`: the failsafe floor, stack
 * level 0, no duration, it holds for ever. With `lifted`: the same purpose one stack level up with
 * a duration, normally the charger's full max: while the EMS keeps refreshing it, the per-connector
 * profiles bind; when the EMS stops, it lapses and the floor below rules again.
 */
export function chargePointMaxProfile(spec: LimitSpec, nowMs: number, lifted?: { stackLevel: number; durationS: number }): SetChargingProfileReq {
  return {
    connectorId: 0,
    csChargingProfiles: profile({
      chargingProfileId: lifted ? PROFILE_ID.chargePointMaxLifted : PROFILE_ID.chargePointMax,
      stackLevel: lifted ? lifted.stackLevel : FLOOR_STACK_LEVEL,
      chargingProfilePurpose: 'ChargePointMaxProfile',
      chargingSchedule: schedule(spec, lifted ? nowMs - START_IN_PAST_MS : undefined, lifted?.durationS),
    }),
  };
}

/** The default a car gets on this connector before the EMS reacts to it; no duration. */
export function txDefaultProfile(connectorId: number, spec: LimitSpec): SetChargingProfileReq {
  return {
    connectorId,
    csChargingProfiles: profile({
      chargingProfileId: PROFILE_ID.txDefault(connectorId),
      stackLevel: FLOOR_STACK_LEVEL,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingSchedule: schedule(spec, undefined),
    }),
  };
}

/** The dynamic cap of a running transaction; it lapses into the TxDefaultProfile after `durationS`. */
export function txProfile(
  connectorId: number,
  transactionId: number,
  spec: LimitSpec,
  nowMs: number,
  durationS: number,
  capabilities: ChargerCapabilities,
): SetChargingProfileReq {
  return {
    connectorId,
    csChargingProfiles: profile({
      chargingProfileId: PROFILE_ID.tx(connectorId),
      transactionId,
      stackLevel: txStackLevel(capabilities),
      chargingProfilePurpose: 'TxProfile',
      // Counted from the start a few seconds back: it lives durationS minus those seconds from now,
      // and is refreshed at half its duration.
      chargingSchedule: schedule(spec, nowMs - START_IN_PAST_MS, durationS),
    }),
  };
}
